"""The OpenAPI document as a file, for the generated TypeScript client (`dtwin openapi`, `make client`).
Builds the app on embedded settings and calls `app.openapi()`: no server, no lifespan, no services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dtwin.config import Settings


def openapi_document() -> dict[str, Any]:
    """The schema the backend serves at /openapi.json, independent of DTWIN_* service variables."""
    from dtwin.main import create_app

    settings = Settings(kafka_bootstrap=None, redis_url=None, frontend_dist=None)
    return create_app(settings).openapi()


def openapi_json() -> str:
    """Sorted keys and a stable indent, so the committed file only changes when the API does."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_openapi(out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(openapi_json(), encoding="utf-8")
