"""Renamed ``dystress.pipeline.statistics`` (the parameter ``seeds`` lists seeds; this module holds statistics
over them). The old name keeps working for one release."""

import warnings

from dystress.pipeline.statistics import *  # noqa: F403

warnings.warn("dystress.pipeline.seeds is now dystress.pipeline.statistics", FutureWarning, stacklevel=2)
