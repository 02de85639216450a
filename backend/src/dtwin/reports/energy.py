"""The energy report: consumption and cost of the period per calendar bucket, per site and per meter, peak
demand per site, and forecast vs actual for the period's last day. Everything comes from the energy room's
service (consumption, cost and peaks exactly as GET /energy/consumption and /energy/peaks compute them) and
the forecast room (the day-ahead forecast the dashboard would have drawn at that day's start)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from dtwin.energy.meters import FLAGS
from dtwin.energy.schemas import BucketName, ConsumptionRead
from dtwin.energy.service import HOUR, MAX_HOURS, EnergyService, Meter
from dtwin.forecast.model import LEVEL, coverage, mase
from dtwin.forecast.service import ENERGY_LOOKBACK, MAX_GAP_SHARE, Forecaster, regular
from dtwin.readings.rollups import calendar_end, calendar_start
from dtwin.reports.content import Cell, Chart, Figure, ReportContent, Series, Table
from dtwin.reports.gather import Sources, content_of
from dtwin.reports.schemas import ReportSpec

SEASONS = (24, 168)  # daily and weekly, as the forecast room fits a meter


def table_bucket(start: datetime, end: datetime) -> BucketName:
    """Hours for a day, local days up to a quarter, months beyond."""
    span = end - start
    if span <= timedelta(days=2):
        return "hour"
    return "day" if span <= timedelta(days=93) else "month"


@dataclass
class MeterPart:
    """One meter's share of the report: kWh and cost per table bucket and in all (cost None once a bucket
    with energy has no price), counter flags in the period, and its hourly kWh (the forecast's input)."""

    meter: Meter
    currency: str | None
    kwh: dict[datetime, float] = field(default_factory=dict)
    cost: dict[datetime, float | None] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAGS, 0))
    hourly: dict[datetime, float] = field(default_factory=dict)

    @property
    def total_kwh(self) -> float:
        return sum(self.kwh.values())

    @property
    def total_cost(self) -> float | None:
        return _sum_or_none(list(self.cost.values())) if self.kwh else None

    def add(
        self, got: ConsumptionRead, start: datetime, end: datetime, key: Callable[[datetime], datetime]
    ) -> None:
        """The read's buckets in [start, end), each into the table bucket `key` gives."""
        for b in got.items:
            if not start <= b.start < end:
                continue
            for f in FLAGS:
                self.flags[f] += int(getattr(b.flags, f))
            if b.kwh is None:
                continue
            _accumulate(self.kwh, self.cost, key(b.start), b.kwh, b.cost)


def _accumulate(
    kwh: dict[datetime, float], cost: dict[datetime, float | None], k: datetime, e: float, c: float | None
) -> None:
    """Add a bucket's energy and cost at `k` (the cost stays None once an unpriced bucket joins it)."""
    kwh[k] = kwh.get(k, 0.0) + e
    before = cost.get(k, 0.0)
    cost[k] = None if before is None or c is None else before + c


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _sum_or_none(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def last_day(start: datetime, end: datetime, tz: str) -> tuple[datetime, datetime]:
    """The period's last local day (its part inside the period), on whole hours."""
    day = max(calendar_start(end - timedelta(microseconds=1), "1d", tz), start)
    day = day.replace(minute=0, second=0, microsecond=0)
    return day, min(calendar_end(calendar_start(day, "1d", tz), "1d", tz), end)


async def _parts(
    service: EnergyService,
    meters: Sequence[Meter],
    bucket: BucketName,
    start: datetime,
    end: datetime,
    tz: str,
) -> list[MeterPart]:
    """Each meter's part. One hourly read per meter covers the period and the forecast's four weeks
    before its last day when that fits an hourly read (MAX_HOURS): day, week and month figures are sums of
    hours, exactly as the energy API sums them. Longer periods: the table's buckets and the hours for the
    forecast are read apart."""
    day, _ = last_day(start, end, tz)
    lo = min(start, day - ENERGY_LOOKBACK)
    one_read = (end - lo) / HOUR <= MAX_HOURS["hour"]

    def key(t: datetime) -> datetime:
        return service.bucket_of(bucket, t)

    out = []
    for m in meters:
        if one_read:
            hourly = await service.consumption_of("meter", m.id, [m], "hour", lo, end)
            part = MeterPart(m, hourly.currency)
            part.add(hourly, start, end, key)
        else:
            table = await service.consumption_of("meter", m.id, [m], bucket, start, end)
            part = MeterPart(m, table.currency)
            part.add(table, start, end, lambda t: t)
            hourly = await service.consumption_of("meter", m.id, [m], "hour", day - ENERGY_LOOKBACK, end)
        part.hourly = {b.start: b.kwh for b in hourly.items if b.kwh is not None}
        out.append(part)
    return out


async def energy(src: Sources, spec: ReportSpec, start: datetime, end: datetime) -> ReportContent:
    """Consumption and cost per bucket (hours for a day, local days, months past a quarter), per site (with
    its peak demand: highest 15-minute average kW in the period) and per meter (counter resets, rollovers,
    replacements and interpolated hours); forecast vs actual of the period's last day."""
    c = content_of(src, spec, start, end)
    tz = src.settings.plant_tz
    service = EnergyService(src.session, src.twins, src.archive, tz)
    meters = [m for m in await service.fleet_meters() if spec.scope == "fleet" or m.site == spec.site]
    bucket = table_bucket(start, end)
    parts = await _parts(service, meters, bucket, start, end, tz)
    currencies = sorted({p.currency for p in parts if p.currency is not None and p.kwh})
    mixed = len(currencies) > 1
    currency = currencies[0] if len(currencies) == 1 else None

    kwh: dict[datetime, float] = {}
    cost: dict[datetime, float | None] = {}
    sites: dict[str | None, list[MeterPart]] = {}
    for p in parts:
        for k, v in p.kwh.items():
            _accumulate(kwh, cost, k, v, p.cost.get(k))
        sites.setdefault(p.meter.site, []).append(p)
    total_kwh = sum(kwh.values())
    total_cost = None if mixed else _sum_or_none(list(cost.values()))

    site_rows: list[list[Cell]] = []
    peak_overall: tuple[float, datetime, str | None] | None = None
    for site, rows in sorted(sites.items(), key=lambda kv: str(kv[0])):
        kw, at, _ = await service.peak([p.meter for p in rows], start, end)
        if kw is not None and at is not None and (peak_overall is None or kw > peak_overall[0]):
            peak_overall = (kw, at, site)
        site_currencies = {p.currency for p in rows if p.currency is not None}
        site_rows.append(
            [
                site,
                len(rows),
                round(sum(p.total_kwh for p in rows), 3),
                _money(_sum_or_none([p.total_cost for p in rows if p.kwh])),
                next(iter(site_currencies)) if len(site_currencies) == 1 else None,
                kw,
                None if at is None else _local(at, tz),
            ]
        )

    meter_rows: list[list[Cell]] = [
        [
            p.meter.id,
            p.meter.site,
            p.meter.line,
            round(p.total_kwh, 3),
            _money(p.total_cost),
            *[p.flags[f] for f in FLAGS],
        ]
        for p in parts
    ]
    meter_rows.sort(key=lambda r: (-float(r[3] or 0.0), str(r[0])))
    flag_totals = {f: sum(p.flags[f] for p in parts) for f in FLAGS}

    label = "%H:00" if bucket == "hour" else ("%Y-%m" if bucket == "month" else "%a %m-%d")
    buckets = sorted(kwh)
    zone = ZoneInfo(tz)
    forecast = await _forecast_vs_actual(src, parts, start, end)

    money = f" {currency}" if currency else ""
    c.figures = [
        Figure(label="Meters", value=len(meters)),
        Figure(label="Consumption kWh", value=round(total_kwh, 3)),
        Figure(
            label=f"Cost{money}",
            value=(
                "mixed currencies: " + ", ".join(currencies)
                if mixed
                else ("n/a" if total_cost is None else round(total_cost, 2))
            ),
        ),
        Figure(label="Peak demand kW", value="n/a" if peak_overall is None else peak_overall[0]),
        Figure(
            label="Peak demand at",
            value="n/a" if peak_overall is None else f"{_local(peak_overall[1], tz)} ({peak_overall[2]})",
        ),
        *[Figure(label=f"Counter {f}", value=flag_totals[f]) for f in FLAGS],
        *forecast.figures,
    ]
    c.tables = [
        Table(
            title=f"Consumption per {bucket}",
            columns=["start", "kWh", f"cost{money}"],
            rows=[[_local(b, tz), round(kwh[b], 3), _money(cost[b])] for b in buckets],
            note=None if not mixed else "costs are per meter: the sites bill in different currencies",
        ),
        Table(
            title="Sites",
            columns=["site", "meters", "kWh", "cost", "currency", "peak kW", "peak at"],
            rows=site_rows,
        ),
        Table(
            title="Meters (largest consumption first)",
            columns=["meter", "site", "line", "kWh", "cost", *FLAGS],
            rows=meter_rows[: src.top * 5],
            note=f"top {src.top * 5} of {len(meter_rows)}" if len(meter_rows) > src.top * 5 else None,
        ),
        forecast.table,
    ]
    c.charts = [
        Chart(
            title=f"Consumption per {bucket} (kWh)",
            labels=[b.astimezone(zone).strftime(label) for b in buckets],
            values=[round(kwh[b], 3) for b in buckets],
            xlabel="kWh",
        ),
        Chart(
            title="Largest consumers (kWh)",
            labels=[str(r[0]) for r in meter_rows[: src.top]],
            values=[float(r[3] or 0.0) for r in meter_rows[: src.top]],
            xlabel="kWh",
            horizontal=True,
        ),
        *forecast.charts,
    ]
    c.has_data = bool(kwh)
    return c


def _local(t: datetime, tz: str) -> str:
    return t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@dataclass
class ForecastPart:
    figures: list[Figure]
    table: Table
    charts: list[Chart]


async def _forecast_vs_actual(
    src: Sources, parts: Sequence[MeterPart], start: datetime, end: datetime
) -> ForecastPart:
    """The period's last local day (or the whole period if shorter), hour by hour: the forecast fitted on
    the four weeks of the scope's hourly consumption before it (as GET /energy/forecast fits a meter:
    Holt-Winters, daily and weekly seasons, floor 0) against what was consumed; MASE against the in-sample
    seasonal-naive error, and how often the actual hour fell inside the 90% interval."""
    tz = src.settings.plant_tz
    day, day_end = last_day(start, end, tz)
    title = f"Forecast vs actual, {_local(day, tz)} to {_local(day_end, tz)} (kWh per hour)"
    columns = ["hour", "actual", "forecast", "lo", "hi"]
    none = ForecastPart([], Table(title=title, columns=columns), [])
    if not parts or day_end <= day:
        none.table.note = "no energy meters in the scope"
        return none
    train_start = day - ENERGY_LOOKBACK
    hourly: dict[datetime, float] = {}
    for p in parts:
        for h, v in p.hourly.items():
            hourly[h] = hourly.get(h, 0.0) + v
    y, first, missing = regular(hourly, train_start, day, HOUR)
    hours = [day + i * HOUR for i in range(int((day_end - day) / HOUR))]
    actual = np.array([hourly.get(h, math.nan) for h in hours])
    if first is None or missing > MAX_GAP_SHARE * len(y):
        none.table.note = "too little consumption history before the day to forecast it"
        none.figures = [Figure(label="Forecast MASE (last day)", value="n/a")]
        return none
    last = first + (len(y) - 1) * HOUR
    ahead = int((day_end - last) / HOUR) - 1  # steps from the hour after `last` to the day's last hour
    forecaster = src.forecaster or Forecaster(None)
    key = ("report", ",".join(p.meter.id for p in parts), "energy_kwh", ahead, last)
    f = await forecaster.fit(key, y, ahead, SEASONS, 0.0)
    if f.empty:
        none.table.note = f.note or "no forecast"
        none.figures = [Figure(label="Forecast MASE (last day)", value="n/a")]
        return none
    skip = len(f.mean) - len(hours)
    mean, lo, hi = f.mean[skip:], f.lo[skip:], f.hi[skip:]
    known = ~np.isnan(actual)
    score = mase(actual[known], mean[known], y, f.season) if known.any() else math.nan
    cover = coverage(actual[known], lo[known], hi[known])
    rows: list[list[Cell]] = [
        [
            _local(h, tz)[11:],
            None if math.isnan(a) else round(float(a), 3),
            round(float(m_), 3),
            round(float(l_), 3),
            round(float(h_), 3),
        ]
        for h, a, m_, l_, h_ in zip(hours, actual, mean, lo, hi, strict=True)
    ]
    n = int(known.sum())
    figures = [
        Figure(label="Forecast kWh (last day)", value=round(float(mean.sum()), 3)),
        Figure(label="Actual kWh (last day)", value=round(float(actual[known].sum()), 3)),
        Figure(label="Forecast MASE (last day)", value="n/a" if math.isnan(score) else round(score, 3)),
        Figure(
            label=f"Forecast interval coverage (nominal {round(100 * LEVEL)}%)",
            value="n/a" if math.isnan(cover) else f"{round(100 * cover)}% of {n} hours",
        ),
    ]
    table = Table(
        title=title,
        columns=columns,
        rows=rows,
        note=(
            f"{f.method}, fitted on {len(y)} hours before the day"
            + (f" ({missing} interpolated)" if missing else "")
            + "; MASE < 1: better than repeating the consumption of one season before"
        ),
    )
    chart = Chart(
        title="Forecast vs actual (kWh per hour)",
        labels=[_local(h, tz)[11:] for h in hours],
        series=[
            Series(name="actual", values=[None if math.isnan(a) else float(a) for a in actual]),
            Series(name="forecast", values=[float(v) for v in mean], dashed=True),
        ],
        band=([float(v) for v in lo], [float(v) for v in hi]),
        band_name="90% interval",
        xlabel="kWh",
    )
    return ForecastPart(figures, table, [chart])
