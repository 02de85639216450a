"""What-if before you command: `DryRunService.dry_run` answers what `PATCH /twins/{id}/desired` with the
same patch would do — validation against the machine type's settings and the device's reported ones, the
would-be desired document and delta, conflicts with a pending command, and the predicted steady state
(whatif/predict.py on the history of whatif/history.py) — reading only: nothing is stored, published or
sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.alarms.schemas import AlarmRuleRead
from dtwin.alarms.service import AlarmService
from dtwin.contracts.catalogue import MODE_SETTING, MODES, CatalogueType, machine_catalogue
from dtwin.contracts.limits import (
    MAX_DESIRED_BYTES,
    MAX_WHATIF_FLEET_MACHINES,
    MAX_WHATIF_SPANS,
    WHATIF_LOOKBACK_DAYS,
)
from dtwin.errors import InvalidInput, NotFound
from dtwin.machine_types.service import MachineTypeService
from dtwin.readings.service import window_means
from dtwin.twins.merge_patch import delta, merge_patch
from dtwin.twins.schemas import TwinRead
from dtwin.twins.service import TwinService
from dtwin.whatif.history import MIN_READINGS, Span, change_of, features, numeric, steady_spans
from dtwin.whatif.predict import (
    LEVEL,
    Prediction,
    Sample,
    evidence_range,
    health_allowed,
    limit_evidence,
    predict,
    probability_outside,
)
from dtwin.whatif.schemas import (
    AlarmTrip,
    DryRun,
    DryRunConflict,
    HealthChange,
    PredictedEffect,
    SensorPrediction,
    SettingChange,
)

DEFAULT_SETTLE_S = 120.0  # the scoring engine's default for types the catalogue does not time
STEADY_WINDOW_S = 600.0  # a span's steady level: the mean of its first 10 minutes after settling
UNANSWERED = ("pending", "awaiting_placement", "undelivered")  # commands the device has not answered


@dataclass(frozen=True, slots=True)
class SensorRange:
    unit: str
    lo: float | None
    hi: float | None


class DryRunService:
    """One request's dry run: the twins room's service for the twin, its change log and the fleet; the
    request's session for readings, machine types and alarm rules (read only)."""

    def __init__(self, twins: TwinService, session: AsyncSession, clock: Any = None) -> None:
        self.twins = twins
        self.session = session
        self.clock = clock or (lambda: datetime.now(UTC))

    async def dry_run(self, machine_id: str, patch: dict[str, Any]) -> DryRun:
        twin = await self.twins.get(machine_id)
        spec = machine_catalogue().get(twin.machine_type)
        not_reported = validate(patch, spec, twin)
        would_be: dict[str, Any] = merge_patch(twin.desired, patch)
        size = len(orjson.dumps(would_be))
        if size > MAX_DESIRED_BYTES:
            raise InvalidInput(f"the desired document would be {size} bytes, more than {MAX_DESIRED_BYTES}")
        changes = {
            k: SettingChange(reported=twin.reported.get(k), desired=would_be[k])
            for k in patch
            if k in would_be and k in delta({k: would_be[k]}, twin.reported)
        }
        conflicts = [
            DryRunConflict(
                kind="not_reported",
                settings=[k],
                detail=f"{twin.machine_type} devices accept {k!r}, but this one has never reported it: it "
                "may not support it (the device's ack will say)",
            )
            for k in not_reported
        ]
        if (pending := pending_conflict(twin, patch, would_be)) is not None:
            conflicts.insert(0, pending)
        effect = await self._effect(twin, spec, would_be, sorted(changes))
        return DryRun(
            machine_id=twin.id,
            machine_type=twin.machine_type,
            desired=would_be,
            version=twin.desired_version,
            next_version=twin.desired_version + 1,
            delta=delta(would_be, {**twin.readings, **twin.reported}),
            changes=changes,
            conflicts=conflicts,
            effect=effect,
        )

    # ------------------------------------------------------------------ predicted effect
    async def _effect(
        self, twin: TwinRead, spec: CatalogueType | None, would_be: dict[str, Any], changed: list[str]
    ) -> PredictedEffect:
        settle_s = float(spec.settle_s) if spec is not None and spec.settle_s else DEFAULT_SETTLE_S
        ranges = await self._ranges(twin, spec)
        sensors = affected_sensors(spec, changed, list(ranges) or sorted(twin.readings))
        target_settings = {**twin.reported, **{k: would_be[k] for k in changed}}
        preds: dict[str, Prediction] = {}
        if sensors:
            history = Histories(self, settle_s)
            own = await history.samples(twin.id, spec, twin.reported, sensors, target_settings)
            for s in sensors:
                preds[s] = _predict(own.get(s), twin.id, spec, twin.reported, s, target_settings)
            thin = [s for s in sensors if preds[s].method == "insufficient_history"]
            if thin and own:
                fleet = await history.fleet_samples(twin, spec, thin, target_settings)
                for s in thin:
                    pooled = own.get(s, ([], ()))[0] + fleet.get(s, [])
                    x0 = own.get(s, ([], ()))[1]
                    preds[s] = predict(pooled, x0, twin.id) if x0 is not None else preds[s]
        rules = await self._rules(twin)
        out = [
            _sensor_prediction(s, preds[s], ranges.get(s), twin.readings.get(s), rules.get(s, []))
            for s in sensors
        ]
        return PredictedEffect(
            settle_s=settle_s,
            sensors=out,
            health=health_change(twin.health, out, bool(changed)),
            leaves_range=[p.sensor for p in out if p.range_status in ("outside", "may_leave")],
            trips_alarms=[p.sensor for p in out if p.alarms],
        )

    async def _ranges(self, twin: TwinRead, spec: CatalogueType | None) -> dict[str, SensorRange]:
        """The type's sensors with their operating ranges: the registry's (editable), else the catalogue's."""
        try:
            registered = await MachineTypeService(self.session).get(twin.machine_type)
            return {s.name: SensorRange(s.unit, s.lo, s.hi) for s in registered.sensors}
        except NotFound:
            if spec is None:
                return {}
            return {s.name: SensorRange(s.unit, s.lo, s.hi) for s in spec.sensors}

    async def _rules(self, twin: TwinRead) -> dict[str, list[AlarmRuleRead]]:
        """Enabled threshold rules per sensor for this machine (its own replace its type's of a kind)."""
        alarms = AlarmService(self.session)
        typed = (await alarms.rules(machine_type=twin.machine_type, machine_id=None)).items
        own = (await alarms.rules(machine_type=None, machine_id=twin.id)).items
        out: dict[str, list[AlarmRuleRead]] = {}
        kinds = {(r.sensor, r.kind) for r in own if r.enabled}
        for r in own + [r for r in typed if (r.sensor, r.kind) not in kinds]:
            if r.enabled:
                out.setdefault(r.sensor, []).append(r)
        return out

    async def window_means(
        self, machine_id: str, sensors: Sequence[str], windows: Sequence[tuple[datetime, datetime]]
    ) -> dict[tuple[int, str], tuple[float, int]]:
        return await window_means(self.session, machine_id, sensors, windows)


# --------------------------------------------------------------------------------------------- validation
def validate(patch: dict[str, Any], spec: CatalogueType | None, twin: TwinRead) -> list[str]:
    """Raise InvalidInput naming every field the device would refuse (an unknown setting, a value that is
    not a number or a mode, a number outside the type's range); else the settings the type knows that
    this device has never reported (conflicts, not errors: the device's ack decides)."""
    errors: list[dict[str, Any]] = []
    not_reported: list[str] = []

    def fail(key: str, kind: str, msg: str) -> None:
        errors.append({"loc": ["body", key], "msg": msg, "type": kind})

    for key, value in patch.items():
        if value is None:
            continue  # removes the member from the desired document: nothing is asked of the device
        if key == MODE_SETTING:
            if not (isinstance(value, str) and value in MODES):
                fail(key, "enum", f"mode must be one of {', '.join(MODES)}; got {_short(value)}")
            elif key not in twin.reported and spec is not None:
                not_reported.append(key)
            continue
        setting = spec.setting(key) if spec is not None else None
        if setting is None:
            if spec is not None:
                names = ", ".join([MODE_SETTING, *(s.name for s in spec.settings)])
                fail(key, "unknown_setting", f"{key!r} is not a setting of {spec.name} (settings: {names})")
            elif key not in twin.reported:
                fail(
                    key,
                    "unknown_setting",
                    f"{key!r}: machine type {twin.machine_type!r} is not in the catalogue and the device "
                    "has never reported this setting",
                )
            continue
        number = numeric(value)
        if number is None:
            fail(key, "number_type", f"{key} must be a number ({setting.unit}); got {_short(value)}")
        elif not setting.lo <= number <= setting.hi:
            fail(
                key,
                "out_of_range",
                f"{key}={number:g} out of range {setting.lo:g}..{setting.hi:g} {setting.unit}",
            )
        elif key not in twin.reported:
            not_reported.append(key)
    if errors:
        detail = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in errors)
        raise InvalidInput(detail, errors=errors)
    return not_reported


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."


def pending_conflict(
    twin: TwinRead, patch: dict[str, Any], would_be: dict[str, Any]
) -> DryRunConflict | None:
    """The newest command, when the device has not answered it: the change would supersede it."""
    cmd = twin.command
    if cmd is None or cmd.status not in UNANSWERED:
        return None
    altered = sorted(k for k in patch if k in twin.desired and would_be.get(k) != twin.desired[k])
    detail = (
        f"command version {cmd.version} is {cmd.status}: the device has not answered it; this change would "
        f"supersede it with version {twin.desired_version + 1}"
    )
    if altered:
        detail += f" and change what it asked for ({', '.join(altered)})"
    return DryRunConflict(kind="pending_command", detail=detail, settings=altered, command=cmd)


# --------------------------------------------------------------------------------------------- history
def affected_sensors(spec: CatalogueType | None, changed: Sequence[str], known: Sequence[str]) -> list[str]:
    """The sensors the changed settings move (the catalogue's `commands`; `mode`, a setting not listed or a
    type outside the catalogue: all of them), in the type's order."""
    if not changed:
        return []
    if spec is None:
        return list(known)
    moved = {s for k in changed for s in spec.moved_by(k)}
    return [s for s in known if s in moved]


def feature_names(spec: CatalogueType | None, sensor: str, reported: dict[str, Any]) -> list[str]:
    """The numeric settings that move a sensor: the type's (per `commands`), or for a type outside the
    catalogue every numeric setting the device reports."""
    if spec is None:
        return sorted(k for k, v in reported.items() if k != MODE_SETTING and numeric(v) is not None)
    return [st.name for st in spec.settings if sensor in spec.moved_by(st.name)]


SensorSamples = dict[str, tuple[list[Sample], tuple[float, ...] | None]]


class Histories:
    """Steady samples of machines, read once per dry run."""

    def __init__(self, service: DryRunService, settle_s: float) -> None:
        self.service = service
        self.settle_s = settle_s
        self.now = service.clock()
        self.since = self.now - timedelta(days=WHATIF_LOOKBACK_DAYS)

    async def spans(self, machine_ids: Sequence[str]) -> dict[str, list[Span]]:
        # entries of any age: the settings in force when the lookback begins are the newest before it
        history = await self.service.twins.settings_history(
            machine_ids, datetime(1970, 1, 1, tzinfo=UTC), MAX_WHATIF_SPANS
        )
        return {
            m: steady_spans(
                (change_of(e.details, e.ts) for e in entries),
                self.settle_s,
                self.now,
                since=self.since,
                newest=MAX_WHATIF_SPANS,
            )
            for m, entries in history.items()
        }

    async def machine_samples(
        self, machine_id: str, spans: list[Span], sensors: Sequence[str]
    ) -> dict[str, list[tuple[Span, float]]]:
        windows = [(s.start, min(s.end, s.start + timedelta(seconds=STEADY_WINDOW_S))) for s in spans]
        means = await self.service.window_means(machine_id, sensors, windows)
        out: dict[str, list[tuple[Span, float]]] = {}
        for (k, sensor), (mean, n) in sorted(means.items()):
            if n >= MIN_READINGS:
                out.setdefault(sensor, []).append((spans[k], mean))
        return out

    async def samples(
        self,
        machine_id: str,
        spec: CatalogueType | None,
        reported: dict[str, Any],
        sensors: Sequence[str],
        target: dict[str, Any],
    ) -> SensorSamples:
        """Per sensor: this machine's samples in the target mode, and the settings to predict at (None
        when the device does not report one the sensor depends on)."""
        spans = (await self.spans([machine_id])).get(machine_id, [])
        levels = await self.machine_samples(machine_id, spans, sensors)
        out: SensorSamples = {}
        for s in sensors:
            names = feature_names(spec, s, reported)
            out[s] = (_to_samples(machine_id, levels.get(s, []), names, target), features(target, names))
        return out

    async def fleet_samples(
        self, twin: TwinRead, spec: CatalogueType | None, sensors: Sequence[str], target: dict[str, Any]
    ) -> dict[str, list[Sample]]:
        """Samples of up to MAX_WHATIF_FLEET_MACHINES other machines of the type, in the target mode."""
        others = sorted(
            t["id"] for t in await self.service.twins.fleet() if t.get("machine_type") == twin.machine_type
        )
        others = [m for m in others if m != twin.id][:MAX_WHATIF_FLEET_MACHINES]
        out: dict[str, list[Sample]] = {}
        for m, spans in (await self.spans(others)).items():
            levels = await self.machine_samples(m, spans, sensors)
            for s in sensors:
                names = feature_names(spec, s, twin.reported)
                out.setdefault(s, []).extend(_to_samples(m, levels.get(s, []), names, target))
        return out


def _to_samples(
    machine_id: str, levels: list[tuple[Span, float]], names: Sequence[str], target: dict[str, Any]
) -> list[Sample]:
    mode = target.get(MODE_SETTING)
    out = []
    for span, y in levels:
        if mode is not None and span.settings.get(MODE_SETTING, mode) != mode:
            continue  # another mode moves every sensor: not the same machine state
        x = features(span.settings, names)
        if x is not None:
            out.append(Sample(machine_id, x, y))
    return out


def _predict(
    got: tuple[list[Sample], tuple[float, ...] | None] | None,
    machine_id: str,
    spec: CatalogueType | None,
    reported: dict[str, Any],
    sensor: str,
    target: dict[str, Any],
) -> Prediction:
    names = feature_names(spec, sensor, reported)
    if got is None or got[1] is None:
        missing = [n for n in names if numeric(target.get(n)) is None]
        return Prediction(
            method="no_model",
            reason=f"the settings that move {sensor} are not all known numbers here ({', '.join(missing)})",
        )
    return predict(got[0], got[1], machine_id)


# --------------------------------------------------------------------------------------------- meaning
def _sensor_prediction(
    sensor: str, p: Prediction, rng: SensorRange | None, current: float | None, rules: list[AlarmRuleRead]
) -> SensorPrediction:
    out = SensorPrediction(
        sensor=sensor,
        unit=rng.unit if rng is not None else "",
        current=current,
        method=p.method,
        predicted=p.value,
        lower=p.lower,
        upper=p.upper,
        sigma=p.sigma,
        level=LEVEL,
        samples=p.samples,
        machines=p.machines,
        distinct=p.distinct,
        degree=p.degree,
        extrapolated=p.extrapolated,
        reason=p.reason,
        lo=rng.lo if rng is not None else None,
        hi=rng.hi if rng is not None else None,
    )
    if p.value is None or p.lower is None or p.upper is None or p.sigma is None:
        return out
    if out.lo is not None and out.hi is not None:
        lo, hi = out.lo, out.hi
        out.p_outside = probability_outside(p.value, p.sigma, lo, hi)
        out.range_status = (
            "outside"
            if not lo <= p.value <= hi
            else "may_leave"
            if p.lower < lo or p.upper > hi
            else "inside"
        )
    for r in rules:
        above = r.kind in ("hi", "hihi")
        beyond_point = p.value > r.threshold if above else p.value < r.threshold
        beyond_some = p.upper > r.threshold if above else p.lower < r.threshold
        if beyond_point or beyond_some:
            out.alarms.append(
                AlarmTrip(
                    rule_id=r.id,
                    name=r.name,
                    kind=r.kind,
                    threshold=r.threshold,
                    priority=r.priority,
                    likelihood="expected" if beyond_point else "possible",
                )
            )
    return out


def health_change(current: float | None, sensors: list[SensorPrediction], changed: bool) -> HealthChange:
    """The health the limit detector allows once settled (HealthChange's doc), capped by today's."""
    ranged = [
        (s.predicted, s.lower, s.upper, s.lo, s.hi)
        for s in sensors
        if s.predicted is not None
        and s.lower is not None
        and s.upper is not None
        and s.lo is not None
        and s.hi is not None
    ]
    if not ranged:
        reason = (
            "the change moves no setting"
            if not changed
            else "no affected sensor has both a prediction and an operating range"
        )
        return HealthChange(method="no_model", current=current, reason=reason)
    base = 100.0 if current is None else current
    point = max(limit_evidence(v, lo, hi) for v, _, _, lo, hi in ranged)
    spans = [evidence_range(a, b, lo, hi) for _, a, b, lo, hi in ranged]
    least, most = max(a for a, _ in spans), max(b for _, b in spans)
    predicted = min(base, health_allowed(point))
    return HealthChange(
        method="limit_evidence",
        current=current,
        predicted=predicted,
        lower=min(base, health_allowed(most)),
        upper=min(base, health_allowed(least)),
        change=None if current is None else predicted - current,
        sensors=len(ranged),
    )
