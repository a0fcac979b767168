"""`/api/detections`: list, enable/disable and edit (admin, `*` scope), lint, backtest."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from vigil.console.deps import Admin, Analyst, ConsoleDep, Viewer, require_everywhere
from vigil.console.detections import service
from vigil.console.detections.schemas import (
    BacktestCreate,
    BacktestRead,
    DetectionRead,
    EnabledCreate,
    LintRead,
    YamlCreate,
)

router = APIRouter(prefix="/api/detections", tags=["detections"])


@router.get("")
async def list_detections(principal: Viewer, console: ConsoleDep) -> list[DetectionRead]:
    """The rules in force, with the console's overrides, by use case."""
    found = await run_in_threadpool(service.detections, console)
    return [DetectionRead.of(item) for item in found]


@router.post("/lint")
async def lint(body: YamlCreate, principal: Analyst, console: ConsoleDep) -> LintRead:
    """Every problem of rule YAML, with its line; nothing is saved."""
    problems = await run_in_threadpool(service.lint, body.yaml)
    detail: dict[str, object] = {"chars": len(body.yaml), "problems": len(problems)}
    console.database.audit(principal.name, "detection.lint", None, detail)
    return LintRead.of(problems)


@router.post("/{uid}/enabled")
def set_enabled(
    uid: str, body: EnabledCreate, principal: Admin, console: ConsoleDep
) -> DetectionRead:
    """Switch a rule on or off for every store (kept; the live engine reads it at start)."""
    require_everywhere(principal)
    return DetectionRead.of(service.set_enabled(console, principal, uid, body.enabled))


@router.put("/{uid}")
async def edit(uid: str, body: YamlCreate, principal: Admin, console: ConsoleDep) -> DetectionRead:
    """Replace a rule with an edited copy (it must lint cleanly and keep its id)."""
    require_everywhere(principal)
    return DetectionRead.of(
        await run_in_threadpool(service.edit, console, principal, uid, body.yaml)
    )


@router.post("/{uid}/backtest")
async def backtest(
    uid: str, body: BacktestCreate, principal: Analyst, console: ConsoleDep
) -> BacktestRead:
    """The alerts the rule would have raised over the lake's history, in your stores."""
    result = await run_in_threadpool(service.backtest, console, principal, uid, body.since)
    detail: dict[str, object] = {"since": body.since, "alerts": result.count}
    console.database.audit(principal.name, "detection.backtest", uid, detail)
    return BacktestRead.of(result)
