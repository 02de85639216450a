"""The analytics API's schemas: health and RUL, anomaly events, strategy decisions, correlations. Also what
the WebSocket's `alerts` and `decisions` streams carry (realtime imports them from here, not from routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from dtwin.contracts.strategies import OptionalStrategyName, StrategyName


class HealthRead(BaseModel):
    """Health index (0-100, 100 = as new), the current anomaly score and its explanation, RUL with its band
    (seconds; null without a significant degradation trend), and the current strategy decision."""

    machine_id: str
    scored: bool
    health: float | None = None
    anomaly_score: float | None = None
    is_anomaly: bool | None = None
    explanation: list[dict[str, Any]] = []
    rul: dict[str, Any] | None = None
    trend_per_hour: float | None = None
    strategy: OptionalStrategyName = None
    decision: dict[str, Any] | None = None
    ts: datetime | None = None


class AnomalyEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    machine_id: str
    machine_type: str
    ts: datetime
    kind: str
    started_at: datetime
    score: float
    peak_score: float
    threshold: float
    detector: str
    explanation: list[dict[str, Any]]


class AnomalyList(BaseModel):
    machine_id: str
    items: list[AnomalyEventRead]


class DecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    machine_id: str
    ts: datetime
    strategy: StrategyName
    confidence: float
    risk: float
    opportunity: float
    stability: float
    reasons: list[str]


class DecisionList(BaseModel):
    machine_id: str
    items: list[DecisionRead]


class CorrelationsRead(BaseModel):
    """The correlation matrix of the machine's sensors over its recent window, and the pairs that usually move
    together but stopped doing so (`breaks`). Null matrix until the window has filled."""

    machine_id: str
    sensors: list[str] = []
    matrix: list[list[float | None]] | None = None
    breaks: list[dict[str, Any]] = []
