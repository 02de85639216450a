"""Business rules of the forecast room: which history a forecast is fitted on (a machine sensor's 1-minute
rollups from the readings room; a meter's hourly consumption from the energy room's service), the fit off
the event loop (a process pool: `Forecaster`) and a small cache keyed by the last bucket, so a dashboard
refresh inside the same bucket does not refit."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import datetime, timedelta

import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.energy.service import EnergyService
from dtwin.forecast.model import LEVEL, Forecast, forecast, has_season
from dtwin.forecast.schemas import EnergyForecastRead, FittedOn, ForecastPoint, ForecastRead
from dtwin.readings.history import ArchiveIndex, History
from dtwin.twins.service import TwinService

log = structlog.get_logger(__name__)

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
SENSOR_LOOKBACK = timedelta(hours=12)  # 720 one-minute buckets: two hourly cycles and more
ENERGY_LOOKBACK = timedelta(days=28)  # four weeks: the weekly season needs two
MAX_GAP_SHARE = 0.2  # more missing buckets than this in the lookback: no forecast
CACHE_SIZE = 256
Key = tuple[str, str, str, int, datetime]


class Forecaster:
    """Fits forecasts in `pool` (None: the loop's default thread pool, for tests and tools) and remembers
    the newest `size` answers. Built once per process (main.py) and shared by requests."""

    def __init__(self, pool: Executor | None, size: int = CACHE_SIZE) -> None:
        self.pool, self.size = pool, size
        self._cache: OrderedDict[Key, Forecast] = OrderedDict()

    async def fit(
        self, key: Key, y: np.ndarray, horizon: int, seasons: Sequence[int], floor: float | None
    ) -> Forecast:
        got = self._cache.get(key)
        if got is not None:
            self._cache.move_to_end(key)
            return got
        loop = asyncio.get_running_loop()
        got = await loop.run_in_executor(self.pool, _fit, y, horizon, tuple(seasons), floor)
        self._cache[key] = got
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return got


def _fit(y: np.ndarray, horizon: int, seasons: tuple[int, ...], floor: float | None) -> Forecast:
    return forecast(y, horizon, seasons, level=LEVEL, floor=floor)


def regular(
    values: dict[datetime, float], start: datetime, end: datetime, step: timedelta
) -> tuple[np.ndarray, datetime | None, int]:
    """The values on a regular grid from the first known bucket in [start, end) to the last, gaps filled
    by linear interpolation; its first bucket and how many were missing."""
    known = sorted(t for t in values if start <= t < end)
    if not known:
        return np.zeros(0), None, 0
    n = int((known[-1] - known[0]) / step) + 1
    grid = [known[0] + i * step for i in range(n)]
    y = np.array([values.get(t, np.nan) for t in grid], dtype=np.float64)
    missing = np.isnan(y)
    if missing.any():
        idx = np.arange(n)
        y[missing] = np.interp(idx[missing], idx[~missing], y[~missing])
    return y, known[0], int(missing.sum())


def _points(f: Forecast, first: datetime, step: timedelta) -> list[ForecastPoint]:
    return [
        ForecastPoint(ts=first + i * step, mean=float(m), lo=float(lo), hi=float(hi))
        for i, (m, lo, hi) in enumerate(zip(f.mean, f.lo, f.hi, strict=True))
    ]


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


class ForecastService:
    def __init__(
        self,
        session: AsyncSession,
        twins: TwinService,
        energy: EnergyService,
        archive: ArchiveIndex | None,
        tz: str,
        forecaster: Forecaster,
    ) -> None:
        self.session, self.twins, self.energy = session, twins, energy
        self.archive, self.tz, self.forecaster = archive, tz, forecaster

    async def sensor(self, machine_id: str, sensor: str, horizon: int) -> ForecastRead:
        """The next `horizon` minutes of a sensor's 1-minute averages, fitted on the 12 h of whole minutes
        before the twin's newest reading. 404: no such twin."""
        twin = await self.twins.get(machine_id)
        out = ForecastRead(
            machine_id=machine_id,
            sensor=sensor,
            method="none",
            fitted_on=FittedOn(start=None, end=None, points=0),
            items=[],
            interval=LEVEL,
        )
        if twin.ts is None:
            return out.model_copy(update={"note": "the machine has reported nothing yet"})
        end = twin.ts.replace(second=0, microsecond=0)  # the newest whole minute ends here
        start = end - SENSOR_LOOKBACK
        rows, _, _ = await History(self.session, self.archive, self.tz).buckets(
            machine_id, "1m", sensor=sensor, start=start, end=end
        )
        values = {r.ts: r.sum / r.count for r in rows if r.sensor == sensor and r.count}
        y, first, missing = regular(values, start, end, MINUTE)
        if first is None:
            return out.model_copy(
                update={"note": f"no {sensor!r} readings in the {SENSOR_LOOKBACK} before {end}"}
            )
        last = first + (len(y) - 1) * MINUTE
        fitted = FittedOn(start=first, end=last, points=len(y))
        if missing > MAX_GAP_SHARE * len(y):
            note = f"{missing} of {len(y)} minutes missing in the history: too gappy to forecast"
            return out.model_copy(update={"fitted_on": fitted, "note": note})
        seasons = (60,) if has_season(y, 60) else ()
        f = await self.forecaster.fit(
            ("sensor", machine_id, sensor, horizon, last), y, horizon, seasons, None
        )
        gap_note = f"{missing} missing minutes interpolated" if missing else None
        return out.model_copy(
            update={
                "method": f.method,
                "fitted_on": fitted,
                "items": _points(f, last + MINUTE, MINUTE),
                "note": _join(f.note, gap_note),
            }
        )

    async def meter(self, meter: str, hours: int) -> EnergyForecastRead:
        """The next `hours` hours of a meter's consumption, fitted on the whole hours of the four weeks
        before its newest reading (the energy room's hourly consumption). 404: no such twin."""
        twin = await self.twins.get(meter)
        out = EnergyForecastRead(
            meter=meter,
            method="none",
            fitted_on=FittedOn(start=None, end=None, points=0),
            items=[],
            interval=LEVEL,
        )
        if twin.ts is None:
            return out.model_copy(update={"note": "the meter has reported nothing yet"})
        end = twin.ts.replace(minute=0, second=0, microsecond=0)  # the newest whole hour ends here
        start = end - ENERGY_LOOKBACK
        got = await self.energy.consumption("meter", meter, "hour", start, end)
        values = {b.start: b.kwh for b in got.items if b.kwh is not None}
        y, first, missing = regular(values, start, end, HOUR)
        if first is None:
            return out.model_copy(update={"note": got.note or "no whole hour of consumption yet"})
        last = first + (len(y) - 1) * HOUR
        fitted = FittedOn(start=first, end=last, points=len(y))
        if missing > MAX_GAP_SHARE * len(y):
            note = f"{missing} of {len(y)} hours missing in the history: too gappy to forecast"
            return out.model_copy(update={"fitted_on": fitted, "note": note})
        f = await self.forecaster.fit(("meter", meter, "energy_kwh", hours, last), y, hours, (24, 168), 0.0)
        gap_note = f"{missing} missing hours interpolated" if missing else None
        return out.model_copy(
            update={
                "method": f.method,
                "fitted_on": fitted,
                "items": _points(f, last + HOUR, HOUR),
                "note": _join(f.note, gap_note),
            }
        )
