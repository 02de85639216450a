"""Mounts every domain router under /api/v1, with what every operation there shares: the request guards
(unknown query parameters, control characters), the rate limits (api/ratelimit.py) and the error answers any
of them can give (401 no valid credentials, 403 a role too low, 422 invalid input,
429 a rate limit reached, 503 a backing service unreachable). The body
size limit is app-wide (api/guards.py, BodyLimit)."""

from fastapi import APIRouter, Depends

from dtwin.alarms.routes import router as alarms_router
from dtwin.alarms.routes import rules_router as alarm_rules_router
from dtwin.anomalies.routes import router as analytics_router
from dtwin.api.guards import check_request
from dtwin.api.ratelimit import rate_limit
from dtwin.audit.routes import router as audit_router
from dtwin.auth.routes import router as auth_router
from dtwin.data_quality.routes import router as data_quality_router
from dtwin.energy.routes import router as energy_router
from dtwin.energy.routes import tariffs_router
from dtwin.errors import problem_responses
from dtwin.forecast.routes import router as forecast_router
from dtwin.lifecycle.routes import router as lifecycle_router
from dtwin.machine_types.routes import router as machine_types_router
from dtwin.notifications.routes import router as notifications_router
from dtwin.readings.routes import router as readings_router
from dtwin.reports.routes import router as reports_router
from dtwin.twins.routes import router as twins_router
from dtwin.whatif.routes import router as whatif_router

api_router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(check_request), Depends(rate_limit)],
    responses=problem_responses(401, 403, 422, 429, 503),
)
api_router.include_router(auth_router)
api_router.include_router(twins_router)
api_router.include_router(whatif_router)
api_router.include_router(readings_router)
api_router.include_router(analytics_router)
api_router.include_router(machine_types_router)
api_router.include_router(audit_router)
api_router.include_router(notifications_router)
api_router.include_router(alarms_router)
api_router.include_router(alarm_rules_router)
api_router.include_router(lifecycle_router)
api_router.include_router(data_quality_router)
api_router.include_router(reports_router)
api_router.include_router(tariffs_router)
api_router.include_router(energy_router)
api_router.include_router(forecast_router)
