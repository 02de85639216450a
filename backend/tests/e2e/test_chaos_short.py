"""The short form of `make chaos` in `make test`: two of its scenarios on their own fresh stacks (servers,
`dtwin serve`, `dtwin bridge`, `dtwin simulate` as processes) at a lower rate. After each fault: no reading
lost or duplicated against the simulator's ground-truth log, the operator's state back, every twin equal to
the newest stored rows. The full suite (all scenarios at ~5,000 readings/s) is `make chaos`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtwin_devkit.chaos.scenarios import SCENARIOS, Params, run_scenario

pytestmark = pytest.mark.slow

SHORT = Params(machines=150, warmup_s=15.0, after_s=20.0, operator_twins=3, recover_timeout_s=90.0)


@pytest.mark.parametrize("name", ["backend-kill", "redis-restart"])
async def test_fault_loses_nothing(name: str, tmp_path: Path) -> None:
    res = await run_scenario(SCENARIOS[name], SHORT, tmp_path, seed=7)
    assert res.truth is not None
    assert res.truth.published > 0
    assert res.failures == [], f"{res.failures} (logs in {res.workdir})"
    assert res.truth.lost == res.truth.duplicated == 0
    assert res.recovery_s is not None
    assert res.operator == []
