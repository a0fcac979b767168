"""Exponential back-off with jitter around one adapter call.

The sleep and the random source are injected, so tests run the whole schedule
without waiting and with known jitter:

    policy = RetryPolicy(max_attempts=3, base_delay_seconds=1.0)
    outcome = call_with_retry(lambda timeout: send(timeout), policy, repeatable=True,
                              sleep=fake.sleep, rng=random.Random(7))

Each attempt gets `attempt_timeout_seconds` as its own time limit, passed to the
call. Transient failures are retried; ambiguous ones (the request may have been
applied) only when the action is safe to repeat; permanent and configuration
failures stop at once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from vigil.respond.errors import AdapterError, ConfigError
from vigil.respond.types import Attempt, Failure, FailureKind

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RetryPolicy(BaseModel):
    """How often and how patiently an adapter call is tried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(
        default=4, ge=1, le=20, description="Tries in all, the first included."
    )
    base_delay_seconds: float = Field(
        default=0.5, ge=0, description="Back-off before the second attempt."
    )
    multiplier: float = Field(default=2.0, ge=1, description="Growth of the back-off per attempt.")
    max_delay_seconds: float = Field(default=30.0, ge=0, description="Longest back-off.")
    jitter: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Random spread of each back-off, as a fraction (0.2: ±20 %).",
    )
    attempt_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Time limit of one attempt."
    )

    def delay(self, retry: int, rng: random.Random) -> float:
        """Back-off before retry number `retry` (1 = before the second attempt)."""
        plain = min(
            self.base_delay_seconds * self.multiplier ** (retry - 1), self.max_delay_seconds
        )
        spread = 1.0 + rng.uniform(-self.jitter, self.jitter)
        return max(0.0, plain * spread)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """The value of the last attempt, or the failure that stopped the tries."""

    value: T | None
    attempts: tuple[Attempt, ...]
    failure: Failure | None

    @property
    def ok(self) -> bool:
        return self.failure is None


def _retryable(kind: FailureKind, repeatable: bool) -> bool:
    if kind is FailureKind.TRANSIENT:
        return True
    return kind is FailureKind.AMBIGUOUS and repeatable


def call_with_retry(
    call: Callable[[float], T],
    policy: RetryPolicy,
    *,
    repeatable: bool,
    sleep: Callable[[float], None],
    rng: random.Random,
) -> Outcome[T]:
    """Run `call(attempt_timeout)` until it succeeds or a failure says to stop."""
    attempts: list[Attempt] = []
    waited = 0.0
    for number in range(1, policy.max_attempts + 1):
        if number > 1:
            waited = policy.delay(number - 1, rng)
            sleep(waited)
        try:
            value = call(policy.attempt_timeout_seconds)
        except ConfigError as error:
            failure = Failure(kind=FailureKind.CONFIG, message=str(error))
        except AdapterError as error:
            failure = Failure(kind=error.kind, message=str(error))
        else:
            attempts.append(Attempt(number=number, waited_seconds=waited))
            return Outcome(value, tuple(attempts), None)
        attempts.append(Attempt(number=number, waited_seconds=waited, failure=failure))
        if not _retryable(failure.kind, repeatable):
            break
        logger.warning("attempt %d of %d failed: %s", number, policy.max_attempts, failure.message)
    return Outcome(None, tuple(attempts), attempts[-1].failure)
