"""Input limits, in one place: what one device message or one client request may carry. The bridge, the
consumer, the scoring engine and the API all read them from here; `Settings.limits()` sets their values
(DTWIN_* variables, listed in docs/operations.md). Imports nothing of ours."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# identifiers: machine ids (also site, line, machine types), sensor names, reported/desired property keys
MACHINE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"
PLACEMENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"
SENSOR_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
PROPERTY_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"
PROPERTY_RE = re.compile(PROPERTY_PATTERN)
# machine ids the API's paths take for fleet resources (`/api/v1/twins/aggregate`): a device may not use them
RESERVED_MACHINE_IDS = frozenset({"aggregate"})

# the largest integer JSON may carry anywhere we store it (int64; orjson, Redis cjson and PostgreSQL agree)
MAX_JSON_INT = 2**63 - 1
MIN_JSON_INT = -(2**63)

# one WebSocket connection: its subscriptions and the size of one message it may send
MAX_WS_SUBSCRIPTIONS = 32
MAX_WS_MESSAGE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """What one telemetry message may carry. Anything beyond is a rejection with the limit in its reason
    (dead-letter topic, never a crash). Defaults are the documented ones."""

    max_payload_bytes: int = 64 * 1024
    max_machine_types: int = 500  # distinct machine types telemetry may name
    max_sensors_per_message: int = 256
    # distinct sensor names one machine type may accumulate; a message that would add more is rejected
    # ("sensor limit"), so a device inventing names cannot grow the scorer's state without bound
    max_sensors_per_type: int = 128
    max_reported_keys: int = 128  # per message
    max_reported_per_type: int = 128  # distinct reported property names per machine type, like sensors
    max_reported_depth: int = 8  # nesting of objects/arrays inside one reported value
    max_abs_reading: float = 1e15  # finite and below this magnitude
    # a timestamp this far ahead of our clock is a device clock fault: accepted, it would hold the property at
    # its future value (newest timestamp wins) until real time caught up
    max_future_skew_s: float = 10.0
    max_age_s: float = 30 * 86400.0  # older than this is rejected (history belongs in a backfill)
    # dead-letter records keep at most this many bytes of the rejected payload (plus its size and sha256)
    dlq_payload_bytes: int = 8 * 1024


DEFAULT_LIMITS = Limits()


def number_problem(value: float, limits: Limits) -> str | None:
    """Why a number is out of range (not finite, or |x| >= max_abs_reading), or None."""
    if not math.isfinite(value):
        return "numbers must be finite"
    if abs(value) >= limits.max_abs_reading:
        return f"|{value:g}| is out of range (limit {limits.max_abs_reading:g})"
    return None


# --- client requests (the API); constants, not settings -------------------------------------------------
# nesting of objects/arrays in a JSON document a client stores (twin attributes); orjson cannot write more
# than 254 levels, and no attribute needs more than a few
MAX_JSON_DEPTH = 16
# a twin's attributes, encoded as JSON: they travel with every whole-twin change to every dashboard
MAX_DOCUMENT_BYTES = 16 * 1024
# any request body; more is a 413 before the handler reads it
MAX_REQUEST_BYTES = 1024 * 1024

# --- desired state (PATCH /twins/{id}/desired and its dry run) ----------------------------------------------
MAX_DESIRED_BYTES = 16 * 1024  # a patch, and the desired document it makes
MAX_DESIRED_DEPTH = 5  # objects/arrays nested in the desired document

# --- what-if of a desired change (POST /twins/{id}/desired/dry-run) ---------------------------------------
# history the predictor reads: the machine's settings changes and readings of this many days back (the raw
# readings' default retention), at most this many steady spans per machine (the newest), and when the
# machine's own history is too thin, that of at most this many other machines of its type
WHATIF_LOOKBACK_DAYS = 30.0
MAX_WHATIF_SPANS = 200
MAX_WHATIF_FLEET_MACHINES = 20

# --- the twin change log -----------------------------------------------------------------------------------
# `settings` entries (a change of a machine's reported settings, with its device timestamps) one machine may
# add per minute; changes beyond are held and logged as one coalesced entry when the minute is over, so a
# device flipping a setting in a loop cannot flood the log (the values in between are then not in it)
MAX_SETTINGS_ENTRIES_PER_MIN = 30

# --- fleet aggregations (GET /twins/aggregate) -----------------------------------------------------------
MAX_GROUP_BY = 4  # fields one aggregation groups by
MAX_AGGREGATES = 20  # aggregates one request asks for
MAX_AGG_GROUPS = 10_000  # groups one answer may hold (more: 422, group by fewer or coarser fields)

# --- alarms (API and evaluation) ---------------------------------------------------------------------------
MAX_ALARM_RULES = 5000  # live threshold rules: every one is a series per matching machine in the consumer
MAX_ALARM_DELAY_S = 24 * 3600.0  # on/off delays of a rule
MAX_SHELVE_S = 7 * 86400.0  # how long an operator may shelve an alarm (ISA-18.2: shelving is temporary)
MAX_BULK_ACK = 500  # alarms one bulk acknowledgement may name
MAX_ALARM_COMMENT = 2000  # characters of a comment or a shelving reason
MAX_PREVIEW_READINGS = 1_000_000  # stored readings a rule preview may replay (more: 422, narrow the range)
MAX_PREVIEW_DAYS = 30
MAX_PREVIEW_MACHINES = 1000
MAX_REPORT_HOURS = 31 * 24  # the period an alarm report may span
MAX_REPORT_RUN_DAYS = 400  # the period a report run (PDF/CSV) may span: a year and a margin
