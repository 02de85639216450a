"""Energy endpoints: tariffs (admin writes), consumption and cost per meter/line/site and calendar bucket,
peak demand per month, and the hour x weekday heatmap (viewer reads). Buckets are calendar-aware in the
plant's zone (DTWIN_PLANT_TZ); a window without data answers `empty: true` with a note."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Response

from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.contracts.limits import MACHINE_ID_PATTERN, PLACEMENT_PATTERN
from dtwin.core.http import From, IfMatch, To, parse_if_match, require_json, window
from dtwin.energy.deps import EnergyServiceDep
from dtwin.energy.schemas import (
    BucketName,
    ConsumptionRead,
    Heatmap,
    PeakList,
    Scope,
    TariffIn,
    TariffList,
    TariffRead,
)
from dtwin.errors import InvalidInput, problem_responses

tariffs_router = APIRouter(prefix="/tariffs", tags=["energy"])
router = APIRouter(prefix="/energy", tags=["energy"], dependencies=[allow(Role.viewer)])
TariffId = Annotated[int, Path(ge=1, le=2**53, description="The tariff's id")]
ScopeId = Annotated[
    str,
    Query(
        min_length=1,
        max_length=128,
        pattern=MACHINE_ID_PATTERN,
        description="The meter's machine id, the line's or the site's name",
    ),
]
Site = Annotated[str, Query(pattern=PLACEMENT_PATTERN, description="The site")]
DEFAULT_SPAN: dict[str, timedelta] = {
    "hour": timedelta(days=1),
    "day": timedelta(days=31),
    "week": timedelta(weeks=12),
    "month": timedelta(days=365),
}


@tariffs_router.get("", response_model=TariffList, dependencies=[allow(Role.viewer)])
async def list_tariffs(service: EnergyServiceDep) -> TariffList:
    """Every tariff (one per site, and the fleet default with `site` null) with all its versions."""
    return await service.list_tariffs()


@tariffs_router.get(
    "/{tariff_id}",
    response_model=TariffRead,
    dependencies=[allow(Role.viewer)],
    responses=problem_responses(404),
)
async def get_tariff(tariff_id: TariffId, service: EnergyServiceDep, response: Response) -> TariffRead:
    tariff = await service.get_tariff(tariff_id)
    response.headers["ETag"] = f'"{tariff.version}"'
    return tariff


@tariffs_router.post(
    "",
    response_model=TariffRead,
    status_code=201,
    dependencies=[allow(Role.admin), Depends(require_json)],
    responses=problem_responses(400, 409, 413, 415),
)
async def create_tariff(body: TariffIn, service: EnergyServiceDep, response: Response) -> TariffRead:
    """Create the tariff of a site (or the fleet default): flat or time-of-use versions with validity
    dates. Overlapping versions, seasons or bands, a day time no band prices, a bad time → 422 naming the
    field; a second tariff for the same scope → 409 (add a version with PUT)."""
    tariff = await service.create_tariff(body)
    response.headers["ETag"] = f'"{tariff.version}"'
    return tariff


@tariffs_router.put(
    "/{tariff_id}",
    response_model=TariffRead,
    dependencies=[allow(Role.admin), Depends(require_json)],
    responses=problem_responses(400, 404, 409, 412, 413, 415),
)
async def replace_tariff(
    tariff_id: TariffId,
    body: TariffIn,
    service: EnergyServiceDep,
    response: Response,
    if_match: IfMatch = None,
) -> TariffRead:
    """Replace a tariff (its versions as a whole: add a new version and close the old one's `valid_to`);
    with `If-Match`, only if it is still at that version (412 otherwise)."""
    tariff = await service.replace_tariff(tariff_id, body, parse_if_match(if_match))
    response.headers["ETag"] = f'"{tariff.version}"'
    return tariff


@router.get("/consumption", response_model=ConsumptionRead, responses=problem_responses(404, 422))
async def consumption(
    service: EnergyServiceDep,
    scope: Annotated[Scope, Query(description="meter (a machine id), line or site")],
    id: ScopeId,
    bucket: Annotated[BucketName, Query(description="hour, or local day, ISO week, month")] = "day",
    from_: From = None,
    to: To = None,
) -> ConsumptionRead:
    """kWh and cost per bucket in [from, to) (default: the last day for hours, 31 days for days, 12 weeks,
    a year of months), widened to whole buckets in the plant's zone, with the counter's resets,
    rollovers, replacements and interpolated (gap) hours. Cost: hourly energy priced by the tariff of the
    meter's site (else the fleet default), time-of-use bands split pro rata, DST-correct."""
    start, end = window(from_, to, DEFAULT_SPAN[bucket])
    if start == end:
        raise InvalidInput("'from' must be before 'to'")
    if end - start > MAX_SPAN[bucket]:
        raise InvalidInput(
            f"at most {MAX_SPAN[bucket].days} days at bucket={bucket} (a coarser bucket or a shorter window)"
        )
    return await service.consumption(scope, id, bucket, start, end)


# the longest window per bucket: hourly costs are computed hour by hour in the request
MAX_SPAN = {
    "hour": timedelta(days=93),
    "day": timedelta(days=3 * 366),
    "week": timedelta(days=10 * 366),
    "month": timedelta(days=20 * 366),
}


def _month(text: str | None, tz: str) -> date:
    if text is None:
        now = datetime.now(UTC).astimezone(ZoneInfo(tz))
        return date(now.year, now.month, 1)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise InvalidInput("month must be YYYY-MM")
    if not 1900 <= int(text[:4]) < 9000:
        raise InvalidInput("month: years 1900-8999")
    return date(int(text[:4]), int(text[5:]), 1)


@router.get("/peaks", response_model=PeakList, responses=problem_responses(422))
async def peaks(
    service: EnergyServiceDep,
    site: Site,
    month: Annotated[
        str | None,
        Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (plant zone); default this month"),
    ] = None,
    months: Annotated[int, Query(ge=1, le=24, description="How many months, ending with `month`")] = 1,
) -> PeakList:
    """Peak demand per month: the highest average kW over a clock quarter-hour of the site's meters
    together, from their energy counters (energy_kwh deltas per 15 minutes x 4), and when it was."""
    return await service.peaks(site, _month(month, service.tz), months)


@router.get("/heatmap", response_model=Heatmap, responses=problem_responses(422))
async def heatmap(service: EnergyServiceDep, site: Site, from_: From = None, to: To = None) -> Heatmap:
    """kWh per weekday x local hour of day in [from, to) (default: the last 28 days) for a site's meters."""
    start, end = window(from_, to, timedelta(days=28))
    if start == end:
        raise InvalidInput("'from' must be before 'to'")
    if end - start > MAX_SPAN["day"]:
        raise InvalidInput(f"at most {MAX_SPAN['day'].days} days")
    return await service.heatmap(site, start, end)
