"""Twin rules: live state from Redis, desired-state changes published to Kafka for the devices."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
import structlog

from dtwin.contracts.changes import Status
from dtwin.contracts.commands import DesiredCommand
from dtwin.contracts.limits import MAX_DESIRED_BYTES
from dtwin.contracts.telemetry import iso_utc
from dtwin.errors import Conflict, DtwinError, InvalidInput, NotFound, PreconditionFailed
from dtwin.kit.bus import TelemetryBus
from dtwin.twins.aggregate import Aggregate, Group, aggregate
from dtwin.twins.durable import Durability
from dtwin.twins.events import TwinEventLog
from dtwin.twins.merge_patch import check_desired_patch, merge_patch
from dtwin.twins.query import Comparison, QueryError, page
from dtwin.twins.schemas import (
    AggregateGroup,
    CommandStatus,
    DesiredState,
    TwinAggregate,
    TwinCreate,
    TwinEventRead,
    TwinList,
    TwinRead,
    TwinStateAt,
)
from dtwin.twins.store import PreconditionMismatch, TwinStore
from dtwin.twins.timeline import (
    STATE_KINDS,
    Entry,
    attributes_at,
    command_at,
    current_life,
    desired_at,
    interval_of,
    newest,
    settings_at,
)
from dtwin.twins.view import FleetView

log = structlog.get_logger(__name__)

# the command of a twin without site/line: its device topic is unknown until the machine reports them
AWAITING_PLACEMENT = "awaiting_placement"
# outcomes whose desired state is sent again while the device does not report it (the reconciler): not yet
# answered, not handed to Kafka, or accepted by a device that later lost it (a reboot to its defaults while
# the broker had no retained copy). A `partial`/`rejected` answer is the device's word: sending the same
# document again would be refused the same way.
RESENDABLE = frozenset({"pending", "undelivered", "accepted"})


class NotDurable(DtwinError):
    status = 503
    title = "Change not stored durably"


class CommandNotDelivered(DtwinError):
    status = 503
    title = "Command not delivered"


def status_of(last_seen: str | None, interval_s: float, now: datetime) -> str:
    """online: heard from within 3 expected intervals (at least 5 s); stale: within 30 (at least 60 s);
    offline: longer, or never."""
    if not last_seen:
        return "offline"
    age = (now - datetime.fromisoformat(last_seen)).total_seconds()
    if age <= max(3 * interval_s, 5.0):
        return "online"
    if age <= max(30 * interval_s, 60.0):
        return "stale"
    return "offline"


@dataclass(frozen=True)
class TwinFilter:
    machine_type: str | None = None
    site: str | None = None
    line: str | None = None
    status: str | None = None
    health_lt: float | None = None
    where: tuple[Comparison, ...] = ()

    def select(self, twins: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The twins matching every filter (all of them when no filter is set)."""
        if self == EVERY_TWIN:
            return twins
        return [t for t in twins if self.matches(t)]

    def matches(self, t: dict[str, Any]) -> bool:
        if self.machine_type is not None and t["machine_type"] != self.machine_type:
            return False
        if self.site is not None and t["site"] != self.site:
            return False
        if self.line is not None and t["line"] != self.line:
            return False
        if self.status is not None and t["status"] != self.status:
            return False
        if self.health_lt is not None and (t["health"] is None or t["health"] >= self.health_lt):
            return False
        return all(c.matches(t) for c in self.where)


EVERY_TWIN = TwinFilter()


class TwinService:
    def __init__(
        self,
        store: TwinStore,
        bus: TelemetryBus | None = None,
        desired_topic: str = "twin.desired",
        expected_interval_s: float = 1.0,
        events: TwinEventLog | None = None,
        durable: Durability | None = None,
        view: FleetView | None = None,
        purge_history: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.purge_history = purge_history  # deletes a machine's stored readings (the readings room's)
        self.view = view
        self.events = events
        self.durable = durable
        self.bus = bus
        self.desired_topic = desired_topic
        self.expected_interval_s = expected_interval_s

    def interval_of(self, twin: dict[str, Any]) -> float:
        return interval_of(twin["attributes"], self.expected_interval_s)

    def with_status(self, twin: dict[str, Any], now: datetime) -> dict[str, Any]:
        twin["status"] = status_of(twin["last_seen"], self.interval_of(twin), now)
        return twin

    def with_status_many(self, twins: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """with_status over a fleet: the age limits become ISO strings once per expected interval, and a
        timestamp in our one format (`iso_utc`) compares like the instant it names."""
        cutoffs: dict[float, tuple[str, str]] = {}
        for t in twins:
            seen = t["last_seen"]
            interval = self.interval_of(t)
            cut = cutoffs.get(interval)
            if cut is None:
                cut = cutoffs[interval] = (
                    iso_utc(now - timedelta(seconds=max(3 * interval, 5.0))),
                    iso_utc(now - timedelta(seconds=max(30 * interval, 60.0))),
                )
            if not seen:
                t["status"] = "offline"
            elif len(seen) != len(cut[0]) or not seen.endswith("Z"):
                t["status"] = status_of(seen, interval, now)  # not our format: parse it
            else:
                t["status"] = "online" if seen >= cut[0] else "stale" if seen >= cut[1] else "offline"
        return twins

    async def fleet(self) -> list[dict[str, Any]]:
        """Every twin, decoded: from the in-process read model when it is current, else from Redis."""
        if self.view is not None and self.view.ready.is_set():
            return self.view.all()
        return await self.store.get_all()

    async def list(
        self,
        flt: TwinFilter | None = None,
        *,
        sort: str = "id",
        limit: int = 10_000,
        cursor: str | None = None,
    ) -> TwinList:
        """Twins matching the filter, sorted, one page at a time (cursor pagination)."""
        now = datetime.now(UTC)
        flt = flt or TwinFilter()
        matching = flt.select(self.with_status_many(await self.fleet(), now))

        try:
            items, next_cursor = page(matching, sort=sort, limit=limit, cursor=cursor)
        except QueryError as exc:
            raise InvalidInput(str(exc)) from exc
        return TwinList(
            items=[TwinRead.model_validate(t) for t in items], count=len(matching), next_cursor=next_cursor
        )

    async def aggregate(
        self, flt: TwinFilter, group_by: Sequence[tuple[str, ...]], aggs: Sequence[Aggregate]
    ) -> TwinAggregate:
        """The matching twins grouped, with the aggregates per group and over all (twins/aggregate.py);
        from the in-process read model when it is current."""
        matching = flt.select(self.with_status_many(await self.fleet(), datetime.now(UTC)))
        try:
            groups, total = aggregate(matching, group_by, aggs)
        except QueryError as exc:
            raise InvalidInput(str(exc)) from exc
        names = [".".join(f) for f in group_by]

        def read(g: Group, keyed: bool = True) -> AggregateGroup:
            key = dict(zip(names, g.key, strict=True)) if keyed else {}
            return AggregateGroup(key=key, count=g.count, values=g.values)

        return TwinAggregate(
            group_by=names,
            aggregates=[a.name for a in aggs],
            groups=[read(g) for g in groups],
            total=read(total, keyed=False),
        )

    async def get(self, machine_id: str) -> TwinRead:
        twin = await self.store.get(machine_id)
        if twin is None:
            raise NotFound(f"no twin with id {machine_id!r}")
        return TwinRead.model_validate(self.with_status(twin, datetime.now(UTC)))

    async def create(self, body: TwinCreate, actor: str | None = None) -> TwinRead:
        if not await self.store.create(
            body.id, body.machine_type, body.site, body.line, body.attributes, iso_utc(datetime.now(UTC))
        ):
            raise Conflict(f"twin {body.id!r} exists already")
        await self._persist(body.id)
        twin = await self.get(body.id)
        await self._log(twin.id, "created", body.model_dump(exclude={"id"}), twin.version, actor)
        return twin

    async def set_attributes(
        self, machine_id: str, attributes: dict[str, Any], actor: str | None = None
    ) -> TwinRead:
        if not await self.store.set_attributes(machine_id, attributes, iso_utc(datetime.now(UTC))):
            raise NotFound(f"no twin with id {machine_id!r}")
        await self._persist(machine_id)
        twin = await self.get(machine_id)
        await self._log(machine_id, "attributes", {"attributes": attributes}, twin.version, actor)
        return twin

    async def delete(self, machine_id: str, purge_history: bool = False, actor: str | None = None) -> None:
        """Remove the twin; with `purge_history`, its stored readings too. `actor`: who, for the change log
        (`user:<name>`, `api_key:<name>`, `anonymous`), as with the other operator changes."""
        if purge_history and self.purge_history is None:
            raise RuntimeError("this TwinService was built without a history purge")
        gone = await self.store.get(machine_id)
        if not await self.store.delete(machine_id):
            raise NotFound(f"no twin with id {machine_id!r}")
        if gone is not None:
            await self._clear_retained(TwinRead.model_validate(gone))
        await self._log(machine_id, "deleted", {"purge_history": purge_history}, None, actor)
        if purge_history and self.purge_history is not None:
            await self.purge_history(machine_id)
        if self.durable is not None:
            try:
                await self.durable.deleted(machine_id)
            except Exception as exc:
                log.error(
                    "twin_delete_not_durable", machine_id=machine_id, error=f"{type(exc).__name__}: {exc}"
                )
                raise NotDurable("twin deleted live but not in the durable copies; retry the delete") from exc

    async def _persist(self, machine_id: str) -> None:
        """Write the twin's durable copies (registry row + twin.state snapshot) after an operator change."""
        if self.durable is None:
            return
        twin = await self.store.get(machine_id)
        if twin is None:
            return
        try:
            await self.durable.saved(twin)
        except Exception as exc:
            log.error("twin_change_not_durable", machine_id=machine_id, error=f"{type(exc).__name__}: {exc}")
            raise NotDurable(
                "change applied to the live twin but not to its durable copies; send it again"
            ) from exc

    async def events_page(self, machine_id: str, **kw: Any) -> Sequence[TwinEventRead]:
        if self.events is None:
            return []
        return [TwinEventRead.model_validate(r) for r in await self.events.page(machine_id, **kw)]

    async def _log(
        self,
        machine_id: str,
        kind: str,
        details: dict[str, Any],
        version: int | None,
        actor: str | None = None,
        ts: datetime | None = None,
    ) -> None:
        if self.events is not None:
            await self.events.record(machine_id, ts or datetime.now(UTC), kind, details, version, actor)

    async def _set_command(self, machine_id: str, desired_version: int, status: str, now: str) -> None:
        """Set the newest command's status (not a device's answer: pending, undelivered,
        awaiting_placement) and log it as a `command` entry at the same instant, if the store took it (a
        newer command recorded meanwhile wins)."""
        if await self.store.set_command_status(machine_id, desired_version, status, now):
            details = {"version": desired_version, "status": status}
            await self._log(machine_id, "command", details, None, "system", datetime.fromisoformat(now))

    async def settings_history(
        self, machine_ids: Sequence[str], since: datetime, per_machine: int
    ) -> dict[str, builtins.list[TwinEventRead]]:
        """Each machine's `settings` change-log entries from `since` on (its reported settings over time,
        device times), oldest first, at most `per_machine` newest of each on average."""
        if self.events is None or not machine_ids:
            return {}
        rows = await self.events.settings_since(machine_ids, since, per_machine * len(machine_ids))
        out: dict[str, builtins.list[TwinEventRead]] = {}
        for r in rows:
            out.setdefault(r.machine_id, []).append(TwinEventRead.model_validate(r))
        return out

    async def ensure_exists(self, machine_id: str) -> None:
        if not await self.store.exists(machine_id):
            raise NotFound(f"no twin with id {machine_id!r}")

    async def desired(self, machine_id: str) -> DesiredState:
        return _desired_state(await self.get(machine_id))

    async def patch_desired(
        self, machine_id: str, patch: Any, if_match: int | None, actor: str | None = None
    ) -> DesiredState:
        """Apply a JSON merge patch to the desired state (optionally only if the desired version is
        `if_match`) and hand the new desired state to the devices via Kafka `twin.desired`. A twin without
        site/line stores it all the same; its command is `awaiting_placement` until the machine reports
        where it is (then the status watcher sends it)."""
        patch = check_desired_patch(patch)
        current = await self.store.get(machine_id)
        if current is None:
            raise NotFound(f"no twin with id {machine_id!r}")
        size = len(orjson.dumps(merge_patch(current["desired"], patch)))
        if size > MAX_DESIRED_BYTES:
            raise InvalidInput(f"the desired document would be {size} bytes, more than {MAX_DESIRED_BYTES}")
        now = iso_utc(datetime.now(UTC))  # the command's time on the twin and in the change log
        try:
            twin = await self.store.update_desired(machine_id, patch, if_match, now)
        except PreconditionMismatch as exc:
            raise PreconditionFailed(
                f"If-Match {if_match} does not match the current desired version {exc.current}; "
                "GET the twin and retry"
            ) from exc
        if twin is None:
            raise NotFound(f"no twin with id {machine_id!r}")
        read = TwinRead.model_validate(twin)
        await self._log(
            machine_id,
            "desired",
            {"patch": patch, "desired": read.desired, "desired_version": read.desired_version},
            read.version,
            actor,
            datetime.fromisoformat(now),
        )
        await self._persist(machine_id)
        if read.site is None or read.line is None:
            await self._set_command(machine_id, read.desired_version, AWAITING_PLACEMENT, now)
            return await self.desired(machine_id)
        await self._publish(read)
        return _desired_state(read)

    async def deliver_awaiting(self, machine_id: str) -> bool:
        """Send the newest command of a twin that was `awaiting_placement` once the twin has site and line.
        True if it was sent (the command is `pending` again)."""
        twin = await self.store.get(machine_id)
        if twin is None:
            return False
        read = TwinRead.model_validate(twin)
        cmd = read.command
        if cmd is None or cmd.status != AWAITING_PLACEMENT or cmd.version != read.desired_version:
            return False
        if read.site is None or read.line is None:
            return False
        # pending before the send: an answer from a quick device must not be overwritten afterwards
        await self._set_command(machine_id, read.desired_version, "pending", iso_utc(datetime.now(UTC)))
        await self._publish(read)
        log.info("desired_delivered_after_placement", machine_id=machine_id, version=read.desired_version)
        return True

    async def resend_desired(self, machine_id: str) -> bool:
        """Publish the twin's current desired document again, same version, through the path PATCH uses
        (Kafka `twin.desired`, retained on the device's topic by the bridge), when the device still does not
        report it: the delta is not empty and the newest command is `pending`, `undelivered` or `accepted`
        (RESENDABLE); one `awaiting_placement` goes out if the twin has its placement now. An `undelivered`
        command becomes `pending` before the send. True if sent; raises CommandNotDelivered when Kafka
        refuses it (the command is then `undelivered`). The device answers a version it has applied with
        the same ack again, which records the same outcome."""
        twin = await self.store.get(machine_id)
        if twin is None:
            return False
        read = TwinRead.model_validate(twin)
        cmd = read.command
        if cmd is None or cmd.version != read.desired_version or not read.delta:
            return False
        if read.site is None or read.line is None:
            return False
        if cmd.status == AWAITING_PLACEMENT:
            return await self.deliver_awaiting(machine_id)
        if cmd.status not in RESENDABLE:
            return False
        now = datetime.now(UTC)
        if cmd.status == "undelivered":
            await self._set_command(machine_id, read.desired_version, "pending", iso_utc(now))
        await self._publish(read)
        await self._log(
            machine_id,
            "desired_resent",
            {"desired_version": read.desired_version, "command_status": cmd.status, "delta": read.delta},
            read.version,
            "system",
        )
        return True

    async def _clear_retained(self, twin: TwinRead) -> None:
        """A deleted twin's retained desired document goes too (else a device that comes back under the id
        would get the old one). Best effort: the delete stands if Kafka refuses it (logged)."""
        if self.bus is None or twin.site is None or twin.line is None or twin.desired_version == 0:
            return
        cmd = DesiredCommand(
            machine_id=twin.id,
            site=twin.site,
            line=twin.line,
            version=twin.desired_version,
            desired={},
            ts=datetime.now(UTC),
            cleared=True,
        )
        try:
            fut = await self.bus.produce(
                self.desired_topic, cmd.model_dump_json(by_alias=True).encode(), key=twin.id.encode()
            )
            await asyncio.wait_for(fut, 10)
        except Exception as exc:
            log.error("desired_clear_failed", machine_id=twin.id, error=f"{type(exc).__name__}: {exc}")

    async def _publish(self, twin: TwinRead) -> None:
        assert self.bus is not None
        assert twin.site is not None
        assert twin.line is not None
        cmd = DesiredCommand(
            machine_id=twin.id,
            site=twin.site,
            line=twin.line,
            version=twin.desired_version,
            desired=twin.desired,
            ts=datetime.now(UTC),
        )
        try:
            fut = await self.bus.produce(
                self.desired_topic, cmd.model_dump_json(by_alias=True).encode(), key=twin.id.encode()
            )
            await asyncio.wait_for(fut, 10)
        except Exception as exc:
            log.error("desired_publish_failed", machine_id=twin.id, error=f"{type(exc).__name__}: {exc}")
            await self._set_command(twin.id, twin.desired_version, "undelivered", iso_utc(datetime.now(UTC)))
            raise CommandNotDelivered(
                "desired state stored, but the command could not be handed to Kafka; patch again to resend"
            ) from exc

    async def state_at(self, machine_id: str, at: datetime, newest_reading: datetime | None) -> TwinStateAt:
        """The twin as of `at`, rebuilt from its change log (twins/timeline.py): attributes, reported
        settings, desired state and version, the command, and the status computed as the live twin
        computes it, from the newest device time heard at or before `at` (`newest_reading`: the machine's
        newest stored reading then, from the readings room; or a settings change) and the expected
        interval of the attributes then. Raises InvalidInput for a future `at`, NotFound when the twin did
        not exist then: before its first change-log entry with nothing heard from the machine (readings,
        settings) by then, or after a deletion and before what came next."""
        if at > datetime.now(UTC):
            raise InvalidInput(f"ts {iso_utc(at)} is in the future; the twin's state is known up to now")
        if self.events is None:
            raise NotFound("this backend keeps no twin change log; the twin's past is unknown")
        rows = await self.events.until(machine_id, at, STATE_KINDS)
        life, deleted = current_life([Entry(r.id, r.ts, r.kind, r.details, r.version) for r in rows])
        first = await self.events.first_after(machine_id, deleted.id if deleted is not None else None)
        settings = settings_at(life, at)
        # readings count for this life only (those of a deleted twin stay unless purged); a twin whose
        # telemetry was backfilled has readings from before its first change-log entry (its device times)
        reading = newest_reading
        if reading is not None and deleted is not None and reading <= deleted.ts:
            reading = None
        heard = newest(reading, *settings.times.values())
        if heard is None and (first is None or first.ts > at):
            why = (
                f"it was deleted at {iso_utc(deleted.ts)}"
                if deleted is not None
                else "its change log holds nothing"
                if first is None
                else f"its change log begins at {iso_utc(first.ts)} and no reading is stored from before"
            )
            raise NotFound(f"twin {machine_id!r} did not exist at {iso_utc(at)}: {why}")
        attributes = attributes_at(life)
        desired, desired_version = desired_at(life)
        cmd = command_at(life)
        status = status_of(
            iso_utc(heard) if heard else None, interval_of(attributes, self.expected_interval_s), at
        )
        return TwinStateAt(
            since=first.ts if first is not None and first.ts <= at else None,
            attributes=attributes,
            reported=settings.values,
            reported_ts=settings.times,
            reported_inexact=settings.inexact,
            desired=desired,
            desired_version=desired_version,
            command=None if cmd is None else CommandStatus.model_validate(cmd, from_attributes=True),
            status=cast(Status, status),
            last_heard=heard,
        )


def _desired_state(twin: TwinRead) -> DesiredState:
    return DesiredState(
        machine_id=twin.id,
        desired=twin.desired,
        version=twin.desired_version,
        delta=twin.delta,
        command=twin.command,
    )
