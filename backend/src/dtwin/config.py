"""Settings: the backend's configuration, read from DTWIN_* environment variables, every default works in
embedded mode. What the pipeline reads too (services, Kafka, MQTT, topics, limits, logging, the embedded
simulator) is `dtwin.kit.settings.SharedSettings`, which this class extends."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from dtwin.kit.settings import SharedSettings

MODULE_FILE = Path(__file__)  # where the package runs from: decides the path defaults below


def source_root(module_file: Path | None = None) -> Path | None:
    """The repository root when this package runs from a source checkout (`<root>/backend/src/dtwin`, also an
    editable install), else None: an installed package (site-packages) has no repository around it."""
    package = (module_file or MODULE_FILE).resolve().parent
    if len(package.parents) < 3:
        return None
    root = package.parents[2]
    if (
        package.parent.name == "src"
        and (root / "backend" / "pyproject.toml").is_file()
        and not {"site-packages", "dist-packages"} & set(package.parts)
    ):
        return root
    return None


def default_data_dir(module_file: Path | None = None, cwd: Path | None = None) -> Path:
    """Where state goes unless DTWIN_DATA_DIR says: `<repo>/var` in a source checkout (`make demo`), else
    `var/` under the working directory (an installed package; container images set DTWIN_DATA_DIR=/data).
    docs/decisions.md says why not a per-user platform directory."""
    root = source_root(module_file)
    return root / "var" if root is not None else (cwd or Path.cwd()) / "var"


def default_frontend_dist(module_file: Path | None = None) -> Path | None:
    """The built dashboard of a source checkout; an installed package ships none (images set the path)."""
    root = source_root(module_file)
    return root / "frontend" / "dist" if root is not None else None


def _data_dir(data: dict[str, Any]) -> Path:
    return Path(data.get("data_dir") or default_data_dir())


class Settings(SharedSettings):
    """The backend's runtime configuration. A `None` service URL means "use the embedded adapter"."""

    # --- where state lives (the defaults of the paths below derive from it) ---
    data_dir: Path = Field(
        default_factory=lambda: default_data_dir(),
        description="State directory: the SQLite database, anomaly models and generated secrets unless "
        "their own settings say; default <repo>/var in a source checkout, else ./var",
    )

    # --- stores (None -> embedded adapter) ---
    redis_url: str | None = Field(
        default=None, description="redis://host:port/db; None = in-process fakeredis"
    )
    database_url: str = Field(
        default_factory=lambda data: f"sqlite+aiosqlite:///{_data_dir(data) / 'dtwin.db'}",
        description="SQLAlchemy async URL: postgresql+asyncpg://... or sqlite+aiosqlite:///path "
        "(default: dtwin.db in data_dir)",
    )

    # --- Kafka: the backend's own topics and consumer ---
    topic_state: str = Field(default="twin.state", description="Compacted topic of twin snapshots (rebuild)")
    state_snapshot_interval_s: float = Field(default=10.0, description="Telemetry-driven snapshots per twin")
    auto_rebuild: bool = Field(
        default=True,
        description="Rebuild the twins in Redis from their durable copies when Redis lost them (its epoch "
        "marker is missing: at startup, and checked every DTWIN_REDIS_CHECK_S)",
    )
    redis_check_s: float = Field(
        default=5.0, gt=0, le=300, description="How often a backend checks that Redis still has its twins"
    )
    rebuild_lookback_days: float = Field(
        default=7.0, description="Newest readings this far back fill the rebuild"
    )

    consumer_group: str = "dtwin-backend"
    consumer_max_records: int = 5000
    consumer_poll_timeout_ms: int = 200
    consumer_stall_after_s: float = Field(
        default=30.0,
        gt=0,
        description="A batch failing on infrastructure this long marks the consumer stalled (readyz 503)",
    )
    db_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="A database write of the consumer or scoring, or readiness's database check, that has "
        "not answered within this many seconds counts as the database being out (a hung server: twins stay "
        "live, the writes wait in the outage buffer)",
    )
    outage_buffer_readings: int = Field(
        default=500_000,
        ge=1000,
        le=50_000_000,
        description="Readings the consumer keeps in memory while PostgreSQL is out (twins stay live); when "
        "full it takes no more messages until the database is back",
    )

    # --- data lifecycle (lifecycle/: partitions, rollups, retention, archive; docs/operations.md) ---
    plant_tz: str = Field(
        default="UTC",
        description="The plant's time zone (IANA name): daily, weekly and monthly buckets start at its "
        "midnight",
    )
    lifecycle_enabled: bool = Field(
        default=True,
        description="Run the lifecycle task: rollup refresh, partitions ahead, rollup retention, archival",
    )
    rollup_interval_s: float = Field(
        default=10.0, gt=0, le=3600, description="How often the rollups are brought up to date"
    )
    rollup_grace_s: float = Field(
        default=60.0,
        ge=40,
        le=3600,
        description="Rollups are refreshed up to this long before now (later readings are still arriving)",
    )
    lifecycle_maintenance_s: float = Field(
        default=3600.0,
        gt=0,
        description="How often partitions are created ahead, rollups trimmed and due days archived",
    )
    partitions_ahead_days: int = Field(default=7, ge=1, le=90, description="Daily partitions created ahead")
    raw_retention_days: int = Field(
        default=30,
        ge=1,
        le=36500,
        description="Raw readings older than this are archived to Parquet, verified, then dropped (never "
        "before DTWIN_MAX_AGE_S has passed: telemetry may still be written there)",
    )
    rollup_retention_10s_days: int = Field(
        default=30, ge=0, description="10-second rollups kept (0: forever)"
    )
    rollup_retention_1m_days: int = Field(default=180, ge=0, description="1-minute rollups kept (0: forever)")
    rollup_retention_1h_days: int = Field(default=1825, ge=0, description="Hourly rollups kept (0: forever)")
    rollup_retention_1d_days: int = Field(default=0, ge=0, description="Daily rollups kept (0: forever)")
    archive_enabled: bool = Field(
        default=True, description="Archive raw readings past DTWIN_RAW_RETENTION_DAYS (false: keep them)"
    )
    archive_url: str | None = Field(
        default=None,
        description="Where archived days go: a directory or an fsspec URL (s3://bucket/prefix); default: "
        "archive/ in data_dir",
    )
    archive_options: dict[str, Any] = Field(
        default_factory=dict,
        description="fsspec storage options as JSON, e.g. "
        '{"endpoint_url": "http://minio:9000", "key": "...", "secret": "..."} for S3-compatible stores',
    )
    archive_days_per_run: int = Field(
        default=3, ge=1, le=365, description="Days archived per maintenance run (the rest wait for the next)"
    )
    restore_keep_days: int = Field(
        default=7,
        ge=1,
        description="A restored day stays in the database this long before it is archived again",
    )

    @field_validator("plant_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            return str(ZoneInfo(value))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)") from exc

    # --- alarms ---
    demo_seed: bool = Field(
        default=False,
        description="Seed demo alarm rules (hi on every catalogue sensor), an email route to the embedded "
        "mail sink and a fleet-default time-of-use tariff, each when there is none (`dtwin demo` sets it)",
    )
    alarms_enabled: bool = Field(
        default=True, description="Evaluate threshold rules and raise alarms in the consumer"
    )
    alarm_anomaly_score: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="An anomaly episode whose peak score reaches this raises an alarm (condition `anomaly`)",
    )
    alarm_rul_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 365,
        description="A machine whose estimated remaining useful life falls under this many hours gets a "
        "maintenance alarm (condition `rul`)",
    )
    alarm_dead_letters_per_min: float = Field(
        default=100.0,
        gt=0,
        description="More telemetry messages dead-lettered than this in a minute (per backend) raise a "
        "system alarm (condition `dead_letters`)",
    )
    alarm_rules_refresh_s: float = Field(
        default=5.0, gt=0, le=300, description="How often each backend checks the threshold rules for changes"
    )

    # --- scoring ---
    scoring_enabled: bool = Field(default=True, description="Score every reading in the consumer")
    models_dir: Path = Field(
        default_factory=lambda data: _data_dir(data) / "models",
        description="Persisted anomaly models (default: models/ in data_dir)",
    )
    training_interval_s: float = Field(default=30.0, description="How often due models are (re)trained")
    machine_types_refresh_s: float = Field(
        default=30.0, gt=0, description="How often the scoring engine re-reads the machine-type registry"
    )
    topic_anomaly_events: str = "anomaly.events"
    topic_decisions: str = "twin.decisions"
    scoring_evict_after_s: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="Drop a machine's scoring state after this long without telemetry (rebuilt on return)",
    )

    # --- data quality (data_quality/, docs/data-quality.md) ---
    data_quality_enabled: bool = Field(
        default=True,
        description="Run the cleansing rules in the consumer: physical ranges, gaps, late, clock offsets",
    )
    data_quality_gap_factor: float = Field(
        default=5.0, gt=1, description="A gap: no message for longer than this x the machine's usual interval"
    )
    data_quality_gap_floor_s: float = Field(
        default=10.0, gt=0, description="... and never for less than this many seconds"
    )
    data_quality_lateness_s: float = Field(
        default=5.0, ge=0, description="Late: older than the machine's newest message by more than this"
    )
    data_quality_clock_window_s: float = Field(
        default=60.0, gt=0, description="One clock-offset sample per machine per window (its smallest delay)"
    )
    data_quality_clock_windows: int = Field(
        default=15, ge=1, le=1000, description="The clock-offset estimate: median of this many last windows"
    )
    data_quality_clock_threshold_s: float = Field(
        default=2.0, gt=0, description="A device clock off by more than this counts under `clock_offset`"
    )
    data_quality_clock_correction: bool = Field(
        default=False,
        description="Shift the timestamps of devices whose clock is off beyond the threshold by the estimate",
    )
    data_quality_clock_max_correction_s: float = Field(
        default=3600.0,
        gt=0,
        description="Never correct by more than this (hours off: a backfill or a replay, not a clock)",
    )
    data_quality_flush_s: float = Field(
        default=10.0, gt=0, description="How often the data-quality counts, gaps and offsets are stored"
    )

    # --- Redis ---
    redis_prefix: str = "dtwin"

    # --- twins ---
    twin_expected_interval_s: float = Field(
        default=1.0,
        description="Expected telemetry interval unless a twin's attributes.expected_interval_s says",
    )

    # --- desired-state reconciler (twins/reconcile.py; one backend process at a time) ---
    reconcile_enabled: bool = Field(
        default=True, description="Re-send desired state that devices do not report (see docs/api.md)"
    )
    reconcile_interval_s: float = Field(default=30.0, gt=0, description="How often the reconciler looks")
    reconcile_resend_after_s: float = Field(
        default=60.0,
        gt=0,
        description="Re-send a twin's desired state this long after its command without the device "
        "reporting it; the wait doubles with every re-send of the same version",
    )
    reconcile_max_backoff_s: float = Field(
        default=900.0, gt=0, description="The longest wait between two re-sends to one machine"
    )
    reconcile_max_per_cycle: int = Field(
        default=500, ge=1, description="At most this many re-sends per pass (the most overdue first)"
    )

    # --- HTTP ---
    host: str = "127.0.0.1"
    port: int = 8000
    frontend_dist: Path | None = Field(
        default_factory=lambda: default_frontend_dist(),
        description="Built dashboard served at / (default: frontend/dist of a source checkout, else none)",
    )
    auto_migrate: bool = Field(default=True, description="Run Alembic migrations at startup")
    gc_tuning: bool = Field(
        default=True,
        description="After startup, freeze the objects alive then out of the cyclic garbage collector's "
        "scans and collect the youngest generation every 10,000 allocations instead of 700 "
        "(dtwin.core.runtime)",
    )
    malloc_tuning: bool = Field(
        default=True,
        description="At startup, fix glibc malloc's trim and mmap thresholds so the memory of a batch's "
        "numpy temporaries is reused by the next batch instead of handed back to the kernel and "
        "faulted in again (dtwin.core.runtime; no effect on other C libraries)",
    )
    ws_queue_size: int = Field(
        default=256, ge=8, description="Messages buffered per WebSocket client before it is dropped"
    )
    ws_heartbeat_s: float = Field(default=15.0, gt=0, description="WebSocket heartbeat period")
    ws_compression: bool = Field(
        default=False,
        description="Offer permessage-deflate to WebSocket clients. Off by default: compressing a client's "
        "frames costs the backend ~10 % of a core per client that follows the whole fleet at 50,000 "
        "readings/s (docs/decisions.md); turn it on where clients sit behind a slow link",
    )
    ws_max_lifetime_s: float = Field(
        default=3600.0, gt=0, description="A WebSocket connection is closed (4000) after this long"
    )
    ws_replay_entries: int = Field(
        default=2000,
        ge=10,
        description="Change-stream messages kept in Redis for WebSocket resume (capped stream)",
    )
    cors_origins: list[str] = Field(
        default=[],
        description="Origins allowed to call the API from a browser (CORS), e.g. https://hmi.plant.example; "
        "empty = none (the dashboard is served from the same origin and needs none)",
    )

    # --- auth ---
    jwt_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="HS256 key of access tokens (32+ characters); required with PostgreSQL, "
        "generated into state_dir in embedded mode",
    )
    access_token_ttl_s: int = Field(default=900, ge=30, le=86400, description="Access-token lifetime")
    auth_cache_s: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="How long a process trusts what it read of a user or API key (role, disabled, revoked); "
        "changes made through another process apply within this (0: read on every request)",
    )
    refresh_token_ttl_s: int = Field(
        default=14 * 86400, ge=300, description="Refresh-token lifetime (each use issues a new one)"
    )
    bootstrap_admin_password: SecretStr | None = Field(
        default=None, description="Password of the `admin` created when there is no user; else generated"
    )
    state_dir: Path | None = Field(
        default=None,
        description="Generated secrets (embedded JWT key, bootstrap admin password); default: beside the "
        "SQLite database, else data_dir",
    )

    # --- rate limits (moving window; "N/second|minute|hour|day", several as "10/minute;100/hour") ---
    rate_limit_enabled: bool = Field(
        default=True, description="Apply the rate limits below (off only for benchmarks, docs/operations.md)"
    )
    rate_limit_read: str = Field(
        default="600/minute", description="GET requests per identity (user, API key, else client IP)"
    )
    rate_limit_write: str = Field(
        default="120/minute", description="POST/PUT/PATCH/DELETE requests per identity"
    )
    rate_limit_login: str = Field(
        default="10/minute", description="Login calls per client IP, and per IP and user name"
    )
    rate_limit_refresh: str = Field(
        default="120/minute",
        description="Refresh calls per client IP (each dashboard page load is one; users behind one NAT "
        "address share it)",
    )
    rate_limit_login_failures: str = Field(
        default="20/hour", description="Failed logins per user name before its logins get 429"
    )

    # --- notifications (notifications/: email, webhook, sms; docs/operations.md "Notifications") ---
    notify_enabled: bool = Field(
        default=True,
        description="Run the notification dispatcher in this process (every backend may: they claim "
        "disjoint messages); false: this process only writes the outbox",
    )
    notify_smtp_host: str | None = Field(
        default=None,
        description="SMTP server for email notifications; unset: in embedded mode a built-in server writes "
        "each email as an .eml file into data_dir/mail, otherwise email notifications fail (and are retried)",
    )
    notify_smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port")
    notify_smtp_user: str | None = Field(default=None, description="SMTP login (none: no AUTH)")
    notify_smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    notify_smtp_from: str = Field(
        default="dtwin@localhost", max_length=320, description="From address of email notifications"
    )
    notify_smtp_tls: str = Field(
        default="starttls",
        pattern="^(none|starttls|tls)$",
        description="SMTP transport security: starttls (upgrade, port 587), tls (implicit, port 465), none",
    )
    notify_poll_interval_s: float = Field(
        default=2.0, gt=0, le=60, description="How often a dispatcher looks for due notifications"
    )
    notify_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts per notification before it is dead (retry: the API)"
    )
    notify_send_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="Longest wait for one send (SMTP or HTTP) before it fails"
    )
    notify_lease_s: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="A dispatcher that claimed a notification and did not write its outcome within this "
        "(killed mid-send) leaves it to another attempt; longer than notify_send_timeout_s",
    )
    notify_backoff_initial_s: float = Field(
        default=5.0, gt=0, le=3600, description="Wait after a notification's first failed attempt"
    )
    notify_backoff_max_s: float = Field(
        default=900.0, gt=0, le=86400, description="Longest wait between two attempts (exponential + jitter)"
    )
    notify_digest_threshold: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="A route's recipients get at most this many messages per digest window; more are "
        "collected into one summary sent a window later",
    )
    notify_digest_window_s: float = Field(
        default=300.0, gt=0, le=86400, description="The digest's window (flood protection per route)"
    )
    notify_concurrency: int = Field(
        default=16, ge=1, le=256, description="Notifications one dispatcher sends at the same time"
    )

    # --- reports (reports/: scheduled PDF/CSV reports by email; docs/reports.md) ---
    reports_enabled: bool = Field(
        default=True,
        description="Run the report scheduler in this process (every backend may: exactly one runs each "
        "due report)",
    )
    report_scheduler_interval_s: float = Field(
        default=30.0, gt=0, le=3600, description="How often the scheduler looks for due reports"
    )
    report_max_lateness_s: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="A firing missed by longer than this (every backend down) is skipped, not caught up",
    )
    report_lease_s: float = Field(
        default=300.0,
        ge=5,
        le=86400,
        description="A running report's lease, renewed every third of it while it runs; once it runs out "
        "(its backend died), another backend's scheduler takes the run over (scheduled runs) or marks it "
        "failed",
    )
    report_max_attempts: int = Field(
        default=3, ge=1, le=10, description="Takeovers of a scheduled run whose backend died, before it fails"
    )
    report_top: int = Field(
        default=20, ge=1, le=1000, description="Rows of a report's ranking tables (RUL, worst machines)"
    )

    @field_validator("notify_smtp_host", "notify_smtp_user", "notify_smtp_password", mode="before")
    @classmethod
    def _notify_empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("notify_lease_s")
    @classmethod
    def _notify_lease_outlasts_a_send(cls, value: float, info: Any) -> float:
        timeout = info.data.get("notify_send_timeout_s")
        if timeout is not None and value <= timeout:
            raise ValueError("must be longer than notify_send_timeout_s")
        return value

    @field_validator(
        "rate_limit_read",
        "rate_limit_write",
        "rate_limit_login",
        "rate_limit_refresh",
        "rate_limit_login_failures",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        parse(value)  # ValueError on a malformed limit: a startup error naming the setting
        return value

    @field_validator(
        "redis_url", "frontend_dist", "jwt_secret", "bootstrap_admin_password", "state_dir", mode="before"
    )
    @classmethod
    def _backend_empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_empty_is_default(cls, value: object) -> object:
        return default_data_dir() if value == "" else value

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()
