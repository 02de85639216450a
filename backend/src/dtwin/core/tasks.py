"""Supervised background tasks: named, referenced, restarted with backoff on crash, cancelled cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)


@dataclass
class TaskInfo:
    name: str
    task: asyncio.Task[None]
    restarts: int = 0
    last_error: str | None = None


@dataclass
class TaskSupervisor:
    """Runs long-lived coroutines; a crash is logged and the coroutine restarted with capped backoff."""

    max_backoff_s: float = 30.0
    tasks: dict[str, TaskInfo] = field(default_factory=dict)

    def start(self, name: str, factory: Callable[[], Awaitable[None]], *, restart: bool = True) -> None:
        if name in self.tasks and not self.tasks[name].task.done():
            raise RuntimeError(f"task {name} already running")
        info = TaskInfo(name=name, task=None)  # type: ignore[arg-type]
        info.task = asyncio.create_task(self._run(info, factory, restart), name=name)
        self.tasks[name] = info

    async def _run(self, info: TaskInfo, factory: Callable[[], Awaitable[None]], restart: bool) -> None:
        backoff = 0.5
        while True:
            try:
                await factory()
                log.info("task_finished", task=info.name)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                info.restarts += 1
                info.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("task_crashed", task=info.name, restarts=info.restarts)
                if not restart:
                    return
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, self.max_backoff_s)

    def running(self, name: str) -> bool:
        info = self.tasks.get(name)
        return info is not None and not info.task.done()

    async def stop(self, name: str | None = None) -> None:
        names = [name] if name else list(self.tasks)
        for n in reversed(names):
            info = self.tasks.pop(n, None)
            if info is None:
                continue
            # some client libraries swallow one cancellation while waiting; insist, but never hang forever
            for _ in range(10):
                info.task.cancel()
                done, _ = await asyncio.wait({info.task}, timeout=0.5)
                if done:
                    break
            else:
                log.error("task_did_not_stop", task=n)
            if info.task.done() and not info.task.cancelled():
                with contextlib.suppress(Exception):
                    info.task.result()
