"""HTTP hardening every response gets: CORS only for the configured origins (none by default: the dashboard
is same-origin), and security headers. The dashboard's pages also get a Content-Security-Policy that lets them
load only their own scripts and talk only to this server (API and WebSocket); the API docs (`/docs`, which
load Swagger UI from a CDN) and the JSON API do not need one."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dtwin.config import Settings

HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
# Plotly sets inline styles on the charts it draws (style-src 'unsafe-inline'); images are data:/blob: URLs of
# the charts' exports. No inline script, no eval, no other origin.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
EXPOSED = ["etag", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]
NO_CSP_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/ws", "/healthz", "/readyz")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        dashboard = not str(scope.get("path", "")).startswith(NO_CSP_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if dashboard:
                    headers.setdefault("content-security-policy", DASHBOARD_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_hardening(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type", "if-match", "x-api-key"],
            expose_headers=[
                "etag",
                "retry-after",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
            ],
            max_age=600,
        )
