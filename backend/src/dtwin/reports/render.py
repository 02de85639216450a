"""PDF (reportlab tables, matplotlib charts as PNG) and CSV of a `ReportContent`. Pure and CPU-bound: the
service calls `render` in a worker thread (asyncio.to_thread), never on the event loop. Charts use
matplotlib's object API on the Agg canvas (no pyplot global state, so threads do not share a figure)."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dtwin.reports.content import Cell, Chart, ReportContent

NO_DATA = "No data for this period."
MAX_CHART_BARS = 20


def _fmt(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _local(t: datetime, tz: str) -> str:
    return t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def period_text(c: ReportContent) -> str:
    return f"{_local(c.start, c.tz)} to {_local(c.end, c.tz)}"


def _chart_png(chart: Chart) -> bytes:
    labels, values = chart.labels, chart.values
    if chart.horizontal:  # a ranking: its first bars
        labels, values = labels[:MAX_CHART_BARS], values[:MAX_CHART_BARS]
    # imported when a chart is drawn, not with the CLI: matplotlib takes a quarter second to import and
    # writes its config and cache under $HOME (the compose provisioner runs `dtwin` with HOME on a volume)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(7.0, 3.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if chart.series:
        _lines(ax, chart)
    elif chart.horizontal:
        ax.barh(range(len(values)), values, color="#3b6ea5")
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(chart.xlabel)
    else:
        ax.bar(range(len(values)), values, color="#3b6ea5")
        step = max(1, math.ceil(len(labels) / 12))  # every bar, at most twelve tick labels
        ticks = list(range(len(labels)))[::step]
        ax.set_xticks(ticks, labels[::step], fontsize=8, rotation=30 if len(ticks) > 6 else 0)
        ax.set_ylabel(chart.xlabel)
    ax.set_title(chart.title, fontsize=10)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _lines(ax: Any, chart: Chart) -> None:
    """A line chart over the labels (every label drawn, ticks thinned to about a dozen)."""
    x = list(range(len(chart.labels)))
    if chart.band is not None:
        lo, hi = chart.band
        ax.fill_between(x, lo, hi, color="#e08a2c", alpha=0.18, linewidth=0, label=chart.band_name or None)
    for i, s in enumerate(chart.series):
        ys = [math.nan if v is None else v for v in s.values]
        ax.plot(
            x,
            ys,
            linestyle="--" if s.dashed else "-",
            color="#e08a2c" if s.dashed else ("#3b6ea5", "#555555")[i % 2],
            linewidth=1.4,
            label=s.name,
        )
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], chart.labels[::step], fontsize=7, rotation=30 if len(x) > 6 else 0)
    ax.set_ylabel(chart.xlabel)
    ax.legend(fontsize=7, loc="upper left")


def render_pdf(c: ReportContent) -> bytes:
    styles = getSampleStyleSheet()
    small = styles["BodyText"]
    story: list[object] = [
        Paragraph(escape(c.title), styles["Title"]),
        Paragraph(escape(f"Period: {period_text(c)}"), small),
        Paragraph(escape(f"Scope: {c.scope}" + (f" {c.site}" if c.site else "")), small),
        Paragraph(escape(f"Generated: {_local(c.generated_at, c.tz)}"), small),
        Spacer(1, 0.4 * cm),
    ]
    if not c.has_data:
        story += [Paragraph(NO_DATA, styles["Heading2"]), Spacer(1, 0.3 * cm)]
    if c.figures:
        story.append(Paragraph("Summary", styles["Heading2"]))
        story.append(_table([["Figure", "Value"], *[[f.label, _fmt(f.value)] for f in c.figures]]))
    if c.has_data:
        for chart in c.charts:
            if chart.drawn:
                story += [
                    Spacer(1, 0.3 * cm),
                    Image(io.BytesIO(_chart_png(chart)), 16 * cm, 16 * cm * 3.2 / 7),
                ]
    for t in c.tables:
        story.append(Paragraph(escape(t.title), styles["Heading2"]))
        if t.note:
            story.append(Paragraph(escape(t.note), small))
        if t.rows:
            story.append(_table([t.columns, *[[_fmt(v) for v in row] for row in t.rows]]))
        else:
            story.append(Paragraph("None in this period.", small))
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, title=c.title, leftMargin=1.6 * cm, rightMargin=1.6 * cm, topMargin=1.5 * cm
    )
    doc.build(story)
    return out.getvalue()


def _table(rows: list[list[str]]) -> Table:
    table = Table(rows, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6f0")),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def render_csv(c: ReportContent) -> bytes:
    """One file, sections one after another: `# title` lines, then the summary (figure,value), then each
    table with its header row, separated by an empty line."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([f"# {c.title}"])
    w.writerow(["# period", c.start.isoformat(), c.end.isoformat(), c.tz])
    w.writerow(["# scope", c.scope, c.site or ""])
    if not c.has_data:
        w.writerow([f"# {NO_DATA}"])
    w.writerow([])
    w.writerow(["## Summary"])
    w.writerow(["figure", "value"])
    for f in c.figures:
        w.writerow([f.label, _fmt(f.value)])
    for t in c.tables:
        w.writerow([])
        w.writerow([f"## {t.title}"])
        w.writerow(t.columns)
        for row in t.rows:
            w.writerow([_fmt(v) for v in row])
    return out.getvalue().encode()


def render(c: ReportContent, formats: list[str]) -> dict[str, bytes]:
    """Each requested format's bytes ("pdf", "csv")."""
    files: dict[str, bytes] = {}
    if "pdf" in formats:
        files["pdf"] = render_pdf(c)
    if "csv" in formats:
        files["csv"] = render_csv(c)
    return files
