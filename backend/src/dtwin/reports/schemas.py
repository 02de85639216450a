"""API schemas of the reports room."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from dtwin.contracts.inputs import Instant
from dtwin.contracts.limits import MAX_REPORT_RUN_DAYS, PLACEMENT_PATTERN
from dtwin.reports.periods import Period, check_cron

# the kinds a report can be (kinds.py: each one's gatherer)
Kind = Literal["maintenance", "data_quality", "energy"]
Scope = Literal["fleet", "site"]
Format = Literal["pdf", "csv"]
RunStatus = Literal["running", "succeeded", "failed"]
MAX_RECIPIENTS = 50


def _email(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{address[:80]!r} is not an email address: {exc}") from exc


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]


class ReportSpec(BaseModel):
    """What a report covers: its kind, the fleet or one site, the period before each run (a full calendar
    day, ISO week or month in the plant's time zone, DTWIN_PLANT_TZ) and the formats it is rendered in."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=128)]
    kind: Kind
    scope: Scope = "fleet"
    site: Annotated[str | None, Field(pattern=PLACEMENT_PATTERN)] = None
    period: Period = "last_day"
    recipients: Annotated[list[Email], Field(max_length=MAX_RECIPIENTS)] = []
    formats: Annotated[list[Format], Field(min_length=1, max_length=2)] = ["pdf", "csv"]

    @model_validator(mode="after")
    def _site_with_site_scope(self) -> ReportSpec:
        if self.scope == "site" and self.site is None:
            raise ValueError("scope site needs a `site`")
        if self.scope == "fleet" and self.site is not None:
            raise ValueError("a `site` only goes with scope site")
        self.formats = sorted(set(self.formats))
        return self


class ReportDefinitionIn(ReportSpec):
    """A stored report: the spec, a cron schedule (five fields, read in the plant's time zone; null: on
    demand only) and whether the schedule is on."""

    schedule: Annotated[str | None, Field(max_length=128, examples=["0 6 * * *"])] = None
    enabled: StrictBool = True

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)


class ReportDefinitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    scope: str
    site: str | None
    period: str
    schedule: str | None
    recipients: list[str]
    formats: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    updated_by: str
    next_run_at: datetime | None = Field(default=None, description="When the schedule runs it next (UTC)")


class ReportRunRead(BaseModel):
    """One run. `summary` holds the report's headline figures (the same the PDF prints); the files are at
    /reports/runs/{id}.pdf and .csv (`formats`)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    definition_id: int | None
    scheduled_for: datetime | None
    kind: str
    spec: dict[str, Any]
    period_start: datetime
    period_end: datetime
    status: RunStatus
    has_data: bool | None
    summary: dict[str, Any]
    formats: list[str] = []
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    emailed_to: list[str]
    email_error: str | None
    trigger: str


class ReportList(BaseModel):
    definitions: list[ReportDefinitionRead]
    runs: list[ReportRunRead] = Field(description="The newest runs, newest first")


class RunRequest(BaseModel):
    """Run a report now: a stored definition (`definition_id`) or an ad-hoc `spec`; over its period before
    now, or over [start, end) when both are given. `email` false: store only, send nothing."""

    model_config = ConfigDict(extra="forbid")

    definition_id: Annotated[int | None, Field(strict=True, ge=1, le=2**63 - 1)] = None
    spec: ReportSpec | None = None
    start: Instant | None = None
    end: Instant | None = None
    email: StrictBool = True

    @model_validator(mode="after")
    def _one_source(self) -> RunRequest:
        if (self.definition_id is None) == (self.spec is None):
            raise ValueError("give either `definition_id` or `spec`")
        if (self.start is None) != (self.end is None):
            raise ValueError("give both `start` and `end`, or neither")
        for t in (self.start, self.end):
            if t is not None and t.tzinfo is None:
                raise ValueError("`start` and `end` need a time zone (e.g. Z)")
        if self.start is not None and self.end is not None:
            if self.start >= self.end:
                raise ValueError("`start` must be before `end`")
            if self.end - self.start > timedelta(days=MAX_REPORT_RUN_DAYS):
                raise ValueError(f"a report spans at most {MAX_REPORT_RUN_DAYS} days")
        return self
