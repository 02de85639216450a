"""dtwin: an industrial digital-twin platform (telemetry ingest, live twin state, analytics, dashboard)."""

__version__ = "0.1.0"
