"""Adaptive operating strategy per machine: risk, opportunity and stability from the scoring state, a
strategy with hysteresis (separate enter/exit thresholds, a minimum dwell time) and a confidence computed
from the evidence. Vectorised over machines; reasons are built only for decisions that are emitted."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from dtwin.anomalies.scan import F64, I64
from dtwin.contracts.strategies import STRATEGIES as STRATEGIES  # re-exported for the engine
from dtwin.contracts.telemetry import iso_utc

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
# indexes into STRATEGIES (stable_growth, neutral, defensive, aggressive: contracts/strategies.py)
STABLE_GROWTH, NEUTRAL, DEFENSIVE, AGGRESSIVE = range(4)
NO_DECISION = -1


@dataclass(frozen=True, slots=True)
class DecisionConfig:
    defensive_enter: float = 0.6  # risk
    defensive_exit: float = 0.4
    neutral_enter: float = 0.3  # risk
    neutral_exit: float = 0.2
    aggressive_max_risk: float = 0.15
    aggressive_exit_risk: float = 0.25
    aggressive_min_opportunity: float = 0.35
    aggressive_exit_opportunity: float = 0.25
    aggressive_min_stability: float = 0.75
    aggressive_exit_stability: float = 0.6
    min_dwell_s: float = 300.0  # a strategy holds at least this long, except escalation to defensive
    min_rows: int = 60  # machine rows (messages) seen before the first decision
    rul_horizon_s: float = 24 * 3600.0  # RUL at or beyond this adds no risk; 0 s adds risk 1
    correlation_break_risk: float = 0.35
    opportunity_health: tuple[float, float] = (70.0, 85.0)  # headroom counts from 0 to fully between these
    stability_score_sd: float = 0.15  # score standard deviation that makes stability 0
    stability_trend_per_h: float = 10.0  # significant health decline (points/hour) that makes stability 0


@dataclass(frozen=True)
class Decision:
    """A machine's recommended strategy, emitted when it changes (and available on query)."""

    machine_id: str
    ts: datetime
    strategy: str
    confidence: float
    risk: float
    opportunity: float
    stability: float
    reasons: list[str]

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "machine_id": self.machine_id,
            "ts": iso_utc(self.ts),
            "strategy": self.strategy,
            "confidence": round(self.confidence, 3),
            "risk": round(self.risk, 3),
            "opportunity": round(self.opportunity, 3),
            "stability": round(self.stability, 3),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class Assessment:
    risk: F64
    opportunity: F64
    stability: F64
    r_health: F64
    r_rul: F64
    r_corr: F64


def assess(
    cfg: DecisionConfig,
    health: F64,
    rul_s: F64,
    breaks: I64,
    headroom: F64,
    score_sd: F64,
    trend_per_h: F64,
) -> Assessment:
    """Risk = max(1 - health/100, RUL term, correlation-break term); opportunity = the smallest headroom below
    an upper limit (NaN/no limits -> 0), counted only while healthy; stability from score variability and the
    health trend."""
    r_health = np.clip(1.0 - health / 100.0, 0.0, 1.0)
    r_rul = np.where(np.isfinite(rul_s), np.clip(1.0 - rul_s / cfg.rul_horizon_s, 0.0, 1.0), 0.0)
    r_corr = np.where(breaks > 0, cfg.correlation_break_risk, 0.0)
    risk = np.maximum(np.maximum(r_health, r_rul), r_corr)
    lo_h, hi_h = cfg.opportunity_health
    healthy = np.clip((health - lo_h) / (hi_h - lo_h), 0.0, 1.0)
    opportunity = np.nan_to_num(np.clip(headroom, 0.0, 1.0)) * healthy
    stability = np.clip(1.0 - score_sd / cfg.stability_score_sd, 0.0, 1.0) * np.clip(
        1.0 - np.abs(trend_per_h) / cfg.stability_trend_per_h, 0.0, 1.0
    )
    return Assessment(risk, opportunity, stability, r_health, r_rul, r_corr)


def choose(cfg: DecisionConfig, current: I64, since: F64, now: F64, rows: F64, a: Assessment) -> I64:
    """The strategy after this batch. Thresholds depend on the current strategy (leave a state only past its
    exit threshold); a change waits `min_dwell_s` since the last one unless it escalates to defensive."""
    is_def, is_neu, is_agg = current == DEFENSIVE, current == NEUTRAL, current == AGGRESSIVE
    in_def = a.risk >= np.where(is_def, cfg.defensive_exit, cfg.defensive_enter)
    in_neu = a.risk >= np.where(is_neu, cfg.neutral_exit, cfg.neutral_enter)
    in_agg = (
        (a.risk <= np.where(is_agg, cfg.aggressive_exit_risk, cfg.aggressive_max_risk))
        & (a.opportunity >= np.where(is_agg, cfg.aggressive_exit_opportunity, cfg.aggressive_min_opportunity))
        & (a.stability >= np.where(is_agg, cfg.aggressive_exit_stability, cfg.aggressive_min_stability))
    )
    target = np.where(
        in_def, DEFENSIVE, np.where(in_neu, NEUTRAL, np.where(in_agg, AGGRESSIVE, STABLE_GROWTH))
    )
    allowed = (current == NO_DECISION) | (target == DEFENSIVE) | (now - since >= cfg.min_dwell_s)
    ready = rows >= cfg.min_rows
    return np.where(ready & allowed, target, current).astype(np.int64)


def _margin(x: F64, scale: float) -> F64:
    return np.clip(x / scale, 0.0, 1.0)


def confidence(cfg: DecisionConfig, strategy: I64, a: Assessment, rows: F64) -> F64:
    """0.5 at the boundary of the chosen strategy's region, 1.0 deep inside it, times a data factor (0.6 at
    `min_rows` rows, 1.0 from 10x that). A pure function of the evidence: same input, same confidence."""
    de, ne = cfg.defensive_enter, cfg.neutral_enter
    m_def = _margin(a.risk - de, 1.0 - de)
    m_neu = _margin(np.minimum(a.risk - ne, de - a.risk), (de - ne) / 2.0)
    m_agg = np.minimum(
        np.minimum(
            _margin(cfg.aggressive_max_risk - a.risk, cfg.aggressive_max_risk),
            _margin(a.opportunity - cfg.aggressive_min_opportunity, 1.0 - cfg.aggressive_min_opportunity),
        ),
        _margin(a.stability - cfg.aggressive_min_stability, 1.0 - cfg.aggressive_min_stability),
    )
    m_growth = _margin(ne - a.risk, ne)
    margin = np.choose(np.clip(strategy, 0, 3), [m_growth, m_neu, m_def, m_agg])
    data = 0.6 + 0.4 * np.clip((rows - cfg.min_rows) / (9.0 * cfg.min_rows), 0.0, 1.0)
    return np.round((0.5 + 0.5 * margin) * data, 6)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600.0:.1f} h" if seconds >= 3600 else f"{seconds / 60.0:.0f} min"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One machine's numbers behind a decision, for its reasons."""

    health: float
    score: float
    detector: str
    top_sensor: str | None
    rul_s: float
    rul_lower_s: float
    rul_upper_s: float
    breaks: int
    headroom: float
    headroom_sensor: str | None
    score_sd: float
    trend_per_h: float


def reasons(
    cfg: DecisionConfig, strategy: int, a_risk: float, opp: float, stab: float, ev: Evidence
) -> list[str]:
    """Human-readable reasons, the decisive one first."""
    out: list[str] = []
    if strategy in (DEFENSIVE, NEUTRAL):
        out.append(
            f"risk {a_risk:.2f} (enter {STRATEGIES[strategy]} at "
            f"{cfg.defensive_enter if strategy == DEFENSIVE else cfg.neutral_enter:.2f})"
        )
        if ev.health < 100.0 - 100.0 * cfg.neutral_exit:
            what = f"{ev.detector} on {ev.top_sensor}" if ev.top_sensor else ev.detector
            out.append(f"health {ev.health:.0f}/100; latest score {ev.score:.2f} ({what})")
        if math.isfinite(ev.rul_s):
            upper = _hours(ev.rul_upper_s) if math.isfinite(ev.rul_upper_s) else "unbounded"
            out.append(
                f"degrading: remaining useful life ~{_hours(ev.rul_s)} ({_hours(ev.rul_lower_s)} to {upper})"
            )
        if ev.breaks:
            out.append(f"{ev.breaks} sensor pair(s) lost their usual correlation")
        if strategy == DEFENSIVE:
            out.append("reduce load and schedule maintenance now")
        else:
            out.append("watch closely; no action required yet")
    elif strategy == AGGRESSIVE:
        where = f" ({ev.headroom_sensor} is closest to its upper limit)" if ev.headroom_sensor else ""
        out.append(f"healthy ({ev.health:.0f}/100) with {100 * ev.headroom:.0f}% headroom{where}")
        out.append(f"stable: score sd {ev.score_sd:.3f}, health trend {ev.trend_per_h:+.1f}/h")
        out.append("throughput can be raised safely")
    else:
        out.append(f"risk {a_risk:.2f} below {cfg.neutral_enter:.2f}; health {ev.health:.0f}/100")
        if opp < cfg.aggressive_min_opportunity:
            out.append(f"opportunity {opp:.2f} too small to run harder")
        elif stab < cfg.aggressive_min_stability:
            out.append(f"stability {stab:.2f} too low to run harder")
        out.append("keep the current operating point")
    return out
