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


class Chart(BaseModel):
    """A bar chart (horizontal when `horizontal`): one bar per label."""

    title: str
    labels: list[str]
    values: list[float]
    xlabel: str = ""
    horizontal: bool = False


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
