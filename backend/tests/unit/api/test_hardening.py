"""Security headers on every response, a Content-Security-Policy on the dashboard only, and CORS only for the
configured origins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from dtwin.config import Settings
from dtwin.main import create_app

from ...factories.auth import as_admin


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        await as_admin(app, "http://t") as c,
    ):
        yield c


async def test_the_dashboard_gets_a_csp_and_every_response_the_security_headers(
    embedded_settings: Settings, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>dtwin</title>")
    settings = embedded_settings.model_copy(update={"frontend_dist": dist})
    async with client_for(settings) as c:
        page = await c.get("/")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        api = await c.get("/api/v1/twins")
        assert api.status_code == 200 and "content-security-policy" not in api.headers
        for r in (page, api, await c.get("/healthz"), await c.get("/api/v1/twins/nope")):
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "no-referrer"


async def test_no_cors_unless_configured_and_then_only_for_those_origins(embedded_settings: Settings) -> None:
    preflight = {"origin": "https://hmi.example", "access-control-request-method": "PATCH"}
    async with client_for(embedded_settings) as c:
        r = await c.get("/api/v1/twins", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
        r = await c.options("/api/v1/twins", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
    settings = embedded_settings.model_copy(update={"cors_origins": ["https://hmi.example"]})
    async with client_for(settings) as c:
        r = await c.options("/api/v1/twins", headers=preflight)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://hmi.example"
        r = await c.get("/api/v1/twins", headers={"origin": "https://hmi.example"})
        assert r.headers["access-control-allow-origin"] == "https://hmi.example"
        r = await c.get("/api/v1/twins", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
        r = await c.options("/api/v1/twins", headers={**preflight, "origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
