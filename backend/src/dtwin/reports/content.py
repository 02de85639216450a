"""What a report says, independent of its format: headline figures, tables and charts of one period. The
gatherers (gather.py) fill it from the rooms' services; the renderers (render.py) turn it into PDF and CSV.
A new kind (energy) only adds a gatherer: the formats, storage, schedule and email stay as they are."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

Cell = str | int | float | None


class Figure(BaseModel):
    """One headline number: `label` and its `value` (as the PDF prints it and the API returns it)."""

    label: str
    value: int | float | str


class Table(BaseModel):
    title: str
    columns: list[str]
    rows: list[list[Cell]] = Field(default_factory=list)
    note: str | None = None  # printed under the title (e.g. "top 20 of 153")


class Series(BaseModel):
    """One line of a line chart: a value (or a gap) per label."""

    name: str
    values: list[float | None]
    dashed: bool = False


class Chart(BaseModel):
    """A bar chart (horizontal when `horizontal`): one bar per label. With `series`: a line chart instead,
    one line per series over the labels, and `band` (lower, upper per label) shaded behind them."""

    title: str
    labels: list[str]
    values: list[float] = Field(default_factory=list)
    xlabel: str = ""
    horizontal: bool = False
    series: list[Series] = Field(default_factory=list)
    band: tuple[list[float], list[float]] | None = None
    band_name: str = ""

    @property
    def drawn(self) -> bool:
        """Whether the chart has anything to draw."""
        return bool(self.values) or any(v is not None for s in self.series for v in s.values)


class ReportContent(BaseModel):
    title: str
    kind: str
    scope: str
    site: str | None
    start: datetime
    end: datetime
    tz: str
    generated_at: datetime
    has_data: bool = Field(description="False: the period has no data; the report says so")
    figures: list[Figure] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    charts: list[Chart] = Field(default_factory=list)

    def summary(self) -> dict[str, int | float | str]:
        """The headline figures by label (what a run stores and the API returns)."""
        return {f.label: f.value for f in self.figures}
