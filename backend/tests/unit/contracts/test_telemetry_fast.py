"""The telemetry fast path (msgspec, issue #21) only ever accepts what the thorough path (orjson + pydantic +
the limits) accepts, and gives the same `Telemetry`; anything else it leaves to the thorough path, which
explains the rejection. Checked on generated messages: valid ones and every kind of mutation of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtwin.contracts.limits import DEFAULT_LIMITS
from dtwin.contracts.telemetry import Rejection, Telemetry, _fast_v1, _thorough, parse_telemetry

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

TRICKY: list[Any] = [
    None, True, False, 0, 1, -1, 1.5, -0.0, 2**63, -(2**63) - 1, 1e15, 9.99e14, 1e300, "", "x", "pump-1",
    "pump-1\n", "Pump.A:1", "-bad", "a" * 128, "a" * 129, "a" * 64, "a" * 65, "temp", "Temp", "temp_c",
    "t\x00", "ümlaut", [], [1], {}, {"a": 1}, {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
    "2026-12-06T12:00:00Z", "2026-12-06T12:00:00.123Z", "2026-12-06T12:00:00.1234567Z",
    "2026-12-06 12:00:00Z", "2026-12-06T12:00:00", "2026-12-06T12:00:00+01:00", "2026-12-06T12:00:00+0100",
    "2026-12-06T12:00Z", "2026-12-06t12:00:00z", "2026-13-06T12:00:00Z", "2026-12-06T24:00:00Z",
    "2026-12-06T12:00:30Z", "2026-12-06T12:05:00Z", "2025-01-01T00:00:00Z", 1733486400, "good", "bad",
    "uncertain", "GOOD", "unknown",
]  # fmt: skip
FIELDS = ["schema", "machine_id", "machine_type", "ts", "readings", "quality", "site", "line", "reported"]


def valid(i: int = 1) -> dict[str, Any]:
    return {
        "schema": 1,
        "machine_id": f"pump-{i:04d}",
        "machine_type": "centrifugal_pump",
        "ts": "2026-12-06T11:59:58.250Z",
        "site": "site-1",
        "line": "line-2",
        "readings": {"temperature_c": 61.25, "vibration_mm_s": 2, "pressure_bar": -0.5},
        "quality": "good",
        "reported": {"mode": "auto", "speed_setpoint": 2900, "on": True, "note": None},
    }


mutation = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(FIELDS), st.sampled_from(TRICKY)),
    st.tuples(st.just("drop"), st.sampled_from(FIELDS), st.none()),
    st.tuples(st.just("extra"), st.sampled_from(["x", "machineId", "Schema", "ts "]), st.sampled_from(TRICKY)),
    st.tuples(st.just("reading"), st.sampled_from(["temperature_c", "Temp", "a b", "", "x" * 70]), st.sampled_from(TRICKY)),
    st.tuples(st.just("reported"), st.sampled_from(["mode", "1bad", "a-b", "x" * 70]), st.sampled_from(TRICKY)),
    st.tuples(st.just("many"), st.sampled_from([0, 1, 255, 256, 257]), st.none()),
)  # fmt: skip


def mutate(doc: dict[str, Any], how: tuple[str, str | int, Any]) -> dict[str, Any] | bytes:
    kind, name, value = how
    if kind == "set":
        doc[str(name)] = value
    elif kind == "drop":
        doc.pop(str(name), None)
    elif kind == "extra":
        doc[str(name)] = value
    elif kind == "reading" and isinstance(doc.get("readings"), dict):
        doc["readings"][str(name)] = value
    elif kind == "reported" and isinstance(doc.get("reported"), dict):
        doc["reported"][str(name)] = value
    elif kind == "many":
        doc["readings"] = {f"s{k}": float(k) for k in range(int(name))}
    return doc


def encode(doc: dict[str, Any]) -> bytes | None:
    try:
        return orjson.dumps(doc)
    except TypeError:  # e.g. an int beyond 64 bits: not something a device can send as JSON here
        return None


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=0, max_size=3), st.integers(1, 9999))
def test_the_fast_path_accepts_only_what_the_thorough_path_accepts(
    mutations: list[tuple[str, str | int, Any]], machine: int
) -> None:
    doc: dict[str, Any] = valid(machine)
    for how in mutations:
        doc = mutate(doc, how)  # type: ignore[assignment]
    raw = encode(doc)
    if raw is None:
        return
    fast = _fast_v1(raw, DEFAULT_LIMITS, NOW)
    thorough = _thorough(raw, DEFAULT_LIMITS, NOW)
    if fast is not None:
        assert isinstance(thorough, Telemetry), (raw, thorough)
        assert fast == thorough, raw
    assert parse_telemetry(raw, now=NOW) == (fast if fast is not None else thorough)


def test_duplicate_keys_and_raw_text_oddities_agree() -> None:
    base = orjson.dumps(valid()).decode()
    cases = [
        base.replace('"machine_id":"pump-0001"', '"machine_id":"pump-0001","machine_id":"pump-0002"'),
        base.replace('"temperature_c":61.25', '"temperature_c":61.25,"temperature_c":1e400'),
        base.replace('"temperature_c":61.25', '"temperature_c":NaN'),
        base.replace('"pump-0001"', '"pump-\\u0030001"'),
        base.replace('"pump-0001"', '"pump-0001\\n"'),
        base.replace('"mode":"auto"', '"mode":"\\ud800"'),
        base + " ",
        " " + base,
        base + "x",
        "[" + base + "]",
    ]
    for text in cases:
        raw = text.encode()
        fast = _fast_v1(raw, DEFAULT_LIMITS, NOW)
        thorough = _thorough(raw, DEFAULT_LIMITS, NOW)
        if fast is not None:
            assert fast == thorough, text


def test_the_usual_message_takes_the_fast_path_and_a_bad_one_is_explained() -> None:
    raw = orjson.dumps(valid())
    fast = _fast_v1(raw, DEFAULT_LIMITS, NOW)
    assert isinstance(fast, Telemetry) and fast.ts == datetime(2026, 12, 6, 11, 59, 58, 250000, tzinfo=UTC)
    assert fast.readings == {"temperature_c": 61.25, "vibration_mm_s": 2.0, "pressure_bar": -0.5}
    future = dict(valid(), ts=(NOW + timedelta(minutes=5)).isoformat())
    assert _fast_v1(orjson.dumps(future), DEFAULT_LIMITS, NOW) is None
    rejected = parse_telemetry(orjson.dumps(future), now=NOW)
    assert isinstance(rejected, Rejection) and rejected.code == "clock_skew"
    assert rejected.machine_id == "pump-0001"


def test_a_name_with_a_final_newline_is_refused_on_both_paths() -> None:
    """`$` in the name patterns also matches before a final newline: names are checked whole."""
    from dtwin.contracts.telemetry import valid_machine_id, valid_placement

    assert not valid_placement("site-1\n") and not valid_machine_id("pump-1\n")
    assert valid_placement("site-1") and valid_machine_id("pump-1")
    for doc in (
        dict(valid(), readings={"temperature_c\n": 1.0}),
        dict(valid(), site="site-1\n"),
        dict(valid(), machine_id="pump-0001\n"),
        dict(valid(), reported={"mode\n": "auto"}),
    ):
        raw = orjson.dumps(doc)
        assert _fast_v1(raw, DEFAULT_LIMITS, NOW) is None
        assert isinstance(parse_telemetry(raw, now=NOW), Rejection), doc
    assert isinstance(parse_telemetry(orjson.dumps(valid()), now=NOW), Telemetry)  # and good input flows on


def test_what_the_fast_path_remembers_never_lets_a_later_bad_message_through() -> None:
    """Names, sensor sets and timestamps found valid are remembered; what depends on the message's values
    or on our clock is checked every time."""
    raw = orjson.dumps(valid())
    assert isinstance(_fast_v1(raw, DEFAULT_LIMITS, NOW), Telemetry)  # its names and ts now remembered
    huge = dict(valid(), readings={"temperature_c": 1e300, "vibration_mm_s": 2.0, "pressure_bar": -0.5})
    assert _fast_v1(orjson.dumps(huge), DEFAULT_LIMITS, NOW) is None
    assert isinstance(parse_telemetry(orjson.dumps(huge), now=NOW), Rejection)
    later = NOW + timedelta(days=DEFAULT_LIMITS.max_age_s / 86400 + 1)  # the same ts, now too old
    assert _fast_v1(raw, DEFAULT_LIMITS, later) is None
    assert parse_telemetry(raw, now=later) == Rejection(
        f"ts 2026-12-06T11:59:58.250Z is older than the accepted age of {DEFAULT_LIMITS.max_age_s:g} s",
        "pump-0001",
        "too_old",
    )
    bad_ts = dict(valid(), ts="2026-12-06T25:00:00Z")  # fits the pattern, not a time: remembered as refused
    for _ in range(2):
        assert _fast_v1(orjson.dumps(bad_ts), DEFAULT_LIMITS, NOW) is None


def test_the_fast_paths_memo_is_bounded() -> None:
    from dtwin.contracts.telemetry import _Memo

    memo = _Memo(3)
    for k in range(10):
        memo.keep(k, True)
        assert len(memo.known) <= 3
    assert 9 in memo.known
