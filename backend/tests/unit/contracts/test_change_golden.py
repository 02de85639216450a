"""The `twins` stream's merge rule against the golden fixtures (backend/tests/golden/changes), which the
dashboard's `applyTwinChange` runs too (frontend/src/realtime/twinChanges.golden.test.ts): one rule, two
implementations, the same answers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from dtwin.contracts import changes
from dtwin.twins.view import apply_change

GOLDEN = Path(__file__).parents[2] / "golden" / "changes"
CASES = sorted(GOLDEN.glob("*.json"))


def test_there_are_fixtures() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_merge_rule(path: Path) -> None:
    case: dict[str, Any] = json.loads(path.read_text())
    # the fixtures are contract messages: they decode (and the decoder checks every change)
    msg = changes.decode(orjson.dumps({"seq": 1, "type": "twins", "items": case["changes"]}))
    assert isinstance(msg, changes.TwinsMessage)
    assert [orjson.loads(changes.encode(c)) for c in msg.items] == case["changes"], "not in wire form"
    twin: dict[str, Any] | None = copy.deepcopy(case["twin"])
    for change in msg.items:
        twin = apply_change(twin, change)
    if case["expect"] is None:
        assert twin is None
        return
    assert twin is not None
    assert {k: twin[k] for k in case["expect"]} == case["expect"]
