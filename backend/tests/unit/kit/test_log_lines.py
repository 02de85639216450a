"""Issue #20: no log line carries a secret, and every log line about a machine carries its id, under one key (`machine_id`), so that one search
(`machine_id="pump-0001"`) finds everything the platform said about that machine — backend and pipeline.

A static audit of every `log.<level>(...)` call in both source trees:
0. no key or value of a line names a secret (password, token, API key, ...);
1. the key that names a machine is spelled `machine_id` (never `machine`, `twin`, `device`, ...);
2. a line logged where one machine is in hand (a `machine_id` parameter or variable in the enclosing function,
   or an expression reading `.machine_id`) passes `machine_id=`;
and, at run time, the lines the consumer and the HTTP error handlers write about one machine carry its id
in the JSON output."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import fakeredis
import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import exc as sa

from dtwin.contracts.topics import RedisKeys
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.kit.bus import BusMessage, MemoryBus
from dtwin.twins.store import TwinStore

ROOT = Path(__file__).resolve().parents[4]
TREES = [ROOT / "backend" / "src" / "dtwin", ROOT / "data-pipeline" / "src" / "dtwin_pipeline"]
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}
# keys that would name one machine under another spelling
OTHER_SPELLINGS = {"machine", "twin", "twin_id", "device", "device_id", "machine_name", "mid"}
# words that name a secret: never a key of a log line, never read by its values
SECRET_WORDS = ("password", "secret", "token", "api_key", "authorization", "credential", "jwt", "cookie")


def _secrets_read(call: ast.Call) -> set[str]:
    """Names and attributes read by the line's values, and its keys, that name a secret."""
    words: set[str] = {k.arg for k in call.keywords if k.arg}
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        for n in ast.walk(arg):
            if isinstance(n, ast.Attribute):
                words.add(n.attr)
            elif isinstance(n, ast.Name):
                words.add(n.id)
    paths = ("_file", "_path")  # where a secret is kept is not the secret
    return {w for w in words if any(s in w.lower() for s in SECRET_WORDS) and not w.endswith(paths)}


def _binds_machine_id(target: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Name) and n.id == "machine_id" and isinstance(n.ctx, ast.Store)
        for n in ast.walk(target)
    )


def _log_calls(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[ast.Call, bool]]:
    """`log.x(...)` calls directly in this function (not in functions nested in it), each with whether one
    machine is in hand there: `machine_id` is a parameter, is assigned in the function, or is the variable of
    a loop the call is in (after such a loop, a summary line is about many machines)."""
    args = fn.args
    held = any(a.arg == "machine_id" for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])
    found: list[tuple[ast.Call, bool]] = []
    stack: list[tuple[ast.AST, bool]] = [(c, held) for c in ast.iter_child_nodes(fn)]
    assigned = False
    while stack:
        node, in_loop = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            assigned = assigned or any(_binds_machine_id(t) for t in targets)
        if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) and _binds_machine_id(node.target):
            stack.extend((c, True) for c in ast.iter_child_nodes(node))
            continue
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LEVELS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"log", "logger"}
        ):
            found.append((node, in_loop))
        stack.extend((c, in_loop) for c in ast.iter_child_nodes(node))
    return [(call, in_hand or assigned) for call, in_hand in found]


def _reads_machine_id(call: ast.Call) -> bool:
    return any(
        (isinstance(n, ast.Attribute) and n.attr == "machine_id")
        or (isinstance(n, ast.Name) and n.id == "machine_id")
        for arg in [*call.args, *(k.value for k in call.keywords)]
        for n in ast.walk(arg)
    )


def _audit(trees: list[Path], root: Path = ROOT) -> tuple[int, list[str]]:
    problems: list[str] = []
    calls = 0
    for tree in trees:
        for path in sorted(tree.rglob("*.py")):
            module = ast.parse(path.read_text(), filename=str(path))
            where = path.relative_to(root)
            for fn in ast.walk(module):
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for call, in_hand in _log_calls(fn):
                    calls += 1
                    keys = {k.arg for k in call.keywords if k.arg}
                    event = (
                        call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else "?"
                    )
                    at = f"{where}:{call.lineno} {event}"
                    if bad := keys & OTHER_SPELLINGS:
                        problems.append(f"{at}: names a machine as {sorted(bad)}; spell it machine_id")
                    if secrets := _secrets_read(call):
                        problems.append(f"{at}: reads {sorted(secrets)}: a secret must never be logged")
                    if (in_hand or _reads_machine_id(call)) and "machine_id" not in keys:
                        problems.append(f"{at}: a machine is in hand but the line has no machine_id=")
    return calls, problems


def test_no_log_line_carries_a_secret_and_every_line_about_a_machine_its_id() -> None:
    calls, problems = _audit(TREES)
    assert calls > 100, f"the audit found only {calls} log calls: it is not reading the sources"
    assert not problems, "\n".join(problems)


def test_the_audit_catches_a_line_without_the_id(tmp_path: Path) -> None:
    """The audit's own rules on a file that breaks each of them (so it cannot pass by reading nothing)."""
    src = tmp_path / "bad.py"
    src.write_text(
        "def f(machine_id, x):\n"
        "    log.info('a', value=x)\n"
        "    log.info('b', machine_id=machine_id)\n"
        "def g(t):\n"
        "    log.warning('c', twin=t.machine_id)\n"
        "    log.error('d', error=str(t))\n"
        "    log.info('e', user=t.name, password=t.password)\n"
    )
    calls, problems = _audit([tmp_path], tmp_path)
    assert calls == 5
    text = "\n".join(problems)
    assert ":2 a: a machine is in hand" in text
    assert ":5 c: names a machine as ['twin']" in text
    assert ":5 c: a machine is in hand" in text
    assert ":7 e: reads ['password']: a secret must never be logged" in text
    assert ":3 b" not in text and ":6 d" not in text


class Recorded:
    """A module's `log`, swapped for one that keeps each line's event dict."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object) -> None:
        self.capture = structlog.testing.LogCapture()
        monkeypatch.setattr(module, "log", structlog.wrap_logger(None, processors=[self.capture]))

    def line(self, event: str) -> dict[str, object]:
        found = [e for e in self.capture.entries if e["event"] == event]
        assert found, f"no {event!r} line among {[e['event'] for e in self.capture.entries]}"
        return found[0]


async def test_a_failed_request_about_a_machine_logs_its_id(monkeypatch: pytest.MonkeyPatch) -> None:
    import dtwin.errors

    logged = Recorded(monkeypatch, dtwin.errors)
    app = FastAPI()
    dtwin.errors.install_error_handlers(app)

    @app.get("/twins/{machine_id}/bug")
    async def bug(machine_id: str) -> None:
        raise RuntimeError("a bug")

    @app.get("/twins/{machine_id}/down")
    async def down(machine_id: str) -> None:
        raise sa.OperationalError("SELECT 1", (), ConnectionRefusedError("refused"))

    @app.get("/fleet/bug")
    async def fleet_bug() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/twins/pump-0007/bug")).status_code == 500
        assert logged.line("request_failed")["machine_id"] == "pump-0007"
        logged.capture.entries.clear()
        assert (await client.get("/twins/pump-0008/down")).status_code == 503
        assert logged.line("request_store_error")["machine_id"] == "pump-0008"
        logged.capture.entries.clear()
        assert (await client.get("/fleet/bug")).status_code == 500
        assert "machine_id" not in logged.line("request_failed")  # about no machine: no empty key


async def test_a_message_the_validator_chokes_on_logs_its_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    import dtwin.ingest.consumer as consumer_module

    logged = Recorded(monkeypatch, consumer_module)

    def choke(*args: object, **kwargs: object) -> None:
        raise ValueError("validator bug")

    monkeypatch.setattr(consumer_module, "parse_telemetry", choke)
    consumer = consumer_module.TelemetryConsumer(
        MemoryBus(),
        create_sessionmaker(create_engine("sqlite+aiosqlite://")),  # never connected: validation only
        TwinStore(fakeredis.FakeAsyncRedis(), RedisKeys("t")),
        topic="telemetry.raw",
        dlq_topic="telemetry.dlq",
        group="g",
    )
    m = BusMessage("telemetry.raw", 3, 17, b"press-0042", b"{}", {})
    rejection = consumer._validate(m, datetime.now(UTC))
    assert rejection.code == "processing"  # type: ignore[union-attr]
    line = logged.line("validation_error")
    assert (line["machine_id"], line["partition"], line["offset"]) == ("press-0042", 3, 17)
