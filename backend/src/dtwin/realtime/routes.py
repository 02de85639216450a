"""WebSocket endpoint `/ws`: every twin update, fanned out from Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from dtwin.contracts.telemetry import iso_utc
from dtwin.realtime.hub import CLOSE_SLOW, Client, Hub

router = APIRouter(tags=["realtime"])


async def _pump(ws: WebSocket, client: Client) -> None:
    while True:
        text = await client.queue.get()
        if text is None:
            await ws.close(code=CLOSE_SLOW, reason="client too slow: send buffer full")
            return
        await ws.send_text(text)
        client.sent += 1


@router.websocket("/ws")
async def websocket_updates(ws: WebSocket) -> None:
    """Server sends `{"type":"hello"}` then `{"type":"updates","items":[TwinUpdate...]}` messages;
    a client may send `{"type":"ping"}` and receives `{"type":"pong"}`."""
    hub: Hub = ws.app.state.hub
    await ws.accept()
    client = hub.register()
    pump = asyncio.create_task(_pump(ws, client), name="ws-pump")
    try:
        await ws.send_text(
            orjson.dumps({"type": "hello", "server_time": iso_utc(datetime.now(UTC))}).decode()
        )
        receive = asyncio.create_task(ws.receive_text())
        while True:
            done, _ = await asyncio.wait({receive, pump}, return_when=asyncio.FIRST_COMPLETED)
            if pump in done:
                break
            text = receive.result()
            try:
                msg = orjson.loads(text)
            except orjson.JSONDecodeError:
                msg = None
            if isinstance(msg, dict) and msg.get("type") == "ping":
                client.offer('{"type":"pong"}')
            receive = asyncio.create_task(ws.receive_text())
        receive.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unregister(client)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
