"""The operating-strategy vocabulary of the adaptive-decision design: what decisions, twins, the API, the
WebSocket and Kafka carry. Names from before issue #16 (`stable`, `monitor`) are still accepted on input and
mapped. Imports nothing of ours."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, TypeAlias

from pydantic import BeforeValidator

Strategy: TypeAlias = Literal["stable_growth", "neutral", "defensive", "aggressive"]

# In the scoring engine's index order (its per-machine state stores the index): do not reorder
STRATEGIES: tuple[Strategy, ...] = ("stable_growth", "neutral", "defensive", "aggressive")

# The names used before issue #16, by meaning: `monitor` (elevated risk, watch, no action yet) is the neutral
# stance, `stable` (low risk, keep the operating point while it stays healthy) is stable growth
LEGACY_STRATEGIES: Mapping[str, Strategy] = {"stable": "stable_growth", "monitor": "neutral"}


def canonical_strategy(value: object) -> object:
    """A legacy strategy name mapped to today's, "" (how the twin hash stores "no decision yet") to None;
    anything else unchanged (validation decides)."""
    if isinstance(value, str):
        return LEGACY_STRATEGIES.get(value, value) or None
    return value


def current_name(value: str | None) -> str | None:
    """`canonical_strategy` for the change-stream structs, which keep the field a plain string."""
    return LEGACY_STRATEGIES.get(value, value) if value is not None else None


# A strategy at an API boundary: today's names, old ones accepted and mapped; and one that may be absent
StrategyName: TypeAlias = Annotated[Strategy, BeforeValidator(canonical_strategy)]
OptionalStrategyName: TypeAlias = Annotated[Strategy | None, BeforeValidator(canonical_strategy)]
