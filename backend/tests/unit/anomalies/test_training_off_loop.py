"""Retraining runs in a process pool: the event loop keeps serving while a model is fitted.

The check is relative, not a speed target: the loop's longest stall during the retrain must be a small
fraction of the retrain itself (a fit on the loop would stall it for the whole fit)."""

import asyncio
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from dtwin.anomalies.model_store import FileModelStore
from dtwin.anomalies.scoring import ScoringStage
from dtwin.anomalies.type_model import TrainingJob


class OneJobEngine:
    """Hands out one big training job and records what gets installed."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(60_000, 8))
        self.jobs = [TrainingJob("centrifugal_pump", X, tuple(f"s{i}" for i in range(8)), (None,) * 8)]
        self.installed: list[Any] = []

    def training_due(self) -> list[TrainingJob]:
        jobs, self.jobs = self.jobs, []
        return jobs

    def install_model(self, model: Any) -> None:
        self.installed.append(model)


async def test_retraining_does_not_block_the_event_loop(tmp_path: Path) -> None:
    engine = OneJobEngine()
    stage = ScoringStage(
        engine,
        redis=None,
        keys=None,
        bus=None,
        sessions=None,  # type: ignore[arg-type]
        events_topic="e",
        decisions_topic="d",
        model_store=FileModelStore(tmp_path),
    )
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    with ProcessPoolExecutor(max_workers=1) as pool:
        t0 = time.perf_counter()
        assert await stage.train_once(pool) == 1
        retrain_s = time.perf_counter() - t0
    stop.set()
    await tick
    assert engine.installed and engine.installed[0].version == 1  # fitted, persisted, installed
    print(
        f"retrain {retrain_s:.2f} s, longest event-loop stall {max(gaps) * 1000:.0f} ms over {len(gaps)} ticks"
    )
    assert max(gaps) < retrain_s / 4
    assert len(gaps) > 10
