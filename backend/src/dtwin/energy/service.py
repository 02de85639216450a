"""Business rules of the energy room: tariffs (stored versions, validated by the schemas), and
consumption, cost, peak demand and the hour x weekday heatmap of meters, lines and sites.

Consumption is computed at hourly resolution from the meters' `energy_kwh` hourly buckets (the stored
rollups on PostgreSQL, raw readings on SQLite; meters.py says why buckets), priced hour by hour with the
site's tariff (cost engine: tariffs.py) and summed into the calendar buckets asked for in the plant's zone:
a day's time-of-use cost needs its hourly profile, so day/week/month costs are sums of hourly costs.
Peak demand comes from `energy_kwh` deltas per clock quarter-hour (15-minute buckets of the 1-minute
rollups) summed over the site's meters, x 4: the billing definition (average kW over the period), and a
meter that reports power_kw less often than energy still gets its peak right."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.energy.meters import FLAGS, Energy, bucket_energy
from dtwin.energy.models import FLEET_SCOPE, TariffRow, TariffVersionRow
from dtwin.energy.repository import TariffRepository
from dtwin.energy.schemas import (
    BucketName,
    ConsumptionBucket,
    ConsumptionRead,
    CounterFlags,
    Heatmap,
    MonthPeak,
    PeakList,
    Scope,
    TariffIn,
    TariffList,
    TariffRead,
    TariffVersionIn,
    TariffVersionRead,
)
from dtwin.energy.tariffs import WEEKDAYS, CostEngine
from dtwin.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from dtwin.readings.history import ArchiveIndex, History, Resolution
from dtwin.readings.rollups import Bucket, calendar_end, calendar_start

ENERGY = "energy_kwh"
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)
LOOKBACK = timedelta(days=1)  # how far before a window the counter's previous value is looked for
MAX_HOURS = {"hour": 24 * 93, "day": 24 * 400, "week": 24 * 7 * 60, "month": 24 * 31 * 25}
CALENDAR: dict[str, Bucket] = {"day": "1d", "week": "1w", "month": "1mo"}


class Fleet(Protocol):
    """Where machines sit (the twins room's TwinService): every twin as a dict with id, site, line and
    its latest readings."""

    async def fleet(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class Meter:
    id: str
    site: str | None
    line: str | None


def _flags(counts: dict[str, int] | None) -> CounterFlags:
    return CounterFlags(**(counts or {}))


def _add_flags(into: dict[str, int], more: dict[str, int] | None) -> None:
    for k in FLAGS:
        into[k] = into.get(k, 0) + (more or {}).get(k, 0)


def _version_read(row: TariffVersionRow) -> TariffVersionRead:
    return TariffVersionRead.model_validate(
        {
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "kind": row.kind,
            "price_per_kwh": row.price_per_kwh,
            "seasons": row.seasons,
        }
    )


def _version_in(row: TariffVersionRow) -> TariffVersionIn:
    return TariffVersionIn.model_validate(
        {
            "valid_from": row.valid_from.isoformat(),
            "valid_to": row.valid_to.isoformat() if row.valid_to else None,
            "kind": row.kind,
            "price_per_kwh": row.price_per_kwh,
            "seasons": row.seasons,
        }
    )


def _read(row: TariffRow, versions: Sequence[TariffVersionRow]) -> TariffRead:
    return TariffRead(
        id=row.id,
        name=row.name,
        site=None if row.scope == FLEET_SCOPE else row.scope,
        currency=row.currency,
        versions=[_version_read(v) for v in versions],
        version=row.version,
        updated_at=row.updated_at,
    )


def _version_rows(body: TariffIn) -> list[dict[str, Any]]:
    return [
        {
            "valid_from": v.valid_from,
            "valid_to": v.valid_to,
            "kind": v.kind,
            "price_per_kwh": v.price_per_kwh,
            "seasons": None if v.seasons is None else [s.model_dump(by_alias=True) for s in v.seasons],
        }
        for v in body.versions
    ]


@dataclass(slots=True)
class Priced:
    """One site's hourly energy and what prices it."""

    energy: Energy
    engine: CostEngine | None
    currency: str | None
    tariff_id: int | None


class EnergyService:
    def __init__(self, session: AsyncSession, twins: Fleet, archive: ArchiveIndex | None, tz: str) -> None:
        self.repo = TariffRepository(session)
        self.session, self.twins, self.archive, self.tz = session, twins, archive, tz

    # ----------------------------------------------------------------------------------------- tariffs
    async def list_tariffs(self) -> TariffList:
        return TariffList(items=[_read(t, v) for t, v in await self.repo.all()])

    async def get_tariff(self, tariff_id: int) -> TariffRead:
        got = await self.repo.get(tariff_id)
        if got is None:
            raise NotFound(f"no tariff with id {tariff_id}")
        return _read(*got)

    async def create_tariff(self, body: TariffIn) -> TariffRead:
        scope = body.site or FLEET_SCOPE
        if await self.repo.by_scope(scope) is not None:
            raise Conflict(
                f"a tariff for {'site ' + repr(body.site) if body.site else 'the fleet'} exists already: "
                "add a version to it with PUT"
            )
        row = await self.repo.add(scope, body.name, body.currency, datetime.now(UTC))
        await self.repo.replace_versions(row.id, _version_rows(body))
        return await self.get_tariff(row.id)

    async def replace_tariff(self, tariff_id: int, body: TariffIn, if_match: int | None) -> TariffRead:
        got = await self.repo.get(tariff_id)
        if got is None:
            raise NotFound(f"no tariff with id {tariff_id}")
        row, _ = got
        if if_match is not None and if_match != row.version:
            raise PreconditionFailed(f"tariff {tariff_id} is at version {row.version}, not {if_match}")
        scope = body.site or FLEET_SCOPE
        other = await self.repo.by_scope(scope)
        if other is not None and other[0].id != tariff_id:
            raise Conflict(f"tariff {other[0].id} has that scope already")
        row.scope, row.name, row.currency = scope, body.name, body.currency
        row.version += 1
        row.updated_at = datetime.now(UTC)
        await self.repo.replace_versions(tariff_id, _version_rows(body))
        return await self.get_tariff(tariff_id)

    async def tariff_for(self, site: str | None) -> tuple[CostEngine | None, str | None, int | None]:
        """The cost engine of a site's tariff (else the fleet default), its currency and id."""
        got = (await self.repo.by_scope(site) if site else None) or await self.repo.by_scope(FLEET_SCOPE)
        if got is None:
            return None, None, None
        row, versions = got
        engine = CostEngine([_version_in(v).to_version() for v in versions], self.tz)
        return engine, row.currency, row.id

    # ----------------------------------------------------------------------------------------- meters
    async def fleet_meters(self) -> list[Meter]:
        """Every energy meter of the fleet (twins reporting `energy_kwh`), by id."""
        return sorted(
            (
                Meter(t["id"], t.get("site"), t.get("line"))
                for t in await self.twins.fleet()
                if ENERGY in (t.get("readings") or {})
            ),
            key=lambda m: m.id,
        )

    async def meters(self, scope: Scope, scope_id: str) -> list[Meter]:
        """The energy meters of a scope: twins reporting `energy_kwh` (a meter by id: that twin)."""
        fleet = await self.twins.fleet()
        if scope == "meter":
            twin = next((t for t in fleet if t["id"] == scope_id), None)
            if twin is None:
                raise NotFound(f"no twin with id {scope_id!r}")
            return [Meter(twin["id"], twin.get("site"), twin.get("line"))]
        key = "site" if scope == "site" else "line"
        return sorted(
            (
                Meter(t["id"], t.get("site"), t.get("line"))
                for t in fleet
                if t.get(key) == scope_id and ENERGY in (t.get("readings") or {})
            ),
            key=lambda m: m.id,
        )

    async def _energy(
        self, meters: Sequence[Meter], width: timedelta, start: datetime, end: datetime
    ) -> tuple[dict[str | None, Energy], str]:
        """Energy per bucket of `width` (1 h or 15 min) in [start, end), per site, summed over its meters."""
        history = History(self.session, self.archive, self.tz)
        resolution: Resolution = "1h" if width == HOUR else "15m"
        per_site: dict[str | None, Energy] = {}
        sources: set[str] = set()
        for m in meters:
            rows, source, _ = await history.buckets(
                m.id, resolution, sensor=ENERGY, start=start - LOOKBACK, end=end
            )
            if rows:
                sources.add(source)
            rows = [r for r in rows if r.ts < end]
            bucket_energy(rows, width.total_seconds(), start, per_site.setdefault(m.site, Energy()))
        return per_site, "+".join(sorted(sources)) or "none"

    async def _priced(self, per_site: dict[str | None, Energy]) -> list[Priced]:
        out = []
        for site, energy in per_site.items():
            engine, currency, tariff_id = await self.tariff_for(site)
            out.append(Priced(energy, engine, currency, tariff_id))
        return out

    def _align(self, bucket: BucketName, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        """[start, end) widened to whole buckets (hours, or local days, ISO weeks, months)."""
        last = end - timedelta(microseconds=1)
        if bucket == "hour":
            lo = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            hi = last.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + HOUR
            return lo, hi
        name = CALENDAR[bucket]
        return calendar_start(start, name, self.tz), calendar_end(
            calendar_start(last, name, self.tz), name, self.tz
        )

    def _window(self, bucket: BucketName, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        """The aligned window (`_align`); 422 when it holds more hours than MAX_HOURS allows the bucket."""
        lo, hi = self._align(bucket, start, end)
        if (hi - lo) / HOUR > MAX_HOURS[bucket]:
            raise InvalidInput(
                f"the window is too long for {bucket} buckets (at most {MAX_HOURS[bucket] // 24} days)"
            )
        return lo, hi

    def bucket_of(self, bucket: BucketName, ts: datetime) -> datetime:
        """The start of the bucket holding hour `ts` (the hour itself, or its local day, week, month)."""
        return ts if bucket == "hour" else calendar_start(ts, CALENDAR[bucket], self.tz)

    def _next(self, bucket: BucketName, ts: datetime) -> datetime:
        return ts + HOUR if bucket == "hour" else calendar_end(ts, CALENDAR[bucket], self.tz)

    async def consumption(
        self, scope: Scope, scope_id: str, bucket: BucketName, start: datetime, end: datetime
    ) -> ConsumptionRead:
        self._window(bucket, start, end)  # a window too long is a 422 before the fleet is read
        return await self.consumption_of(
            scope, scope_id, await self.meters(scope, scope_id), bucket, start, end
        )

    async def consumption_of(
        self,
        scope: Scope,
        scope_id: str,
        meters: Sequence[Meter],
        bucket: BucketName,
        start: datetime,
        end: datetime,
    ) -> ConsumptionRead:
        """`consumption` of the given meters (the scope only names them in the answer): for callers that
        already hold the meters, such as a report over many of them."""
        lo, hi = self._window(bucket, start, end)
        per_site, source = await self._energy(meters, HOUR, lo, hi) if meters else ({}, "none")
        priced = await self._priced(per_site)
        currencies = {p.currency for p in priced if p.currency is not None}
        one_currency = len(currencies) <= 1
        kwh: dict[datetime, float] = {}
        cost: dict[datetime, float] = {}
        flags: dict[datetime, dict[str, int]] = defaultdict(dict)
        for p in priced:
            hours = sorted(h for h in p.energy.kwh if lo <= h < hi)
            values = np.array([p.energy.kwh[h] for h in hours])
            if p.engine is not None:
                costs = p.engine.costs(hours, [h + HOUR for h in hours], values)
            else:
                costs = np.full(len(hours), np.nan)
            for h, e, c in zip(hours, values, costs, strict=True):
                b = self.bucket_of(bucket, h)
                kwh[b] = kwh.get(b, 0.0) + float(e)
                cost[b] = cost.get(b, 0.0) + float(c)
            for h, f in p.energy.flags.items():
                if lo <= h < hi:
                    _add_flags(flags[self.bucket_of(bucket, h)], f)
        items: list[ConsumptionBucket] = []
        total_flags: dict[str, int] = {}
        b = lo
        while b < hi:
            c = cost.get(b)
            items.append(
                ConsumptionBucket(
                    start=b,
                    end=self._next(bucket, b),
                    kwh=None if b not in kwh else round(kwh[b], 6),
                    cost=None if c is None or np.isnan(c) or not one_currency else round(c, 6),
                    flags=_flags(flags.get(b)),
                )
            )
            _add_flags(total_flags, flags.get(b))
            b = self._next(bucket, b)
        empty = not kwh
        costs_known = [i.cost for i in items if i.kwh is not None]
        note = None
        if not meters:
            note = f"no energy meters (twins reporting {ENERGY}) in {scope} {scope_id!r}"
        elif empty:
            note = f"no {ENERGY} readings in the window"
        elif not priced or all(p.engine is None for p in priced):
            note = "no tariff for this scope (nor a fleet default): costs are null"
        elif not one_currency:
            note = f"the meters' sites bill in different currencies ({', '.join(sorted(currencies))})"
        return ConsumptionRead(
            scope=scope,
            id=scope_id,
            bucket=bucket,
            start=lo,
            end=hi,
            tz=self.tz,
            currency=next(iter(currencies)) if len(currencies) == 1 else None,
            tariff_id=priced[0].tariff_id if len({p.tariff_id for p in priced}) == 1 else None,
            meters=[m.id for m in meters],
            total_kwh=round(sum(kwh.values()), 6),
            total_cost=(
                None
                if empty or any(c is None for c in costs_known)
                else round(sum(c for c in costs_known if c is not None), 6)
            ),
            flags=_flags(total_flags),
            empty=empty,
            note=note,
            source=source,
            items=items,
        )

    async def site_meters(self, site: str) -> list[Meter]:
        return await self.meters("site", site)

    # ----------------------------------------------------------------------------------------- peaks
    async def peaks(self, site: str, month: date, months: int) -> PeakList:
        meters = await self.site_meters(site)
        first = month
        for _ in range(months - 1):
            first = (first.replace(day=1) - timedelta(days=1)).replace(day=1)
        items: list[MonthPeak] = []
        zone = ZoneInfo(self.tz)
        m = first
        while m <= month:
            lo = datetime(m.year, m.month, 1, tzinfo=zone).astimezone(UTC)
            hi = calendar_end(lo, "1mo", self.tz)
            kw, at, intervals = await self.peak(meters, lo, hi)
            items.append(
                MonthPeak(month=f"{m:%Y-%m}", start=lo, end=hi, peak_kw=kw, at=at, intervals=intervals)
            )
            m = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
        empty = all(i.peak_kw is None for i in items)
        return PeakList(
            site=site,
            tz=self.tz,
            meters=[m_.id for m_ in meters],
            empty=empty,
            note=(
                f"no energy meters in site {site!r}"
                if not meters
                else (f"no {ENERGY} readings in the months asked" if empty else None)
            ),
            method="max over clock quarter-hours of the site's summed energy_kwh deltas x 4 (average kW)",
            items=items,
        )

    async def peak(
        self, meters: Sequence[Meter], start: datetime, end: datetime
    ) -> tuple[float | None, datetime | None, int]:
        """The peak demand of `meters` together in [start, end) (clock quarter-hours): the highest average
        kW, the start of its quarter-hour (the earliest of equal ones) and how many quarter-hours had data."""
        per_site, _ = await self._energy(meters, QUARTER, start, end) if meters else ({}, "none")
        slots: dict[datetime, float] = defaultdict(float)
        for energy in per_site.values():
            for ts, e in energy.kwh.items():
                if start <= ts < end:
                    slots[ts] += e
        if not slots:
            return None, None, 0
        at = max(slots, key=lambda t: (slots[t], -t.timestamp()))
        return round(slots[at] * 4, 6), at, len(slots)

    # ----------------------------------------------------------------------------------------- heatmap
    async def heatmap(self, site: str, start: datetime, end: datetime) -> Heatmap:
        lo, hi = self._align("hour", start, end)
        if (hi - lo) / HOUR > MAX_HOURS["day"]:
            raise InvalidInput(f"the window may span at most {MAX_HOURS['day'] // 24} days")
        meters = await self.site_meters(site)
        per_site, _ = await self._energy(meters, HOUR, lo, hi) if meters else ({}, "none")
        kwh = [[0.0] * 24 for _ in range(7)]
        seen: list[set[datetime]] = [set() for _ in range(7 * 24)]
        zone = ZoneInfo(self.tz)
        for energy in per_site.values():
            for ts, e in energy.kwh.items():
                if lo <= ts < hi:
                    local = ts.astimezone(zone)
                    kwh[local.weekday()][local.hour] += e
                    seen[local.weekday() * 24 + local.hour].add(ts)
        hours = [[len(seen[d * 24 + h]) for h in range(24)] for d in range(7)]
        empty = not any(any(row) for row in hours)
        return Heatmap(
            site=site,
            start=lo,
            end=hi,
            tz=self.tz,
            meters=[m.id for m in meters],
            weekdays=list(WEEKDAYS),
            kwh=[[round(v, 6) for v in row] for row in kwh],
            hours=hours,
            total_kwh=round(sum(map(sum, kwh)), 6),
            empty=empty,
            note=(
                f"no energy meters in site {site!r}"
                if not meters
                else (f"no {ENERGY} readings in the window" if empty else None)
            ),
        )
