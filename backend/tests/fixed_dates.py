"""Many tests feed telemetry stamped on fixed dates (2026-11-2x) so their expected values can be written out.
The consumer rejects telemetry older than `max_age_s` (30 days by default) counted from the wall clock, so the
settings (conftest.py) and the consumers of those tests accept ten years instead. The age limit itself is
tested with an explicit clock (unit/contracts/test_limits.py) and on real servers (e2e/test_mqtt_fuzz.py)."""

from dtwin.contracts.limits import Limits

FIXED_DATES_MAX_AGE_S = 10 * 365 * 86400.0
FIXED_DATES_LIMITS = Limits(max_age_s=FIXED_DATES_MAX_AGE_S)
