"""`python -m dtwin_devkit.seed_history`: weeks of plausible energy-meter history written into a (demo's)
database, so the Energy view, its heatmap and peaks, and a meter's 24 h forecast (fitted on four weeks of
hourly consumption) have something to show. Dev only: `make screenshots` runs it before the Energy shot.

For each meter (`--machines`, default every machine with `energy_kwh` readings) it writes the cumulative
`energy_kwh` register every `--interval` seconds over the `--days` before the meter's oldest stored reading:
a weekday two-shift profile with nights and weekends at base load (wall clock in `--tz`, default
DTWIN_PLANT_TZ), a lunch dip, day-to-day and per-interval noise, scaled so the power where the history meets
the live readings is the rate the live register rises at. The register rises to just below the meter's
first live value, so the counter goes on without a reset (a register too low to have run that long is
given a smaller load, and says so).

Why straight into the database: the consumer refuses readings older than DTWIN_MAX_AGE_S (30 days by
default) and late ones count as data-quality problems, and no simulator replays weeks in the minutes a
screenshot run has. Rows go in through the readings room's `store_readings` (idempotent; on plain
PostgreSQL it marks the late buckets, which the running backend's rollup refresher then re-aggregates;
daily partitions of those days are created first). SQLite (the demo's default) has no rollups to refresh;
on TimescaleDB refresh the continuous aggregates over the range afterwards. A meter whose stored history
already reaches `--days` back is left alone, so a second run adds nothing."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.config import Settings
from dtwin.core.db import create_engine, create_sessionmaker, dialect_name, transaction
from dtwin.lifecycle import partitions as parts
from dtwin.readings.models import ReadingRow
from dtwin.readings.service import ReadingTuple, store_readings

ENERGY, POWER = "energy_kwh", "power_kw"
BASE = 0.3  # nights, Sundays: this share of the full load
SHIFTS = (6.0, 22.0)  # weekday shifts, local hours
SATURDAY = (6.0, 14.0)  # a Saturday morning shift at half load
RAMP_H = 0.5
PROBE = timedelta(minutes=10)  # the live readings the joint's rate is measured over
DEFAULT_KW = 50.0  # the joint's rate when the live readings cannot tell
CHUNK = 5000  # rows per transaction: short write locks beside a running backend (SQLite)


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a meter's stored readings begin: the history ends just before."""

    machine_id: str
    ts: datetime
    kwh: float
    kw: float  # the rate the register rises at there
    span: timedelta  # oldest to newest stored reading


@dataclass(frozen=True, slots=True)
class Seeded:
    machine_id: str
    rows: int
    first: datetime | None
    kwh: float  # energy the history covers
    scaled: float = 1.0  # < 1: the load was lowered to fit under the register


def share(local_hours: npt.NDArray[np.float64], weekday: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Share of the full load at local times (hour of day as a float, Monday = 0): BASE at night and on
    Sundays, full load in the weekday shifts (half-hour ramps, a dip at lunch), half on Saturday mornings."""

    def window(span: tuple[float, float]) -> npt.NDArray[np.float64]:
        up = np.clip((local_hours - span[0]) / RAMP_H, 0.0, 1.0)
        down = np.clip((span[1] - local_hours) / RAMP_H, 0.0, 1.0)
        return np.asarray(up * down, dtype=np.float64)

    lunch = 1.0 - 0.15 * ((local_hours >= 12.0) & (local_hours < 13.0))
    level = np.where(weekday < 5, window(SHIFTS) * lunch, np.where(weekday == 5, 0.5 * window(SATURDAY), 0.0))
    return np.asarray(BASE + (1.0 - BASE) * level, dtype=np.float64)


def _local(ts: Sequence[datetime], tz: ZoneInfo) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    local = [t.astimezone(tz) for t in ts]
    hours = np.array([t.hour + t.minute / 60 + t.second / 3600 for t in local], dtype=np.float64)
    return hours, np.array([t.weekday() for t in local], dtype=np.int64)


def history(
    anchor: Anchor, days: float, interval_s: int, tz: str, rng: np.random.Generator
) -> tuple[list[ReadingTuple], Seeded]:
    """The register every `interval_s` seconds over the `days` before the anchor (clock-aligned, the last
    one strictly before it), rising to just below the anchor's value at the anchor's rate."""
    zone = ZoneInfo(tz)
    step = timedelta(seconds=interval_s)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    last = epoch + ((anchor.ts - epoch - timedelta(microseconds=1)) // step) * step
    n = int(days * 86400 // interval_s)
    if n < 2:
        return [], Seeded(anchor.machine_id, 0, None, 0.0)
    times = [last - (n - 1 - i) * step for i in range(n)]
    # each interval's energy at the load of its middle; the full load from the anchor's rate
    hours, weekday = _local([t - step / 2 for t in times] + [anchor.ts], zone)
    shares = share(hours, weekday)
    full_kw = anchor.kw / shares[-1]
    day_index = np.array([(t.astimezone(zone).date() - times[0].astimezone(zone).date()).days for t in times])
    by_day = rng.normal(1.0, 0.06, int(day_index.max()) + 1)[day_index]
    noise = np.clip(rng.normal(1.0, 0.1, n), 0.6, 1.4)
    kwh = full_kw * shares[:-1] * by_day * noise * interval_s / 3600.0
    kwh[0] = 0.0  # the first reading starts the register; energy is counted from there
    # from the last history reading to the anchor at the anchor's rate: no step at the joint
    at_last = anchor.kwh - anchor.kw * (anchor.ts - last).total_seconds() / 3600.0
    total = float(kwh.sum())
    scaled = 1.0
    if at_last - total < 0.05 * anchor.kwh:  # the register has not run that long at that load
        scaled = max(0.95 * at_last, 0.0) / total if total > 0 else 1.0
        kwh *= scaled
        total = float(kwh.sum())
    values = at_last - (total - np.cumsum(kwh))
    rows = [
        (anchor.machine_id, ENERGY, t, round(float(v), 3), "good") for t, v in zip(times, values, strict=True)
    ]
    return rows, Seeded(anchor.machine_id, len(rows), times[0], total, scaled)


async def _energy_meters(session: AsyncSession) -> list[str]:
    q = select(ReadingRow.machine_id).where(ReadingRow.sensor == ENERGY).distinct()
    return sorted((await session.scalars(q)).all())


async def anchor_of(session: AsyncSession, machine_id: str) -> Anchor | None:
    """The meter's oldest stored `energy_kwh` reading and the rate its register rises at over the next
    PROBE (else its mean power_kw there, else DEFAULT_KW); None: no energy readings."""
    mine = (ReadingRow.machine_id == machine_id, ReadingRow.sensor == ENERGY)
    oldest, newest = (
        await session.execute(select(func.min(ReadingRow.ts), func.max(ReadingRow.ts)).where(*mine))
    ).one()
    if oldest is None or newest is None:
        return None
    probe = (
        await session.execute(
            select(ReadingRow.ts, ReadingRow.value)
            .where(*mine, ReadingRow.ts >= oldest, ReadingRow.ts <= oldest + PROBE)
            .order_by(ReadingRow.ts)
        )
    ).all()
    (t0, v0), (t1, v1) = probe[0], probe[-1]
    seconds = (t1 - t0).total_seconds()
    kw: float | None = 3600.0 * (v1 - v0) / seconds if seconds >= 30 and v1 >= v0 else None
    if kw is None:
        power = await session.scalar(
            select(func.avg(ReadingRow.value)).where(
                ReadingRow.machine_id == machine_id,
                ReadingRow.sensor == POWER,
                ReadingRow.ts >= oldest,
                ReadingRow.ts <= oldest + PROBE,
            )
        )
        kw = float(power) if power is not None and power > 0 else DEFAULT_KW
    return Anchor(machine_id, t0, float(v0), kw, newest - oldest)


async def _ensure_partitions(
    sessions: async_sessionmaker[AsyncSession], first: datetime, last: datetime
) -> None:
    """Daily partitions for the history's UTC days where the readings are partitioned (plain PostgreSQL)."""
    async with transaction(sessions) as session:
        if dialect_name(session) != "postgresql" or not await parts.is_partitioned(session, "reading_rows"):
            return
        days = [first.date() + timedelta(days=d) for d in range((last.date() - first.date()).days + 1)]
        for table in parts.PARTITIONED:
            await parts.ensure_days(session, table, days)


async def seed(
    database_url: str,
    *,
    days: float,
    machines: Sequence[str] | None,
    interval_s: int,
    tz: str,
    seed: int,
) -> list[Seeded]:
    """Write each meter's history (a meter without readings, or with `days` of them already, is skipped
    with a message on standard error); what was written per meter."""
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    out: list[Seeded] = []
    try:
        async with sessions() as session:
            ids = list(machines) if machines else await _energy_meters(session)
            anchors = {m: await anchor_of(session, m) for m in ids}
        rng = np.random.default_rng(seed)
        for machine_id in ids:
            anchor = anchors[machine_id]
            if anchor is None:
                print(f"{machine_id}: no {ENERGY} readings yet, nothing to meet: skipped", file=sys.stderr)
                continue
            if anchor.span >= timedelta(days=days):
                print(f"{machine_id}: already has {anchor.span} of history: skipped", file=sys.stderr)
                continue
            rows, seeded = history(anchor, days, interval_s, tz, rng)
            if not rows:
                continue
            await _ensure_partitions(sessions, rows[0][2], rows[-1][2])
            for i in range(0, len(rows), CHUNK):
                await store_readings(sessions, rows[i : i + CHUNK])
            out.append(seeded)
    finally:
        await engine.dispose()
    return out


def _date(ts: datetime | None) -> date | None:
    return ts.date() if ts is not None else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dtwin_devkit.seed_history", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database-url", help="SQLAlchemy URL (default DTWIN_DATABASE_URL)")
    parser.add_argument("--days", type=float, default=30.0, help="History before the live readings (30)")
    parser.add_argument("--machines", help="Comma-separated meter ids (default: every energy_kwh reporter)")
    parser.add_argument("--interval", type=int, default=300, help="Seconds between readings (300)")
    parser.add_argument("--tz", help="Wall clock of the load profile (default DTWIN_PLANT_TZ)")
    parser.add_argument("--seed", type=int, default=7, help="Random seed of the noise")
    args = parser.parse_args(argv)
    if args.days <= 0 or args.interval < 1:
        parser.error("--days and --interval must be positive")
    settings = Settings() if args.database_url is None or args.tz is None else None
    database_url = args.database_url or (settings.database_url if settings else "")
    tz = args.tz or (settings.plant_tz if settings else "UTC")
    machines = [m.strip() for m in args.machines.split(",") if m.strip()] if args.machines else None
    seeded = asyncio.run(
        seed(database_url, days=args.days, machines=machines, interval_s=args.interval, tz=tz, seed=args.seed)
    )
    for s in seeded:
        note = f" (load scaled by {s.scaled:.2f} to fit under the register)" if s.scaled < 1 else ""
        print(f"{s.machine_id}: {s.rows} {ENERGY} readings from {_date(s.first)}, {s.kwh:,.0f} kWh{note}")
    if not seeded:
        sys.exit("seed_history: no meter got history (none found, none with readings, or all seeded already)")


if __name__ == "__main__":
    main()
