"""Hypothesis profiles: `ci` (small, deterministic, in the default test run) and `long` (campaigns).

Select one with `HYPOTHESIS_PROFILE=long python -m pytest property_tests` or
`--hypothesis-profile=long`; the default is `ci`.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile("ci", max_examples=25, derandomize=True, database=None, deadline=None,
                          suppress_health_check=_SLOW_IS_FINE, print_blob=True, stateful_step_count=15)
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=_SLOW_IS_FINE,
                          print_blob=True, stateful_step_count=50)


def load_default():
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
