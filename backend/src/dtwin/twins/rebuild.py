"""Rebuild the live twin state in Redis from the durable copies: each twin's snapshot on the compacted
`twin.state` topic (its whole hash, as last snapshotted) combined with its PostgreSQL registry row (identity,
attributes, desired state, command outcome: the operator's part wins from whichever copy is newer), one
restore per twin; then the readings (each sensor's newest value in the look-back window). Merges never
overwrite anything newer that live telemetry wrote meanwhile, so it is safe while the consumer runs."""

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
from dtwin.twins.store import OPERATOR_FIELDS, TwinStore

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


def combined(snapshot: dict[str, str] | None, registry: dict[str, str] | None) -> dict[str, str]:
    """One twin's durable copies as one restore: the snapshot's fields, the registry's where it has none;
    the operator's part (OPERATOR_FIELDS) as a group from the copy whose op_at is newer: the registry is
    written on every operator change and device answer, a snapshot taken after a loss has none."""
    if registry is None or snapshot is None:
        return registry or snapshot or {}
    out = {**registry, **snapshot}
    if registry.get("op_at", "") > snapshot.get("op_at", ""):
        for f in OPERATOR_FIELDS:
            out.pop(f, None)
        out.update({f: v for f, v in registry.items() if f in OPERATOR_FIELDS})
    out["updated_at"] = max(registry.get("updated_at", ""), snapshot.get("updated_at", ""))
    return out


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
    deleted = {m for m, raw in latest.items() if raw is None}
    registry = {row.id: row for row in await TwinRegistry(sessions).all() if row.id not in deleted}
    report.deleted = len(deleted)
    for machine_id in sorted((latest.keys() - deleted) | registry.keys()):
        snapshot, row = latest.get(machine_id), registry.get(machine_id)
        await store.restore(machine_id, combined(snapshot, registry_fields(row) if row else None))
        if snapshot is not None:
            report.from_topic += 1
        else:
            report.from_registry += 1

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
