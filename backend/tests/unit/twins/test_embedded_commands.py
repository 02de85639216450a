"""In embedded mode (`dtwin demo`) the in-process simulator obeys desired state like a real device."""

from pathlib import Path

from dtwin.config import Settings
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin


async def test_desired_state_converges_with_the_embedded_simulator(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        frontend_dist=None,
        simulator_machines=3,
        simulator_rate_hz=5,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        await as_admin(app, "http://t") as client,
    ):

        async def online() -> bool:
            return (await client.get("/api/v1/twins/pump-0001")).status_code == 200

        await eventually(online, what="simulated pump registered")
        before = (await client.get("/api/v1/twins/pump-0001")).json()["reported"]
        assert before["mode"] == "on"
        r = await client.patch(
            "/api/v1/twins/pump-0001/desired",
            json={"speed_setpoint_rpm": 2400, "mode": "standby", "turbo": True},
        )
        assert r.json()["command"]["status"] == "pending"
        assert r.json()["delta"] == {"speed_setpoint_rpm": 2400, "mode": "standby", "turbo": True}

        async def answered() -> dict[str, object]:
            d = (await client.get("/api/v1/twins/pump-0001/desired")).json()
            return d if d["command"]["status"] != "pending" and "mode" not in d["delta"] else {}

        state = await eventually(answered, what="device answered and reported")
    assert state["command"]["status"] == "partial"  # type: ignore[index]
    assert "turbo" in state["command"]["rejected"]  # type: ignore[index]
    assert state["delta"] == {"turbo": True}  # what the device refused stays in the delta
