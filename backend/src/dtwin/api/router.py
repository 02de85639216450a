"""Mounts every domain router under /api/v1."""

from fastapi import APIRouter

from dtwin.anomalies.routes import router as analytics_router
from dtwin.machine_types.routes import router as machine_types_router
from dtwin.readings.routes import router as readings_router
from dtwin.twins.routes import router as twins_router

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(twins_router)
api_router.include_router(readings_router)
api_router.include_router(analytics_router)
api_router.include_router(machine_types_router)
