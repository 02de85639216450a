"""`python -m dtwin_devkit.bench.lifecycle`: what the data lifecycle costs and answers (issue #18), on
throwaway PostgreSQL (partitioned readings) and Redis:

1. **Ingest with rollups on vs off** (target: on >= 90% of off). The consumer's batch
   (`TelemetryConsumer.process_batch`: validate, COPY, Redis, registry, event log) over batches of 5,000
   machines x 10 sensors, one batch per second of plant time from now on (50,000 readings per batch: 1 Hz
   per series, 50k readings/s), interleaved: "off" without the late-reading marks in the insert, "on" with
   them; the rollup refresher runs every 10 s of plant time (as in the backend) over what both stored, and
   its time per reading is charged to the "on" side (sequentially: as if it ran on the consumer's core).
   Throughput = readings / (batch time [+ refresher time for those readings]), medians.
2. **A 90-day history at 1 h resolution over 1,000 machines x 8 sensors**, and a year at daily resolution
   (what the dashboard's chart reads). The hourly and daily rollups of 90 days / a year are bulk-loaded
   (17.3 M and 2.9 M rows: the rows a 90-day/365-day fleet history has at any raw rate; producing them
   through the refresher from raw readings is what part 1 measures); the query goes through the HTTP API
   (auth, rollup read, raw tail after the watermark, JSON). Target: < 200 ms p50.
3. **Archival of one day**, scaled down: a day partition of N rows (default 10 M; a day at 50k readings/s
   is 4.32 G) exported to Parquet (zstd), read back and checked, then dropped; rows/s and bytes/row, and
   the time a full 4.32 G-row day would take at that rate (linear extrapolation; a real day's export is
   COPY- and CPU-bound, so this is the honest first-order figure, not a measurement at that size).

Prints Markdown; appends to `--out`; exits non-zero when a part measured nothing."""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from dtwin.config import Settings
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.migrate import upgrade_sync
from dtwin.kit.bus import MemoryBus
from dtwin.lifecycle import partitions as parts
from dtwin.lifecycle.archiver import Archiver
from dtwin.lifecycle.refresher import RollupRefresher
from dtwin.main import create_app
from dtwin.readings.archive import ArchiveStore
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.rollups import WATERMARK
from dtwin_devkit.bench.pipeline import bench as pipeline_bench
from dtwin_devkit.bench.report import bench_settings, machine_description, publish
from dtwin_devkit.bench.scoring_share import SyntheticFleet, bench_consumer, messages
from dtwin_devkit.servers import running
from dtwin_devkit.testing import token_from_settings

FULL_DAY_ROWS = 50_000 * 86_400
REFRESH_EVERY_S = 10


@dataclass
class Results:
    pipeline_on: list[float] = field(default_factory=list)  # sustained readings/s, whole pipeline
    pipeline_off: list[float] = field(default_factory=list)
    off_ms: list[float] = field(default_factory=list)
    on_ms: list[float] = field(default_factory=list)
    refresh_us_per_reading: list[float] = field(default_factory=list)
    refresh_ms: list[float] = field(default_factory=list)
    batch_readings: int = 0
    hourly_ms: list[float] = field(default_factory=list)
    hourly_points: int = 0
    yearly_ms: list[float] = field(default_factory=list)
    yearly_points: int = 0
    rollup_rows: int = 0
    archive_rows: int = 0
    archive_bytes: int = 0
    archive_export_s: float = 0.0
    archive_verify_s: float = 0.0
    archive_drop_s: float = 0.0


def _dsn(url: str) -> str:
    u = make_url(url)
    return f"postgresql://{u.username}@{u.host}:{u.port}/{u.database}"


@asynccontextmanager
async def marks(on: bool) -> AsyncIterator[None]:
    """Rollups on: the insert marks late readings (what the backend does); off: it does not."""
    ReadingRepository.marks_late = on
    try:
        yield
    finally:
        ReadingRepository.marks_late = True


async def ingest(db_url: str, redis_url: str, out: Results, machines: int, sensors: int, pairs: int) -> None:
    s = Settings()
    redis = aioredis.from_url(redis_url)
    engine = create_engine(db_url)
    sessions = create_sessionmaker(engine)
    bus = MemoryBus()
    # the backend's cadence (every 10 s), with a short grace so that the bench's minute sees refreshes
    refresher = RollupRefresher(sessions, grace=timedelta(seconds=5))
    on, off = bench_consumer(s, bus, sessions, redis, "on"), bench_consumer(s, bus, sessions, redis, "off")
    fleet_on, fleet_off = (
        SyntheticFleet(machines, sensors, "on", 1),
        SyntheticFleet(machines, sensors, "off", 1),
    )
    out.batch_readings = machines * sensors
    offset = 0
    t0 = datetime.now(UTC).replace(microsecond=0)
    try:
        for k in range(3 + pairs):
            at = t0 + timedelta(seconds=k)  # plant time: one reading per series and second (1 Hz)
            a = messages(s.topic_telemetry, fleet_on.payloads(k, at=at), offset)
            b = messages(s.topic_telemetry, fleet_off.payloads(k, at=at), offset + machines)
            offset += 2 * machines
            order = [(True, on, a), (False, off, b)] if k % 2 == 0 else [(False, off, b), (True, on, a)]
            for rolled, consumer, batch in order:
                async with marks(rolled):
                    t = time.perf_counter()
                    await consumer.process_batch(batch)
                    dt = time.perf_counter() - t
                if k >= 3:
                    (out.on_ms if rolled else out.off_ms).append(1000 * dt)
            if k >= 3 and k % REFRESH_EVERY_S == 0:  # every 10 s of plant time, as in the backend
                r = await refresher.refresh(at + refresher.grace + timedelta(seconds=1))
                if r.raw_rows:
                    out.refresh_ms.append(1000 * r.seconds)
                    out.refresh_us_per_reading.append(1e6 * r.seconds / r.raw_rows)
    finally:
        await redis.aclose()
        await engine.dispose()


async def history(
    db_url: str, redis_url: str, out: Results, machines: int, sensors: int, queries: int
) -> None:
    """Bulk-load 90 days of hourly and a year of daily rollups, then time the API."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(7)
    ids = [f"hist-{j:04d}" for j in range(machines)]
    conn = await asyncpg.connect(_dsn(db_url))
    try:
        for table, step, count in (
            ("readings_1h", timedelta(hours=1), 90 * 24),
            ("readings_1d", timedelta(days=1), 365),
        ):
            buf = io.StringIO()
            rows = 0
            for m in ids:
                base = rng.uniform(30, 60)
                for s in range(sensors):
                    for i in range(count):
                        b = now - step * (count - i)
                        lo = base + s + rng.random()
                        # min, max, sum, count (3600: one reading a second), first, last
                        values = (lo, lo + 5, (lo + 2.5) * 3600, 3600, lo + 1, lo + 2)
                        buf.write("\t".join((m, f"s{s}", b.isoformat(), *map(str, values))) + "\n")
                        rows += 1
                if buf.tell() > 64 * 1024 * 1024:
                    await conn.copy_to_table(table, source=io.BytesIO(buf.getvalue().encode()))
                    buf = io.StringIO()
            if buf.tell():
                await conn.copy_to_table(table, source=io.BytesIO(buf.getvalue().encode()))
            out.rollup_rows += rows
        await conn.execute("ANALYZE readings_1h; ANALYZE readings_1d")
        await conn.execute(
            "INSERT INTO rollup_state (name, watermark, refreshed_at) VALUES ($1, $2, $2) "
            "ON CONFLICT (name) DO UPDATE SET watermark = EXCLUDED.watermark",
            WATERMARK,
            datetime.now(UTC),
        )
    finally:
        await conn.close()
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(db_url, redis_url, Path(tmp))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            headers = {"Authorization": f"Bearer {await token_from_settings(settings)}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b", headers=headers) as c:
                picked = rng.sample(ids, min(queries, len(ids)))
                for m in picked:
                    await c.post("/api/v1/twins", json={"id": m, "machine_type": "bench"})
                span = {"from": (now - timedelta(days=90)).isoformat(), "to": now.isoformat()}
                year: dict[str, str | int] = {
                    "from": (now - timedelta(days=365)).isoformat(),
                    "to": now.isoformat(),
                    "width": 1200,
                }
                for m in picked[:3]:  # warm the connections and plans
                    await c.get(
                        f"/api/v1/twins/{m}/history", params={**span, "bucket": "1h", "limit": 100_000}
                    )
                for m in picked:
                    t = time.perf_counter()
                    r = await c.get(
                        f"/api/v1/twins/{m}/history", params={**span, "bucket": "1h", "limit": 100_000}
                    )
                    out.hourly_ms.append(1000 * (time.perf_counter() - t))
                    out.hourly_points = len(r.json()["items"]) if r.status_code == 200 else 0
                    t = time.perf_counter()
                    r = await c.get(f"/api/v1/twins/{m}/series", params=year)
                    out.yearly_ms.append(1000 * (time.perf_counter() - t))
                    body = r.json() if r.status_code == 200 else {"sensors": {}}
                    out.yearly_points = sum(len(p["v"]) for p in body["sensors"].values())


async def archival(db_url: str, out: Results, rows: int) -> None:
    day: date = (datetime.now(UTC) - timedelta(days=60)).date()
    lo = parts.day_bounds(day)[0]
    engine = create_engine(db_url)
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await parts.ensure_days(session, "reading_rows", [day])
    conn = await asyncpg.connect(_dsn(db_url))
    try:
        # N rows spread over the day: 8 sensors per machine, machines x instants = N / 8
        per_instant = 1000
        instants = max(rows // (8 * per_instant), 1)
        step = 86_400 / instants
        sensors = [f"s{k}" for k in range(8)]
        await conn.execute("INSERT INTO sensor_sets (sensors) VALUES ($1) ON CONFLICT DO NOTHING", sensors)
        set_id = await conn.fetchval("SELECT id FROM sensor_sets WHERE sensors = $1", sensors)
        await conn.execute(
            f"INSERT INTO reading_rows_p{day:%Y%m%d} (machine_id, ts, set_id, values, quality) "  # noqa: S608
            "SELECT 'arch-' || lpad(m::text, 4, '0'), $1::timestamptz + (i * $2) * interval '1 second', "
            "$5, ARRAY[random() * 100, random() * 100, random() * 100, random() * 100, random() * 100, "
            "random() * 100, random() * 100, random() * 100], 'good' "
            "FROM generate_series(0, $3 - 1) i, generate_series(0, $4 - 1) m",
            lo,
            step,
            instants,
            per_instant,
            set_id,
        )
        out.archive_rows = int(
            await conn.fetchval(
                f"SELECT sum(cardinality(values)) FROM reading_rows_p{day:%Y%m%d}"  # noqa: S608
            )
        )
    finally:
        await conn.close()
    with tempfile.TemporaryDirectory() as tmp:
        archiver = Archiver(sessions, ArchiveStore(tmp))
        t = time.perf_counter()
        manifest = await archiver.export(day)
        out.archive_export_s = time.perf_counter() - t
        t = time.perf_counter()
        await archiver.verify(day)
        out.archive_verify_s = time.perf_counter() - t
        t = time.perf_counter()
        await archiver.drop(day, manifest)
        out.archive_drop_s = time.perf_counter() - t
        out.archive_bytes = manifest.bytes
        if manifest.rows != out.archive_rows:
            raise SystemExit(f"archived {manifest.rows} rows of {out.archive_rows}")
    await engine.dispose()


async def pipeline(out: Results, offered: float, seconds: float, rounds: int) -> None:
    """The real pipeline (bench.pipeline: simulator -> Mosquitto -> bridge -> Kafka -> backend) at an offered
    rate above what it sustains here, with the lifecycle on and off in turns; sustained rate of each run."""
    on = {"DTWIN_LIFECYCLE_ENABLED": "true", "DTWIN_ROLLUP_GRACE_S": "40", "DTWIN_ROLLUP_INTERVAL_S": "10"}
    off = {"DTWIN_LIFECYCLE_ENABLED": "false"}
    for i in range(rounds):
        for lifecycle in (True, False) if i % 2 == 0 else (False, True):
            runs = await pipeline_bench([offered], seconds, 10.0, on if lifecycle else off)
            if runs:
                (out.pipeline_on if lifecycle else out.pipeline_off).append(runs[0].sustained)


async def measure(args: argparse.Namespace) -> Results:
    out = Results()
    if args.pipeline_rounds:
        await pipeline(out, args.pipeline_offered, args.pipeline_seconds, args.pipeline_rounds)
    with running("postgres", "redis") as servers:
        db_url, redis_url = servers["postgres"].url, servers["redis"].url
        await asyncio.to_thread(upgrade_sync, db_url)
        await ingest(db_url, redis_url, out, args.machines, args.sensors, args.pairs)
        await history(db_url, redis_url, out, args.history_machines, 8, args.queries)
        await archival(db_url, out, args.archive_rows)
    return out


def markdown(x: Results, args: argparse.Namespace, took_s: float) -> str:
    med = statistics.median
    off, on = med(x.off_ms), med(x.on_ms)
    per_reading_ms = med(x.refresh_us_per_reading) / 1000
    refresh_share = per_reading_ms * x.batch_readings / off  # the refresher's time per batch, over a batch
    # the insert's marks: median of the per-pair ratios (interleaved pairs cancel the machine's drift)
    marks_ratio = med([a / b for a, b in zip(x.on_ms, x.off_ms, strict=False)])
    rate_off = x.batch_readings / (off / 1000)
    rate_on = rate_off / (marks_ratio + refresh_share)
    ratio = rate_on / rate_off
    export_rate = x.archive_rows / x.archive_export_s
    whole = x.archive_export_s + x.archive_verify_s + x.archive_drop_s
    full_day_h = FULL_DAY_ROWS / (x.archive_rows / whole) / 3600
    p50_hourly, p50_year = med(x.hourly_ms), med(x.yearly_ms)
    p90 = statistics.quantiles(x.hourly_ms, n=10)[-1] if len(x.hourly_ms) >= 10 else max(x.hourly_ms)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    pipe = ""
    if x.pipeline_on and x.pipeline_off:
        p_on, p_off = med(x.pipeline_on), med(x.pipeline_off)
        pipe_verdict = "met" if p_on >= 0.9 * p_off else "NOT met"
        runs_on = ", ".join(f"{v:,.0f}" for v in x.pipeline_on)
        runs_off = ", ".join(f"{v:,.0f}" for v in x.pipeline_off)
        pipe = (
            f"| **whole pipeline** at {args.pipeline_offered:,.0f} offered readings/s, lifecycle on / off, "
            f"sustained readings/s (runs: {runs_on} / {runs_off}) | {p_on:,.0f} / {p_off:,.0f} |\n"
            f"| whole pipeline on / off (target >= 90%: {pipe_verdict}) | {100 * p_on / p_off:.0f}% |\n"
        )
    verdict = "met" if ratio >= 0.9 else "NOT met"
    return "\n".join(
        [
            f"### Data lifecycle (issue #18), {stamp}",
            "",
            f"Machine: {machine_description()}. `python -m dtwin_devkit.bench.lifecycle` on throwaway "
            f"PostgreSQL 15 (partitioned readings) and Redis; took {took_s:.0f} s. Medians.",
            "",
            "| measure | value |",
            "| --- | ---: |",
            f"| consumer batch ({x.batch_readings:,} readings), rollups off, ms | {off:.0f} |",
            f"| consumer batch, rollups on (late-reading marks in the insert), ms | {on:.0f} |",
            f"| rollup refresh, per reading (10s+1m+1h+1d levels), µs | {1000 * per_reading_ms:.2f} |",
            f"| rollup refresh of {len(x.refresh_ms)} runs, each ms | {med(x.refresh_ms):.0f} |",
            f"| ingest, rollups off, readings/s | {rate_off:,.0f} |",
            f"| consumer batch with marks / without, median of interleaved pairs | {marks_ratio:.3f} |",
            f"| rollup refresh time per batch of readings / consumer batch | {100 * refresh_share:.1f}% |",
            f"| ingest, rollups on (batch x marks ratio + refresh charged), readings/s | {rate_on:,.0f} |",
            f"| consumer stage alone, on / off (the pessimistic bound; target >= 90%: {verdict}) "
            f"| {100 * ratio:.0f}% |",
            pipe.rstrip("\n"),
            f"| 90-day history at 1 h, one machine x 8 sensors ({x.hourly_points:,} points) over "
            f"{args.history_machines:,} machines' rollups ({x.rollup_rows:,} rows), HTTP p50 / p90, ms "
            f"(target < 200) | {p50_hourly:.0f} / {p90:.0f} |",
            f"| a year at daily resolution (`/series`, width 1200: {x.yearly_points:,} points), HTTP p50, ms "
            f"| {p50_year:.0f} |",
            f"| archival: one day partition of {x.archive_rows:,} rows, export (COPY -> Parquet zstd), s "
            f"| {x.archive_export_s:.1f} |",
            f"| archival: export rate, rows/s | {export_rate:,.0f} |",
            f"| archival: read back and check (sha256 + digest), s / drop, s "
            f"| {x.archive_verify_s:.1f} / {x.archive_drop_s:.2f} |",
            f"| archival: Parquet bytes per row | {x.archive_bytes / x.archive_rows:.1f} |",
            "| archival of a full 50k/s day (4.32 G rows) at this rate, extrapolated, hours "
            f"| {full_day_h:.1f} |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--machines", type=int, default=5000)
    parser.add_argument("--sensors", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=43, help="timed batch pairs (on/off)")
    parser.add_argument("--history-machines", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--archive-rows", type=int, default=10_000_000)
    parser.add_argument("--pipeline-rounds", type=int, default=2, help="on/off pairs of the whole pipeline")
    parser.add_argument("--pipeline-offered", type=float, default=48_000.0)
    parser.add_argument("--pipeline-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    x = asyncio.run(measure(args))
    if not (x.off_ms and x.on_ms and x.refresh_us_per_reading):
        sys.exit("measured nothing: no timed batch or no rollup refresh that read readings")
    if not (x.hourly_ms and x.hourly_points and x.yearly_points):
        sys.exit("measured nothing: the history queries returned no points")
    if not (x.archive_rows and x.archive_export_s > 0):
        sys.exit("measured nothing: no archived rows")
    if args.pipeline_rounds and not (
        x.pipeline_on and x.pipeline_off and min(x.pipeline_on + x.pipeline_off) > 0
    ):
        sys.exit("measured nothing: a pipeline run sustained no readings")
    publish(markdown(x, args, time.perf_counter() - started), args.out)


if __name__ == "__main__":
    main()
