"""Rebuild the live twin state in Redis from the durable copies: the compacted `twin.state` topic first (the
whole hash of every twin, as last snapshotted), then PostgreSQL for what the topic lacks (registry: identity,
attributes, desired; readings: each sensor's newest value in the look-back window). Merges never overwrite
anything newer that live telemetry wrote meanwhile, so it is safe while the consumer runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.telemetry import iso_utc
from dtwin.kit.bus import TelemetryBus
from dtwin.readings.service import latest_per_sensor
from dtwin.twins.durable import TwinRegistry
from dtwin.twins.models import TwinRow
from dtwin.twins.store import TwinStore

log = structlog.get_logger(__name__)


def registry_fields(row: TwinRow) -> dict[str, str]:
    """A registry row as twin hash fields (restore's input)."""
    fields: dict[str, str] = {
        "machine_type": row.machine_type,
        "attributes": orjson.dumps(row.attributes).decode(),
        "desired": orjson.dumps(row.desired).decode(),
        "desired_version": str(row.desired_version),
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
        "op_at": iso_utc(row.updated_at),  # the registry is written on operator changes and device answers
    }
    if row.site:
        fields["site"] = row.site
    if row.line:
        fields["line"] = row.line
    command = row.command
    if command:
        fields.update(
            cmd_version=str(command.get("version", row.desired_version)),
            cmd_status=str(command.get("status") or "pending"),
            cmd_applied=orjson.dumps(command.get("applied") or {}).decode(),
            cmd_rejected=orjson.dumps(command.get("rejected") or {}).decode(),
            cmd_at=str(command.get("ts") or iso_utc(row.updated_at)),
        )
    return fields


@dataclass
class RebuildReport:
    from_topic: int = 0
    deleted: int = 0
    from_registry: int = 0
    from_readings: int = 0

    @property
    def restored(self) -> int:
        return self.from_topic + self.from_registry


async def rebuild(
    bus: TelemetryBus,
    store: TwinStore,
    sessions: async_sessionmaker[AsyncSession],
    *,
    topic: str,
    lookback: timedelta = timedelta(days=7),
) -> RebuildReport:
    report = RebuildReport()
    latest: dict[str, dict[str, str] | None] = {}
    for m in await bus.read_all(topic):
        if m.key is not None:
            latest[m.key.decode()] = orjson.loads(m.value)  # later records win: compaction semantics
    for machine_id, raw in latest.items():
        if raw is None:
            report.deleted += 1
            continue
        await store.restore(machine_id, raw)
        report.from_topic += 1

    # Every registered twin, also those the topic had: the registry holds the operator's state (attributes,
    # desired, the command outcome) as of the newest operator change, and that wins over a snapshot taken
    # after the loss (a twin that telemetry recreated has none); restore() compares their op_at.
    for row in await TwinRegistry(sessions).all():
        if row.id in latest and latest[row.id] is None:
            continue  # deleted
        await store.restore(row.id, registry_fields(row))
        if row.id not in latest:
            report.from_registry += 1

    deleted = {m for m, raw in latest.items() if raw is None}
    readings = await latest_per_sensor(sessions, datetime.now(UTC) - lookback)
    updates = []
    for machine_id, sensors in readings.items():
        if machine_id in deleted:
            continue
        newest = max(ts for _, ts in sensors.values())
        updates.append(
            TwinUpdate(
                id=machine_id,
                machine_type="unknown",
                site=None,
                line=None,
                ts=iso_utc(newest),
                quality="good",
                readings={s: v for s, (v, _) in sensors.items()},
                times={f"r:{s}": iso_utc(t) for s, (_, t) in sensors.items()},
            )
        )
    for i in range(0, len(updates), 500):
        changed = await store.apply(updates[i : i + 500], last_seen=iso_utc(datetime.now(UTC)))
        report.from_readings += len(changed)
    log.info(
        "twins_rebuilt",
        from_topic=report.from_topic,
        from_registry=report.from_registry,
        from_readings=report.from_readings,
        deleted=report.deleted,
    )
    return report
