"""The reports API over the embedded app: definitions (422 naming a bad cron field), on-demand runs, the
stored PDF/CSV, whose figures equal the data-quality API's; a period without data gives a "no data" report."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from dtwin.core.db import transaction
from dtwin.data_quality.models import DataQualityCountRow
from dtwin.reports.render import NO_DATA
from tests.unit.reports.conftest import needs_poppler

HOUR = datetime(2026, 3, 2, 10, tzinfo=UTC)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(path), str(tmp_path / "p")], check=True)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


async def test_definitions_crud_and_cron_validation(client: httpx.AsyncClient) -> None:
    body = {
        "name": "daily",
        "kind": "maintenance",
        "schedule": "0 6 * * *",
        "recipients": ["ops@example.com"],
    }
    bad = await client.post("/api/v1/reports/definitions", json={**body, "schedule": "0 6 * *"})
    assert bad.status_code == 422, bad.text
    assert any(e["loc"][-1] == "schedule" for e in bad.json()["errors"]), bad.json()
    r = await client.post("/api/v1/reports/definitions", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["formats"] == ["csv", "pdf"] and created["next_run_at"] is not None
    assert (await client.post("/api/v1/reports/definitions", json=body)).status_code == 409
    site = await client.post("/api/v1/reports/definitions", json={**body, "name": "s", "scope": "site"})
    assert site.status_code == 422
    r = await client.put(f"/api/v1/reports/definitions/{created['id']}", json={**body, "schedule": None})
    assert r.status_code == 200 and r.json()["next_run_at"] is None
    listed = (await client.get("/api/v1/reports")).json()
    assert [d["name"] for d in listed["definitions"]] == ["daily"]
    assert (await client.delete(f"/api/v1/reports/definitions/{created['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/reports/definitions/{created['id']}")).status_code == 404


@needs_poppler
async def test_data_quality_report_figures_equal_the_api(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with transaction(app.state.adapters.sessions) as session:
        session.add_all(
            [
                DataQualityCountRow(machine_id="pump-1", rule="physical_range", hour=HOUR, count=17),
                DataQualityCountRow(machine_id="pump-1", rule="late", hour=HOUR, count=4),
                DataQualityCountRow(machine_id="pump-2", rule="physical_range", hour=HOUR, count=3),
            ]
        )
    span = {"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"}
    r = await client.post(
        "/api/v1/reports/run", json={"spec": {"name": "dq", "kind": "data_quality"}, **span, "email": False}
    )
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "succeeded" and run["has_data"] is True and run["formats"] == ["csv", "pdf"]
    api = (await client.get("/api/v1/data-quality", params={"from": span["start"], "to": span["end"]})).json()
    assert run["summary"]["Rule physical_range"] == api["counts"]["physical_range"] == 20
    assert run["summary"]["Rule late"] == api["counts"]["late"] == 4
    assert run["summary"]["Machines affected"] == api["machines_affected"] == 2
    assert run["summary"]["Issues"] == 24

    pdf = await client.get(f"/api/v1/reports/runs/{run['id']}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content, tmp_path)
    for label, value in run["summary"].items():
        printed = [line.split()[-1] for line in text.splitlines() if line.strip().startswith(label + " ")]
        assert printed and float(printed[0]) == float(value), (label, printed, value)
    csv_ = await client.get(f"/api/v1/reports/runs/{run['id']}.csv")
    assert csv_.status_code == 200 and "pump-1,21,17,0,0,4,0" in csv_.text

    listed = (await client.get("/api/v1/reports")).json()
    assert listed["runs"][0]["id"] == run["id"]


@needs_poppler
async def test_a_period_without_data_is_a_no_data_report(client: httpx.AsyncClient, tmp_path: Path) -> None:
    for kind in ("data_quality", "maintenance"):
        r = await client.post(
            "/api/v1/reports/run",
            json={
                "spec": {"name": kind, "kind": kind},
                "start": "2020-01-01T00:00:00Z",
                "end": "2020-01-02T00:00:00Z",
                "email": False,
            },
        )
        assert r.status_code == 201, r.text
        run = r.json()
        assert run["status"] == "succeeded" and run["has_data"] is False, run
        pdf = await client.get(f"/api/v1/reports/runs/{run['id']}.pdf")
        assert NO_DATA in pdf_text(pdf.content, tmp_path)


async def test_run_request_is_checked(client: httpx.AsyncClient) -> None:
    both = {"definition_id": 1, "spec": {"name": "x", "kind": "maintenance"}}
    assert (await client.post("/api/v1/reports/run", json=both)).status_code == 422
    assert (await client.post("/api/v1/reports/run", json={"definition_id": 999})).status_code == 404
    spec = {"name": "x", "kind": "maintenance"}
    reversed_ = {"spec": spec, "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
    assert (await client.post("/api/v1/reports/run", json=reversed_)).status_code == 422
    too_long = {"spec": spec, "start": "2024-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
    r = await client.post("/api/v1/reports/run", json=too_long)
    assert r.status_code == 422 and "at most 400 days" in r.text
    assert (await client.get("/api/v1/reports/runs/999.pdf")).status_code == 404
