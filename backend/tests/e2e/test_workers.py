"""`dtwin serve --workers 2` on the session's PostgreSQL, Redis and Tansu: two worker processes serve HTTP and
share their metrics through PROMETHEUS_MULTIPROC_DIR, so every scrape (whichever worker answers it) counts
every request, and both workers wrote their own files (issue #20: metrics multi-process safe)."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dtwin_devkit.servers import Server, free_port

from .stack import own_database, processes, stack_env, wait_ready

pytestmark = pytest.mark.slow
PASSWORD = secrets.token_urlsafe(24)
REQUESTS = 40


def requests_to(text: str, route: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "dtwin_http_requests_total" and s.labels.get("route") == route
    )


async def test_two_workers_sum_their_metrics(servers: dict[str, Server], uid: str, tmp_path: Path) -> None:
    name = f"workers{uid}"
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    env = {
        **stack_env(servers, "", name, port, tmp_path),
        "DTWIN_BOOTSTRAP_ADMIN_PASSWORD": PASSWORD,
        "DTWIN_DATA_DIR": str(tmp_path / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    base = f"http://127.0.0.1:{port}"
    with (
        own_database(servers, name) as url,
        processes({**env, "DTWIN_DATABASE_URL": url}, tmp_path, {"backend": ["serve", "--workers", "2"]}),
    ):
        async with httpx.AsyncClient(base_url=base) as http:
            await wait_ready(http, tmp_path)
            login = await http.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for _ in range(REQUESTS):  # a new connection each: the workers share the listening socket
            async with httpx.AsyncClient(base_url=base, headers=headers) as one:
                assert (await one.get("/api/v1/twins")).status_code == 200
        for _ in range(6):
            async with httpx.AsyncClient(base_url=base, headers=headers) as one:
                scrape = await one.get("/metrics")
            assert scrape.status_code == 200, scrape.text
            assert requests_to(scrape.text, "/api/v1/twins") == REQUESTS
        pids = {p.name.rsplit("_", 1)[-1] for p in metrics_dir.glob("counter_*.db")}
        assert len(pids) == 2, sorted(p.name for p in metrics_dir.iterdir())
