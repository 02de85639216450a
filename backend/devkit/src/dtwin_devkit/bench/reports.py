"""`python -m dtwin_devkit.bench.reports`: how long a monthly site report takes for 1,000 machines (issue #19
target: < 10 s), on throwaway PostgreSQL (partitioned readings, rollups) and Redis.

The fleet: `--machines` twins in one site (10 lines), the catalogue's types in turn (so one in 16 is an
energy meter), created by one telemetry message each through the backend's consumer, with health, RUL and
strategy in their analytics. Last calendar month's data, bulk-loaded in SQL: each meter's `energy_kwh`
register once a minute (a daily load profile), turned into the 10 s / 1 min / 1 h / 1 d rollups by the
rollup refresher, as the backend does; alarms, anomaly events and data-quality counts per machine.

Each kind (maintenance, data_quality, energy) is run for the site over last month through the backend's
own `ReportRunner` (gather through the rooms' services, render PDF and CSV in a worker thread, store), not
emailed, `--runs` times; the figure is the median wall time of a run, with the PDF's pages and size.

`--first-pages DIR` renders each kind's first page (docs/screenshots/report-<kind>.png under `make bench`).

Prints Markdown; appends to `--out`; exits non-zero when a run failed or measured nothing."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT
from sqlalchemy.engine import make_url

from dtwin.config import Settings
from dtwin.contracts.alarms import PRIORITIES
from dtwin.contracts.catalogue import machine_catalogue
from dtwin.contracts.topics import RedisKeys
from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.core.migrate import upgrade_sync
from dtwin.lifecycle import partitions as parts
from dtwin.lifecycle.refresher import RollupRefresher
from dtwin.main import create_app
from dtwin.reports.periods import period_bounds
from dtwin.reports.schemas import ReportSpec
from dtwin.reports.service import ReportRunner, ReportService
from dtwin_devkit.bench.report import bench_settings, machine_description, publish
from dtwin_devkit.servers import running
from dtwin_devkit.testing import token_from_settings

SITE = "plant-1"
TARIFF: dict[str, Any] = {
    "name": SITE,
    "site": SITE,
    "currency": "EUR",
    "versions": [
        {
            "valid_from": "2026-01-01",
            "kind": "tou",
            "seasons": [
                {
                    "name": "year",
                    "from": "01-01",
                    "to": "12-31",
                    "bands": [
                        {"days": "weekday", "start": "00:00", "end": "07:00", "price": 0.18},
                        {"days": "weekday", "start": "07:00", "end": "22:00", "price": 0.31},
                        {"days": "weekday", "start": "22:00", "end": "24:00", "price": 0.18},
                        {"days": "weekend", "start": "00:00", "end": "24:00", "price": 0.16},
                    ],
                }
            ],
        }
    ],
}
KINDS = ("maintenance", "data_quality", "energy")
TARGET_S = 10.0


@dataclass
class Results:
    machines: int = 0
    meters: int = 0
    raw_readings: int = 0
    alarms: int = 0
    events: int = 0
    dq_rows: int = 0
    seed_s: float = 0.0
    refresh_s: float = 0.0
    seconds: dict[str, list[float]] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    pdf_bytes: dict[str, int] = field(default_factory=dict)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _fleet(machines: int) -> list[tuple[str, str, str, dict[str, float]]]:
    """(id, type, line, readings) per machine: the catalogue's types in turn, mid-range readings."""
    types = list(machine_catalogue().values())
    out = []
    for i in range(machines):
        t = types[i % len(types)]
        readings = {s.name: round((s.lo + s.hi) / 2, 3) for s in t.sensors}
        out.append((f"{t.name[:12]}-{i:04d}", t.name, f"line-{i % 10}", readings))
    return out


async def seed(
    app: Any, settings: Settings, redis: aioredis.Redis, start: datetime, end: datetime, out: Results
) -> None:
    fleet = _fleet(out.machines)
    keys = RedisKeys(settings.redis_prefix)
    bus = app.state.adapters.bus
    for machine_id, machine_type, line, readings in fleet:
        body = {
            "schema": 1,
            "machine_id": machine_id,
            "machine_type": machine_type,
            "site": SITE,
            "line": line,
            "ts": datetime.now(UTC).isoformat(),  # after the period: a meter's register there stays intact
            "readings": readings,
        }
        await bus.produce("telemetry.raw", orjson.dumps(body), key=machine_id.encode())
    twin_keys = [keys.twin(m) for m, *_ in fleet]
    deadline = time.monotonic() + 120
    while (n := int(await redis.exists(*twin_keys))) < out.machines:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {n} of {out.machines} twins after 120 s")
        await asyncio.sleep(0.5)
    # analytics as the scoring stage writes them: health, score, RUL (with its band) and strategy
    pipe = redis.pipeline(transaction=False)
    for i, key in enumerate(twin_keys):
        health = 40 + (i * 37) % 60
        rul = 3600.0 * (24 + (i * 53) % 2000)
        analytics = {
            "health": float(health),
            "score": round(((i * 17) % 100) / 100, 2),
            "is_anomaly": health < 45,
            "rul": {"seconds": rul, "lower_s": 0.7 * rul, "upper_s": 1.4 * rul},
            "strategy": "defensive" if health < 60 else "neutral",
            "ts": end.isoformat(),
        }
        # the fleet view's fields beside the analytics document, as the scoring stage writes them
        fields: dict[FieldT, EncodableT] = {
            "analytics": orjson.dumps(analytics),
            "health": float(health),
            "anomaly_score": float(str(analytics["score"])),
            "strategy": str(analytics["strategy"]),
        }
        pipe.hset(key, mapping=fields)
    await pipe.execute()

    # a time-of-use tariff for the site: weekday days dearer than nights and weekends
    headers = {"Authorization": f"Bearer {await token_from_settings(settings)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://b", headers=headers) as c:
        made = await c.post("/api/v1/tariffs", json=TARIFF)
        if made.status_code != 201:
            raise SystemExit(f"the tariff was refused: {made.status_code} {made.text}")

    meters = [(m, i) for i, (m, t, _, _) in enumerate(fleet) if t == "energy_meter"]
    out.meters = len(meters)
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    days = [(start + timedelta(days=d)).date() for d in range((end - start).days + 2)]
    async with transaction(sessions) as session:
        for table in parts.PARTITIONED:
            await parts.ensure_days(session, table, days)
    minutes = int((end - start).total_seconds() // 60)
    conn = await asyncpg.connect(_dsn(settings.database_url))
    try:
        # a register once a minute: 30 kW on average, +-15 kW over the day, 40% less at weekends, each
        # minute's energy +-20% at random (seeded), so forecasts have something to beat; it only ever rises
        await conn.execute("SELECT setseed(0.19)")
        # readings are stored one row per machine-instant (plain PostgreSQL): a one-sensor set
        await conn.execute(
            "INSERT INTO sensor_sets (sensors) VALUES ($1) ON CONFLICT DO NOTHING", ["energy_kwh"]
        )
        set_id = await conn.fetchval("SELECT id FROM sensor_sets WHERE sensors = $1", ["energy_kwh"])
        for machine_id, i in meters:
            await conn.execute(
                "INSERT INTO reading_rows (machine_id, ts, set_id, values, quality) "
                "SELECT $1, t, $5, ARRAY[$3 + sum(e) OVER (ORDER BY t)], 'good' FROM ("
                "SELECT t, (30 + 15 * sin(2 * pi() * extract(epoch FROM t) / 86400)) / 60 "
                "* (0.8 + 0.4 * random()) * (CASE WHEN extract(isodow FROM t) > 5 THEN 0.6 ELSE 1 END) AS e "
                "FROM (SELECT $2::timestamptz + k * interval '1 minute' AS t "
                "FROM generate_series(0, $4 - 1) k) ts) minutes",
                machine_id,
                start,
                1000.0 * (i % 7),
                minutes,
                set_id,
            )
        out.raw_readings = len(meters) * minutes
        ids = [m for m, *_ in fleet]
        types = {m: t for m, t, *_ in fleet}
        lines = {m: line for m, _, line, _ in fleet}
        span = (end - start).total_seconds()
        priorities = PRIORITIES
        alarm_rows = []
        event_rows = []
        for j, m in enumerate(ids):
            for k in range(3):  # three alarms a month per machine
                at = start + timedelta(seconds=span * ((j * 7 + k * 13) % 97) / 97)
                state = "normal" if k else "unack_active"
                alarm_rows.append(
                    (
                        m,
                        f"hi:temperature#{k}",
                        "threshold",
                        priorities[(j + k) % 4],
                        state,
                        types[m],
                        SITE,
                        lines[m],
                        "bench alarm",
                        1.0,
                        "{}",
                        at,
                        at,
                    )
                )
            for k in range(5):  # five anomaly events a month per machine
                at = start + timedelta(seconds=span * ((j * 11 + k * 19) % 101) / 101)
                event_rows.append((m, types[m], at, "end", at, 0.7, 0.9, 0.5, "residual", "[]"))
        await conn.executemany(
            "INSERT INTO alarms (machine_id, condition, source, priority, state, machine_type, site, line, "
            "message, value, details, shelved_until, suppressed, out_of_service, raised_at, updated_at, seq) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, NULL, false, false, $12, $13, 1)",
            alarm_rows,
        )
        await conn.executemany(
            "INSERT INTO anomaly_events (machine_id, machine_type, ts, kind, started_at, score, peak_score, "
            "threshold, detector, explanation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)",
            event_rows,
        )
        out.alarms, out.events = len(alarm_rows), len(event_rows)
        # data-quality counts: a gap-free month, but some late and out-of-range readings per machine-day
        out.dq_rows = int(
            await conn.fetchval(
                "WITH ins AS (INSERT INTO data_quality_counts (machine_id, rule, hour, count) "
                "SELECT m, r, $1::timestamptz + d * interval '1 day' + (length(m) % 24) * interval '1 hour', "
                "1 + (d * 7 + length(m)) % 9 FROM unnest($2::text[]) m, "
                "unnest(ARRAY['late', 'physical_range']) r, generate_series(0, $3 - 1) d "
                "WHERE (hashtext(m || r || d) % 3) = 0 RETURNING 1) SELECT count(*) FROM ins",
                start,
                ids,
                (end - start).days,
            )
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    t = time.perf_counter()
    refresher = RollupRefresher(sessions, tz=settings.plant_tz)
    while True:
        r = await refresher.refresh()
        if not r.ran or r.behind_s <= 0:
            break
    out.refresh_s = time.perf_counter() - t
    await engine.dispose()


def _first_page(pdf: bytes, png: Path) -> None:
    """The PDF's first page as a PNG (pdftoppm, 80 dpi): what docs/screenshots shows of each kind."""
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        stem = str(png.with_suffix(""))
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", f.name, stem], check=True
        )


def _pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


async def measure(args: argparse.Namespace) -> Results:
    out = Results(machines=args.machines)
    with running("postgres", "redis") as servers, tempfile.TemporaryDirectory() as tmp:
        db_url, redis_url = servers["postgres"].url, servers["redis"].url
        await asyncio.to_thread(upgrade_sync, db_url)
        settings = bench_settings(db_url, redis_url, Path(tmp), alarms_enabled=False, reports_enabled=False)
        redis = aioredis.from_url(redis_url)
        start, end = period_bounds("last_month", datetime.now(UTC), settings.plant_tz)
        t = time.perf_counter()
        seeding = create_app(settings)
        async with seeding.router.lifespan_context(seeding):
            await seed(seeding, settings, redis, start, end, out)
        out.seed_s = time.perf_counter() - t
        # a backend started on the seeded stores: its fleet view reads the analytics written beside the twins
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            runner: ReportRunner = app.state.report_runner
            for i in range(args.runs):
                for kind in KINDS:
                    spec = ReportSpec(
                        name=f"bench {kind}", kind=kind, scope="site", site=SITE, period="last_month"
                    )
                    t = time.perf_counter()
                    outcome = await runner.run(spec, start, end, trigger="api", email=False)
                    took = time.perf_counter() - t
                    if outcome is None or outcome.status != "succeeded":
                        raise SystemExit(f"the {kind} report failed: {outcome}")
                    out.seconds.setdefault(kind, []).append(took)
                    if i == 0:
                        async with transaction(runner.sessions) as session:
                            svc = ReportService(session, settings.plant_tz)
                            run, pdf = await svc.file(outcome.run_id, "pdf")
                            _, csv = await svc.file(outcome.run_id, "csv")
                        if args.files is not None:
                            args.files.mkdir(parents=True, exist_ok=True)
                            (args.files / f"report-{kind}.pdf").write_bytes(pdf)
                            (args.files / f"report-{kind}.csv").write_bytes(csv)
                        if args.first_pages is not None:
                            _first_page(pdf, args.first_pages / f"report-{kind}.png")
                        out.pages[kind] = _pages(pdf)
                        out.pdf_bytes[kind] = len(pdf)
                        out.summary[kind] = run.summary
        await redis.aclose()
    return out


def markdown(x: Results, took_s: float) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for kind in KINDS:
        s = x.seconds[kind]
        med = statistics.median(s)
        verdict = "met" if med < TARGET_S else "NOT met"
        rows.append(
            f"| {kind} | {med:.2f} (runs: {', '.join(f'{v:.2f}' for v in s)}) | {x.pages[kind]} "
            f"| {x.pdf_bytes[kind] / 1024:.0f} | {verdict} |"
        )
    e = x.summary.get("energy", {})
    m = x.summary.get("maintenance", {})
    return "\n".join(
        [
            f"### Monthly site report, {x.machines:,} machines (issue #19), {stamp}",
            "",
            f"Machine: {machine_description()}. `python -m dtwin_devkit.bench.reports` on throwaway "
            f"PostgreSQL 15 and Redis; took {took_s:.0f} s. One site of {x.machines:,} machines (the "
            f"catalogue's types in turn: {x.meters} energy meters), last calendar month: {x.raw_readings:,} "
            f"meter readings (one a minute) turned into rollups by the refresher ({x.refresh_s:.0f} s), "
            f"{x.alarms:,} alarms, {x.events:,} anomaly events, {x.dq_rows:,} data-quality count rows; "
            f"seeding took {x.seed_s:.0f} s. A run = the backend's `ReportRunner`: gather through the rooms' "
            "services, render PDF + CSV in a worker thread, store (no email). Median of the runs.",
            "",
            "| kind | seconds per run | PDF pages | PDF KiB | target < 10 s |",
            "| --- | ---: | ---: | ---: | --- |",
            *rows,
            "",
            f"Energy report figures: {e.get('Consumption kWh')} kWh, {e.get('Cost EUR')} EUR, "
            f"peak {e.get('Peak demand kW')} kW, "
            f"forecast MASE (last day) {e.get('Forecast MASE (last day)')}; maintenance: "
            f"{m.get('Machines')} machines, {m.get('Alarms raised')} alarms, {m.get('Anomaly events')} "
            "anomaly events.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=Path, help="Write each kind's PDF and CSV into this directory")
    parser.add_argument(
        "--first-pages", type=Path, help="Render each kind's first page as PNG into this directory"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    x = asyncio.run(measure(args))
    if not all(x.seconds.get(k) for k in KINDS) or not x.meters or not x.raw_readings:
        sys.exit("measured nothing: a report kind did not run, or no meter readings were seeded")
    if not x.summary.get("energy", {}).get("Consumption kWh"):
        sys.exit("measured nothing: the energy report found no consumption")
    publish(markdown(x, time.perf_counter() - started), args.out)


if __name__ == "__main__":
    main()
