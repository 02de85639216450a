"""`dtwin simulate --workers N`: N processes, each simulating a contiguous slice of the same fleet plan with
its own MQTT connection. Worker k's data depend only on (seed, k, N). Ground-truth and recording files are
written per worker and merged when all have finished."""

from __future__ import annotations

import contextlib
import heapq
import multiprocessing as mp
import queue
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from dtwin_pipeline.simulator.fleet import SimulatorConfig
from dtwin_pipeline.simulator.sinks import SimStats

SUMMED = ("messages", "readings", "errors", "commands", "acks", "faults", "active_faults", "machines")


def _part(path: str | Path | None, k: int) -> str | None:
    return None if path is None else f"{path}.worker{k}"


def _worker_main(
    cfg: SimulatorConfig,
    url: str,
    username: str | None,
    password: str | None,
    ground_truth: str | None,
    record: str | None,
    commands: bool,
    out: Any,
    log_json: bool,
    log_level: str,
    device_credentials: dict[str, str] | None = None,
) -> None:
    import asyncio

    from dtwin.kit.logging import configure_logging

    configure_logging(json=log_json, level=log_level)

    async def main() -> None:
        from dtwin_pipeline.simulator.runner import run_mqtt_simulator

        stats = SimStats()

        async def report() -> None:
            while True:
                out.put(("stats", cfg.worker, stats.snapshot()))
                await asyncio.sleep(0.5)

        reporter = asyncio.create_task(report())
        try:
            await run_mqtt_simulator(
                cfg,
                url,
                username,
                password,
                stats,
                ground_truth=ground_truth,
                record=record,
                commands=commands,
                device_credentials=device_credentials,
            )
        finally:
            reporter.cancel()
            out.put(("done", cfg.worker, stats.snapshot()))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def run_workers(
    cfg: SimulatorConfig,
    url: str,
    username: str | None,
    password: str | None,
    workers: int,
    *,
    ground_truth: str | Path | None = None,
    record: str | Path | None = None,
    commands: bool = True,
    device_credentials: dict[str, str] | None = None,
    on_stats: Callable[[SimStats], None] | None = None,
    log_json: bool = False,
    log_level: str = "INFO",
) -> SimStats:
    """Run the fleet in `workers` processes; returns the summed statistics."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = []
    for k in range(workers):
        wcfg = replace(cfg, worker=k, workers=workers)
        args = (wcfg, url, username, password, _part(ground_truth, k), _part(record, k), commands, out)
        extra = (log_json, log_level, device_credentials)
        p = ctx.Process(target=_worker_main, args=(*args, *extra), name=f"dtwin-sim-{k}")
        p.start()
        procs.append(p)
    latest: dict[int, dict[str, float]] = {}
    done: set[int] = set()
    total = SimStats()
    try:
        while len(done) < workers:
            try:
                kind, k, snap = out.get(timeout=0.5)
            except queue.Empty:
                if all(not p.is_alive() for p in procs):
                    break
                continue
            latest[k] = snap
            if kind == "done":
                done.add(k)
            total = _sum(latest, total.started)
            if on_stats is not None:
                on_stats(total)
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.terminate()
                p.join(5)
    failed = [p.name for p in procs if p.exitcode not in (0, None)]
    if failed:
        raise RuntimeError(f"simulator worker(s) failed: {', '.join(failed)}")
    if ground_truth is not None:
        merge_ground_truth([_part(ground_truth, k) for k in range(workers)], ground_truth)
    if record is not None:
        merge_recordings([_part(record, k) for k in range(workers)], record)
    return total


def _sum(latest: dict[int, dict[str, float]], started: float) -> SimStats:
    s = SimStats(started=started)
    for snap in latest.values():
        for name in SUMMED:
            setattr(s, name, getattr(s, name) + int(snap.get(name, 0)))
        s.lag_s = max(s.lag_s, float(snap.get("lag_s", 0.0)))
        s.ticks = max(s.ticks, int(snap.get("ticks", 0)))
        # the fleet's tick is as late as its latest worker's (each is monotonic: so is their maximum)
        s.late_ticks = max(s.late_ticks, int(snap.get("late_ticks", 0)))
        s.late_s = max(s.late_s, float(snap.get("late_s", 0.0)))
        s.run_s = max(s.run_s, float(snap.get("run_s", 0.0)))
    return s


def merge_ground_truth(parts: list[str | None], dest: str | Path) -> None:
    events: list[dict[str, Any]] = []
    for part in parts:
        if part and Path(part).exists():
            events.extend(orjson.loads(line) for line in Path(part).read_text().splitlines() if line.strip())
            Path(part).unlink()
    events.sort(key=lambda e: (e["start_s"], e["fault_id"], e["machine_id"]))
    Path(dest).write_text("".join(orjson.dumps(e).decode() + "\n" for e in events))


def merge_recordings(parts: list[str | None], dest: str | Path) -> None:
    """Merge per-worker recordings by timestamp. Each worker's own order is kept (heapq.merge never reorders
    within an input), so a machine's duplicates and late or out-of-order messages stay as published."""
    files = [Path(p) for p in parts if p and Path(p).exists()]
    handles = [f.open(encoding="utf-8") for f in files]
    try:
        header = ""
        for h in handles:
            header = h.readline() or header
        with Path(dest).open("w", encoding="utf-8") as out:
            out.write(header)
            out.writelines(heapq.merge(*handles, key=lambda row: row.split(",", 1)[0]))
    finally:
        for h in handles:
            h.close()
        for f in files:
            f.unlink()
