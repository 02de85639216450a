"""`python -m dtwin_devkit.seed_settings_history`: an hour or two of simulated setpoint history written into a
(demo's) database before the machines' live readings, so the desired editor's dry run (`dtwin.whatif`) has
spans of different settings to learn from. Dev only: `make screenshots` runs it before the dry-run preview.

The history is simulated, not made up: the demo's own simulator (`dtwin_pipeline`'s `Fleet`, planned as
`dtwin demo` plans it: `--simulator-machines` machines, seed `--simulator-seed`, so each machine has the same
physics parameters as the live one) runs faster than real time over the span before the machines' oldest
stored reading. Every `slot` seconds (the type's settle_s + the predictor's 10-minute steady window + a
minute) each chosen machine gets a real command through the device protocol (`Fleet.apply_desired`: checked
against the catalogue ranges and acked), one setting at a time spread over the setting's range; the last
command restores the initial settings, so the history joins the live period without a jump in the settings.
Written: each chosen machine's readings (the readings room's `store_readings`, idempotent) and, as the
consumer's SettingsLog would log them, one `settings` change-log entry per change of its reported settings
(device times; the first message's settings too). Why straight into the database: the consumer refuses
readings older than DTWIN_MAX_AGE_S and logs settings at processing time, and a screenshot run has minutes.
A machine with readings from well before its twin was created (its first live message) is left alone: a
second run adds nothing."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select

from dtwin.config import Settings
from dtwin.contracts.catalogue import CatalogueType, machine_catalogue
from dtwin.contracts.telemetry import iso_utc
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.readings.models import ReadingRow
from dtwin.readings.service import ReadingTuple, store_readings
from dtwin.twins.events import TwinEventLog
from dtwin.twins.models import TwinRow
from dtwin.whatif.service import STEADY_WINDOW_S
from dtwin_pipeline.simulator.fleet import Fleet, SimulatorConfig

SPREAD = (0.15, 0.85, 0.35, 0.65, 0.05, 0.5)  # fractions of each setting's range, one command each
# readings this much older than the twin (created by its first live message) are history already written
ALREADY = timedelta(minutes=10)
CHUNK = 5000  # rows per transaction: short write locks beside a running backend (SQLite)


@dataclass(frozen=True, slots=True)
class Seeded:
    machine_id: str
    rows: int
    changes: int
    first: datetime


def slot_s(spec: CatalogueType) -> float:
    """Seconds between commands: settled, then a full steady window, then a minute to spare."""
    return float(spec.settle_s or 120.0) + STEADY_WINDOW_S + 60.0


def commands(spec: CatalogueType, initial: dict[str, Any]) -> list[dict[str, Any]]:
    """The commands of one machine, in order: each setting in turn at each fraction of SPREAD, then the
    initial settings again."""
    out: list[dict[str, Any]] = []
    for frac in SPREAD:
        for st in spec.settings:
            value = round(st.lo + frac * (st.hi - st.lo), st.decimals)
            out.append({st.name: int(value) if st.decimals == 0 else value})
    out.append({st.name: initial[st.name] for st in spec.settings if st.name in initial})
    return out


def simulate(
    cfg: SimulatorConfig, ids: Sequence[str], end: datetime
) -> tuple[dict[str, list[ReadingTuple]], list[dict[str, Any]]]:
    """Run the fleet from before `end` (as long as the longest command schedule takes) to `end`,
    commanding the chosen machines; their readings and `settings` entries."""
    catalogue = machine_catalogue()
    probe = Fleet(cfg)
    plans = {}
    for m in ids:
        if not probe.owns(m):
            raise SystemExit(f"{m}: not a machine of the demo's simulator ({cfg.machines} machines)")
        spec = catalogue[probe.machine(m).type]
        if not spec.settings:
            raise SystemExit(f"{m}: its type {spec.name} has no settings to command")
        plans[m] = (spec, commands(spec, probe.reported(m)))
    duration = max(slot_s(spec) * (len(cmds) + 1) for spec, cmds in plans.values())
    dt = 1.0 / cfg.rate_hz
    steps = int(duration / dt)
    start = end - timedelta(seconds=steps * dt)
    fleet = Fleet(replace(cfg, start=start))
    readings: dict[str, list[ReadingTuple]] = {m: [] for m in ids}
    entries: list[dict[str, Any]] = []
    known: dict[str, dict[str, Any]] = {}
    versions = dict.fromkeys(ids, 0)
    for step in range(steps):
        elapsed = step * dt
        now = start + timedelta(seconds=elapsed)
        for m, (spec, cmds) in plans.items():
            k, rem = divmod(elapsed, slot_s(spec))
            if rem < dt and 1 <= k <= len(cmds):
                versions[m] += 1
                msg = {"schema": 1, "machine_id": m, "version": versions[m], "desired": cmds[int(k) - 1]}
                ack = fleet.apply_desired(msg, now=now)
                if ack["status"] != "accepted":
                    raise SystemExit(f"the device refused a seeding command: {ack}")
        for o in fleet.tick(now, dt):
            if o.machine.id not in readings:
                continue
            msg = orjson.loads(o.payload)
            ts = datetime.fromisoformat(msg["ts"])
            readings[o.machine.id].extend(
                (o.machine.id, name, ts, float(v), msg["quality"]) for name, v in msg["readings"].items()
            )
            before = known.setdefault(o.machine.id, {})
            diff = {k: v for k, v in msg["reported"].items() if k not in before or before[k] != v}
            if diff:  # what the consumer's SettingsLog logs for this message (twins/events.py)
                before.update(diff)
                entries.append(
                    {
                        "machine_id": o.machine.id,
                        "ts": ts,
                        "kind": "settings",
                        "version": None,
                        "details": {"settings": diff, "times": dict.fromkeys(diff, iso_utc(ts))},
                    }
                )
    return readings, entries


async def seed(
    database_url: str, machines: Sequence[str], simulator_machines: int, simulator_seed: int
) -> list[Seeded]:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    try:
        ids: list[str] = []
        end: datetime | None = None
        async with sessions() as session:
            for m in machines:
                oldest = await session.scalar(
                    select(func.min(ReadingRow.ts)).where(ReadingRow.machine_id == m)
                )
                if oldest is None:
                    print(f"{m}: no readings yet, nothing to meet: skipped", file=sys.stderr)
                    continue
                created = await session.scalar(select(TwinRow.created_at).where(TwinRow.id == m))
                if created is not None and oldest < created - ALREADY:
                    print(f"{m}: has readings from before its twin was created: skipped", file=sys.stderr)
                    continue
                ids.append(m)
                end = oldest if end is None else min(end, oldest)
        if not ids or end is None:
            return []
        cfg = SimulatorConfig(machines=simulator_machines, rate_hz=1.0, seed=simulator_seed)
        # the history ends a second before the oldest live reading of the chosen machines
        readings, entries = await asyncio.to_thread(simulate, cfg, ids, end - timedelta(seconds=1))
        out = []
        for m in ids:
            rows = readings[m]
            for i in range(0, len(rows), CHUNK):
                await store_readings(sessions, rows[i : i + CHUNK])
            mine = [e for e in entries if e["machine_id"] == m]
            out.append(Seeded(m, len(rows), len(mine), rows[0][2]))
        await TwinEventLog(sessions).record_many(entries)
    finally:
        await engine.dispose()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dtwin_devkit.seed_settings_history", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database-url", help="SQLAlchemy URL (default DTWIN_DATABASE_URL)")
    parser.add_argument("--machines", required=True, help="Comma-separated machine ids to command")
    parser.add_argument(
        "--simulator-machines", type=int, default=50, help="The demo simulator's machines (`dtwin demo`: 50)"
    )
    parser.add_argument("--simulator-seed", type=int, default=42, help="The demo simulator's seed (42)")
    args = parser.parse_args(argv)
    database_url = args.database_url or Settings().database_url
    machines = [m.strip() for m in args.machines.split(",") if m.strip()]
    seeded = asyncio.run(seed(database_url, machines, args.simulator_machines, args.simulator_seed))
    for s in seeded:
        print(f"{s.machine_id}: {s.rows} readings and {s.changes} settings changes from {iso_utc(s.first)}")
    if not seeded:
        sys.exit("seed_settings_history: no machine got history (none with readings, or all seeded already)")


if __name__ == "__main__":
    main()
