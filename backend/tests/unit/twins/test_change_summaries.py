"""The `reported` change-log summaries: a machine's first change is logged at once, then one summary per
period; a fleet met in one batch is summarised over the period, not all in one batch (kit/spread.py)."""

from datetime import UTC, datetime, timedelta

from dtwin.contracts.changes import TwinUpdate
from dtwin.twins.events import ReportedSummarizer

T0 = datetime(2026, 12, 7, tzinfo=UTC)


def update(machine_id: str, second: int, **readings: float) -> TwinUpdate:
    ts = (T0 + timedelta(seconds=second)).isoformat()
    return TwinUpdate(
        id=machine_id, machine_type="pump", site=None, line=None, ts=ts, quality="good", readings=readings
    )


def test_first_change_at_once_then_one_summary_per_period_spread_over_the_fleet() -> None:
    summaries = ReportedSummarizer(every_s=60.0)
    ids = [f"pump-{k:04d}" for k in range(600)]
    per_second: list[int] = []
    entries: dict[str, list[dict[str, object]]] = {m: [] for m in ids}
    for second in range(181):
        now = T0 + timedelta(seconds=second)
        out = summaries.observe(ids, [update(m, second, flow=float(second)) for m in ids], now)
        per_second.append(len(out))
        for e in out:
            entries[str(e["machine_id"])].append(e)
    assert per_second[0] == 600  # every machine's first change, at once
    assert max(per_second[1:]) < 60  # then about 10 a second, never the fleet in one batch
    for m in ids:
        first, *rest = entries[m]
        assert first["details"] == {  # type: ignore[comparison-overlap]
            "since": T0.isoformat(),
            "updates": 1,
            "properties": ["flow"],
            "latest": {"flow": 0.0},
        }
        assert 2 <= len(rest) <= 3  # the first window ends within a period, then one a period
        for entry in rest:
            details, end = entry["details"], entry["ts"]
            start = datetime.fromisoformat(details["since"])  # type: ignore[index]
            assert details["updates"] == (end - start).seconds  # type: ignore[index,operator]
            assert details["latest"] == {"flow": float((end - T0).seconds)}  # type: ignore[index,operator]
        assert all(b["details"]["updates"] == 60 for b in rest[1:])  # type: ignore[index]
