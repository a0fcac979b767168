"""Volume forecasts per store and kind, the DDoS deviation signal, and the policy level.

`traffic_counts` turns event frames into counts per key and bucket; `Forecaster`
fits them (statsforecast MSTL, with the peak calendar as business context) and
forecasts the next buckets with intervals; `deviation` compares actual counts,
hourly or finer, with the forecast and flags floods; `policy_level` tells
playbooks how alert a store should be ahead of a peak or a forecast surge.
"""

from vigil.detect.forecast.counts import traffic_counts
from vigil.detect.forecast.deviation import DEVIATION_SCHEMA, deviation
from vigil.detect.forecast.model import DEFAULT_PEAK_MULTIPLIERS, Forecaster
from vigil.detect.forecast.policy import SURGE_RATIOS, policy_level
from vigil.detect.forecast.types import FORECAST_SCHEMA, Forecast, ForecastError, PolicyLevel

__all__ = [
    "DEFAULT_PEAK_MULTIPLIERS",
    "DEVIATION_SCHEMA",
    "FORECAST_SCHEMA",
    "SURGE_RATIOS",
    "Forecast",
    "ForecastError",
    "Forecaster",
    "PolicyLevel",
    "deviation",
    "policy_level",
    "traffic_counts",
]
