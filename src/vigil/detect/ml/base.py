"""The detector registry, the config models' base and `build_detector` for YAML rules.

A detector plugin is one module holding its pydantic config and its class,
registered under the same name in both registries:

    @detector_configs.register("seasonal_baseline")
    class SeasonalBaselineConfig(DetectorConfig):
        type: Literal["seasonal_baseline"] = "seasonal_baseline"
        alpha: float = Field(default=0.05, description="...")

    @detectors.register("seasonal_baseline")
    class SeasonalBaseline(Detector): ...

The config's fields other than `type` are exactly the detector's constructor
arguments (its hyperparameters), so `build_detector` is a validation and a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

from vigil.detect.types import DetectError, Detector, RuleError
from vigil.plugins import PluginNotFoundError, Registry

detectors: Registry[Detector] = Registry("detector")


class DetectorConfig(BaseModel):
    """What a rule writes under `detector:`; subclasses add `type` and the hyperparameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str

    def hyperparameters(self) -> dict[str, object]:
        """The constructor's keyword arguments."""
        return {name: getattr(self, name) for name in type(self).model_fields if name != "type"}


detector_configs: Registry[DetectorConfig] = Registry("detector config")


class DetectorInputError(DetectError):
    """A frame handed to a detector lacks a column it needs, or has one of the wrong kind."""


def build_detector(config: Mapping[str, object], origin: str = "<rule>") -> Detector:
    """Validate a rule's `detector:` mapping and instantiate the detector it names.

    `origin` is where the mapping was written (`rules/pos.yaml:12`); every error
    is a `RuleError` that carries it.

    >>> build_detector({"type": "peer_group", "min_peers": 4}, "rules/pos.yaml:7").name
    'peer_group'
    """
    file, line = _split_origin(origin)
    name = config.get("type")
    if not isinstance(name, str):
        known = ", ".join(detector_configs.names())
        raise RuleError(f"detector: 'type' is required (one of: {known})", file, line)
    try:
        detector_class = detectors.get(name)
        model = detector_configs.get(name)
    except PluginNotFoundError as error:
        raise RuleError(f"detector: {error}", file, line) from None
    try:
        validated = model.model_validate(dict(config))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'detector'}: {item['msg']}"
            for item in error.errors()
        )
        raise RuleError(f"detector {name}: {problems}", file, line) from None
    return detector_class(**validated.hyperparameters())


def _split_origin(origin: str) -> tuple[str, int | None]:
    file, sep, line = origin.rpartition(":")
    if sep and line.isdigit():
        return file, int(line)
    return origin, None


# Helpers the detectors share -------------------------------------------------

ROW = "__vigil_row"
"""Row-index column detectors add to put rows back in their order after joins."""


def empty_scores() -> pl.Series:
    return pl.Series("score", [], dtype=pl.Float64)


def require_columns(frame: pl.DataFrame, columns: Iterable[str], detector: str) -> None:
    """Raise `DetectorInputError` naming every column the frame lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DetectorInputError(
            f"{detector}: the frame lacks column(s) {', '.join(missing)}; "
            f"it has {', '.join(frame.columns) or 'none'}"
        )


def as_scores(values: pl.Series | np.ndarray) -> pl.Series:
    """Float64 scores, nulls and NaN as 0, infinities clipped: a score is always finite."""
    series = pl.Series("score", values, dtype=pl.Float64)
    finite = np.nan_to_num(series.fill_null(0.0).to_numpy(), nan=0.0, posinf=1e12, neginf=0.0)
    return pl.Series("score", finite, dtype=pl.Float64)


NULL_KEY = "\x00null"
"""What a null entity key becomes, so that rows without one still share a state row."""


def key_expr(column: str, alias: str) -> pl.Expr:
    """An entity-key column as a non-null string, so joins across batches line up."""
    return pl.col(column).cast(pl.String).fill_null(NULL_KEY).alias(alias)


MOMENTS_SCHEMA = {"n": pl.Int64, "mean": pl.Float64, "var": pl.Float64}


def empty_moments(keys: Iterable[str]) -> pl.DataFrame:
    """Learned moments per key: no rows yet."""
    return pl.DataFrame(schema={**dict.fromkeys(keys, pl.String), **MOMENTS_SCHEMA})


def batch_moments(frame: pl.DataFrame, keys: list[str], value: str) -> pl.DataFrame:
    """Count, mean and (population) variance of `value` per key, nulls left out."""
    return (
        frame.filter(pl.col(value).is_not_null())
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col(value).mean().alias("mean"),
            pl.col(value).var(ddof=0).fill_null(0.0).alias("var"),
        )
    )


def merge_moments(
    state: pl.DataFrame, batch: pl.DataFrame, keys: list[str], alpha: float
) -> pl.DataFrame:
    """Fold a batch's moments into the state, exponentially weighted.

    The old state keeps the weight `min((1 - alpha) ** k, n / (n + k))` for a batch
    of k rows: a plain running mean while history is short (n < 1/alpha), an
    exponentially weighted one after; `alpha = 0` is a plain running mean for
    ever. Variances combine as a two-component mixture (exact for alpha = 0).
    """
    joined = state.join(batch, on=keys, how="full", coalesce=True, suffix="_batch")
    old_n = pl.col("n").fill_null(0).cast(pl.Float64)
    new_n = pl.col("n_batch").fill_null(0).cast(pl.Float64)
    decay = pl.lit(1.0 - alpha, dtype=pl.Float64).pow(new_n)
    weight = (
        pl.when(old_n == 0)
        .then(0.0)
        .when(new_n == 0)
        .then(1.0)
        .otherwise(pl.min_horizontal(decay, old_n / (old_n + new_n)))
    )
    old_mean = pl.col("mean").fill_null(0.0)
    new_mean = pl.col("mean_batch").fill_null(0.0)
    mean = weight * old_mean + (1.0 - weight) * new_mean
    return joined.select(
        *keys,
        (pl.col("n").fill_null(0) + pl.col("n_batch").fill_null(0)).cast(pl.Int64).alias("n"),
        mean.alias("mean"),
        (
            weight * (pl.col("var").fill_null(0.0) + (old_mean - mean) ** 2)
            + (1.0 - weight) * (pl.col("var_batch").fill_null(0.0) + (new_mean - mean) ** 2)
        ).alias("var"),
    )
