"""WebSocket authentication against a real backend (uvicorn, Redis, PostgreSQL): the first message carries
the credentials (or the upgrade request's headers); without valid ones the server closes with 4401; a token
renewed during the session keeps the subscriptions; an expired one, a disabled user and a subscription the
role may not hold end the session (4401, 4401, 4403)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from dtwin.auth.identity import Role
from dtwin.auth.schemas import UserPatch
from dtwin.config import Settings
from dtwin.main import create_app
from dtwin.realtime import routes as realtime_routes
from dtwin_devkit.testing import serve_app

from ...factories.auth import token_from_settings


@asynccontextmanager
async def backend(settings: Settings) -> AsyncIterator[str]:
    async with serve_app(create_app(settings)) as url:
        yield url


async def send(ws: ClientConnection, **msg: Any) -> None:
    await ws.send(orjson.dumps(msg).decode())


async def recv(ws: ClientConnection, *types: str, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] in types:
            return msg


async def closed_with(ws: ClientConnection, timeout: float = 15.0) -> tuple[int, str]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as closed:
        frame = closed.rcvd
    assert frame is not None, "closed without a close frame"
    return frame.code, frame.reason


async def test_the_first_message_authenticates_and_hello_names_the_identity(real_settings: Settings) -> None:
    token = await token_from_settings(real_settings, Role.viewer)
    async with backend(real_settings) as url, websockets.connect(f"ws://{url}/ws") as ws:
        await send(ws, type="auth", token=token)
        hello = await recv(ws, "hello")
        assert hello["identity"]["name"] == "test-viewer" and hello["identity"]["role"] == "viewer"
        assert hello["expires_at"].endswith("Z")
        await send(ws, type="subscribe", sub="all")
        assert (await recv(ws, "subscribed", "error"))["type"] == "subscribed"


@pytest.mark.parametrize(
    "first",
    [
        {"type": "subscribe", "sub": "all"},
        {"type": "auth", "token": "garbage"},
        {"type": "auth", "token": "dtwin_unknown-api-key"},
        {"type": "ping"},
    ],
)
async def test_without_valid_credentials_first_the_server_closes_4401(
    real_settings: Settings, first: dict[str, Any]
) -> None:
    async with backend(real_settings) as url, websockets.connect(f"ws://{url}/ws") as ws:
        await send(ws, **first)
        code, reason = await closed_with(ws)
    assert code == 4401 and reason


async def test_silence_is_closed_4401_after_the_auth_timeout(
    real_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(realtime_routes, "AUTH_TIMEOUT_S", 0.5)
    async with backend(real_settings) as url, websockets.connect(f"ws://{url}/ws") as ws:
        code, reason = await closed_with(ws)
    assert code == 4401 and "no credentials within" in reason


async def test_an_expired_token_is_refused_and_a_session_ends_when_its_token_does(
    real_settings: Settings,
) -> None:
    expired = await token_from_settings(real_settings, ttl=timedelta(seconds=-1))
    async with backend(real_settings) as url:
        async with websockets.connect(f"ws://{url}/ws") as ws:
            await send(ws, type="auth", token=expired)
            assert await closed_with(ws) == (4401, "token expired")
        # minted with the server up (a startup under load can take longer than the token lives); `exp` is
        # whole seconds, so 3 s is 2-3 s
        short = await token_from_settings(real_settings, ttl=timedelta(seconds=3))
        async with websockets.connect(f"ws://{url}/ws") as ws:
            await send(ws, type="auth", token=short)
            await recv(ws, "hello")
            code, reason = await closed_with(ws)
            assert code == 4401 and "authenticate again" in reason


async def test_renewal_keeps_the_subscriptions(real_settings: Settings) -> None:
    async with backend(real_settings) as url, websockets.connect(f"ws://{url}/ws") as ws:
        short = await token_from_settings(real_settings, ttl=timedelta(seconds=6))  # the server is up
        await send(ws, type="auth", token=short)
        await recv(ws, "hello")
        await send(ws, type="subscribe", sub="all")
        await recv(ws, "snapshot")
        fresh = await token_from_settings(real_settings, ttl=timedelta(minutes=5))
        await send(ws, type="auth", token=fresh)
        renewed = await recv(ws, "authenticated")
        assert renewed["identity"]["name"] == "admin"
        await asyncio.sleep(6.5)  # past the first token's expiry: still open
        await send(ws, type="ping", id=1)
        assert (await recv(ws, "pong"))["id"] == 1
        await send(ws, type="subscribe", sub="all")  # the subscription is still there: replaced
        assert (await recv(ws, "subscribed"))["sub"] == "all"
        # another principal's token does not take over a session
        await send(ws, type="auth", token=await token_from_settings(real_settings, Role.viewer))
        assert (await closed_with(ws))[0] == 4401


async def test_a_disabled_user_is_disconnected_at_the_next_check(
    real_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(realtime_routes, "RECHECK_S", 0.5)
    token = await token_from_settings(real_settings, Role.operator)
    app = create_app(real_settings)
    async with serve_app(app) as url, websockets.connect(f"ws://{url}/ws") as ws:
        await send(ws, type="auth", token=token)
        await recv(ws, "hello")
        service = app.state.auth
        user_id = await service.user_id_of("test-operator")
        await service.update_user(user_id, UserPatch(disabled=True))
        try:
            code, reason = await closed_with(ws)
        finally:
            await service.update_user(user_id, UserPatch(disabled=False))
    assert code == 4401, reason


async def test_a_subscription_the_role_may_not_hold_closes_4403(
    real_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every stream is a viewer's today: make one an operator's to see the rule hold
    monkeypatch.setitem(realtime_routes.STREAM_ROLES, "decisions", Role.operator)
    viewer = await token_from_settings(real_settings, Role.viewer)
    async with backend(real_settings) as url, websockets.connect(f"ws://{url}/ws") as ws:
        await send(ws, type="auth", token=viewer)
        await recv(ws, "hello")
        await send(ws, type="subscribe", sub="d", stream="decisions")
        code, reason = await closed_with(ws)
    assert code == 4403 and "needs role operator" in reason


async def test_non_browser_clients_may_authenticate_with_a_header(real_settings: Settings) -> None:
    token = await token_from_settings(real_settings)
    async with (
        backend(real_settings) as url,
        websockets.connect(f"ws://{url}/ws", additional_headers={"Authorization": f"Bearer {token}"}) as ws,
    ):
        assert (await recv(ws, "hello"))["identity"]["role"] == "admin"
