"""The renderers: CSV sections, a PDF every page of which pdftoppm renders, whose text carries the figures;
a period without data gives a report saying so."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from dtwin.reports.content import Chart, Figure, ReportContent, Table
from dtwin.reports.render import NO_DATA, render
from tests.unit.reports.conftest import needs_poppler


def content(has_data: bool = True, rows: int = 3) -> ReportContent:
    return ReportContent(
        title="Maintenance report: fleet daily",
        kind="maintenance",
        scope="fleet",
        site=None,
        start=datetime(2026, 3, 29, 22, tzinfo=UTC),
        end=datetime(2026, 3, 30, 22, tzinfo=UTC),
        tz="Europe/Berlin",
        generated_at=datetime(2026, 3, 31, 4, tzinfo=UTC),
        has_data=has_data,
        figures=[Figure(label="Machines", value=rows), Figure(label="Mean health", value=87.25)],
        tables=[
            Table(
                title="RUL ranking",
                columns=["machine", "RUL h"],
                rows=[[f"pump-{i:04d}", 10.5 + i] for i in range(rows)],
            ),
            Table(title="Open commands", columns=["machine", "command"], rows=[]),
        ],
        charts=[Chart(title="RUL", labels=[f"pump-{i:04d}" for i in range(rows)], values=[1.0] * rows)],
    )


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pages_rendered(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "page")], check=True)
    return len(list(tmp_path.glob("page*.png")))


def test_csv_has_the_summary_and_every_table_as_sections() -> None:
    rows = list(csv.reader(io.StringIO(render(content(), ["csv"])["csv"].decode())))
    assert rows[0] == ["# Maintenance report: fleet daily"]
    assert ["figure", "value"] in rows
    assert ["Machines", "3"] in rows and ["Mean health", "87.25"] in rows
    i = rows.index(["## RUL ranking"])
    assert rows[i + 1] == ["machine", "RUL h"]
    assert rows[i + 2 : i + 5] == [["pump-0000", "10.50"], ["pump-0001", "11.50"], ["pump-0002", "12.50"]]
    assert ["## Open commands"] in rows


def test_only_the_requested_formats_are_rendered() -> None:
    assert set(render(content(), ["csv"])) == {"csv"}
    assert set(render(content(), ["pdf", "csv"])) == {"pdf", "csv"}


@needs_poppler
def test_pdf_renders_every_page_and_carries_the_figures(tmp_path: Path) -> None:
    pdf = render(content(rows=120), ["pdf"])["pdf"]  # a long table: several pages
    pages = pages_rendered(pdf, tmp_path)
    assert pages >= 3
    info = subprocess.run(["pdfinfo", str(tmp_path / "r.pdf")], capture_output=True, text=True, check=True)
    assert re.search(rf"^Pages:\s+{pages}$", info.stdout, re.M)
    text = pdf_text(pdf, tmp_path)
    assert "Machines" in text and "120" in text and "87.25" in text
    assert "pump-0119" in text and "129.50" in text
    assert "2026-03-30 00:00 CEST to 2026-03-31 00:00 CEST" in text


@needs_poppler
def test_a_period_without_data_says_so(tmp_path: Path) -> None:
    c = content(has_data=False, rows=0)
    files = render(c, ["pdf", "csv"])
    assert pages_rendered(files["pdf"], tmp_path) == 1
    assert NO_DATA in pdf_text(files["pdf"], tmp_path)
    assert f"# {NO_DATA}" in files["csv"].decode()
