"""The platform under fault injection: throwaway servers, `dtwin serve` (one or two), `dtwin bridge` and
`dtwin simulate` as processes, and the faults themselves (kill -9, a server stopped and started again on the
same port, a Redis or Kafka broker that comes back empty)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dtwin_devkit.servers import (
    PG_BIN,
    Server,
    ServerError,
    _as_postgres,
    env_for,
    free_port,
    running,
    start_tansu,
    stop_processes,
    tansu_launch,
    wait_port,
)

DTWIN = str(Path(sys.executable).parent / "dtwin")


@dataclass
class Backend:
    port: int
    proc: subprocess.Popen[bytes]
    name: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Stack:
    """One scenario's whole platform. Every process logs to `workdir/<name>.log`."""

    servers: dict[str, Server]
    env: dict[str, str]
    workdir: Path
    backends: list[Backend] = field(default_factory=list)
    bridge: subprocess.Popen[bytes] | None = None
    simulator: subprocess.Popen[bytes] | None = None
    starts: int = 0
    crashed: list[str] = field(default_factory=list)  # processes that died without being killed by us

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        self.starts += 1
        log = (self.workdir / f"{name}.log").open("ab")
        return subprocess.Popen(
            [DTWIN, *args], env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_backend(self, port: int | None = None, name: str | None = None) -> Backend:
        port = port or free_port()
        name = name or f"backend-{len(self.backends) + 1}"
        proc = self._spawn(name, ["serve"], {**self.env, "DTWIN_PORT": str(port)})
        backend = Backend(port, proc, name)
        self.backends.append(backend)
        return backend

    def restart_backend(self, old: Backend) -> Backend:
        """The same port and log again, as a supervisor restarting the process would."""
        self.backends.remove(old)
        return self.start_backend(old.port, old.name)

    def start_bridge(self) -> None:
        self.bridge = self._spawn("bridge", ["bridge"])

    def start_simulator(self, args: list[str]) -> None:
        self.simulator = subprocess.Popen(
            [DTWIN, "simulate", "--quiet", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=(self.workdir / "simulator.log").open("ab"),
            start_new_session=True,
        )

    def live_backends(self) -> list[Backend]:
        return [b for b in self.backends if b.alive]

    def note_crashes(self) -> None:
        for b in self.backends:
            if not b.alive and f"{b.name}:{b.proc.pid}" not in self.crashed and b.proc.returncode != -9:
                self.crashed.append(f"{b.name}:{b.proc.pid} exited {b.proc.returncode}")
        if self.bridge is not None and self.bridge.poll() not in (None, -9):
            self.crashed.append(f"bridge:{self.bridge.pid} exited {self.bridge.returncode}")
            self.bridge = None

    def stop_all(self) -> None:
        procs = [b.proc for b in self.backends if b.alive]
        if self.bridge is not None and self.bridge.poll() is None:
            procs.append(self.bridge)
        if self.simulator is not None and self.simulator.poll() is None:
            procs.append(self.simulator)
        stop_processes(procs)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


# ------------------------------------------------------------------ faults on the servers


def _pg_paths(server: Server) -> tuple[Path, Path, Path]:
    assert server.workdir is not None
    return server.workdir, server.workdir / "data", server.workdir / "log"


def stop_postgres(server: Server) -> None:
    """`pg_ctl -m immediate stop`, keeping the data directory: connections are refused until started."""
    _, data, _ = _pg_paths(server)
    subprocess.run(
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
        capture_output=True,
        check=True,
        timeout=60,
    )


def _postgres_pids(server: Server) -> list[int]:
    """The postmaster and its children (backends, background workers)."""
    _, data, _ = _pg_paths(server)
    postmaster = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True)
    return [postmaster, *(int(x) for x in out.stdout.split())]


def freeze_postgres(server: Server) -> None:
    """SIGSTOP the whole cluster: it accepts TCP connections (the kernel's backlog) and answers nothing, as
    a server hung on its disk or behind a network partition does."""
    for pid in _postgres_pids(server):
        os.kill(pid, signal.SIGSTOP)


def thaw_postgres(server: Server) -> None:
    for pid in _postgres_pids(server):
        os.kill(pid, signal.SIGCONT)


def start_postgres_again(server: Server) -> None:
    """Start the same cluster on the same port (crash recovery from its WAL)."""
    work, data, log = _pg_paths(server)
    opts = (
        f"-p {server.port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    r = subprocess.run(
        _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", opts, "start"]
        ),
        capture_output=True,
        check=False,
        timeout=90,
    )
    if r.returncode != 0:
        raise ServerError(f"PostgreSQL did not start again: {r.stderr.decode()[-300:]}")
    wait_port(server.port, 30, what="PostgreSQL")


def _respawn(server: Server, cmd: list[str], what: str, env: dict[str, str] | None = None) -> None:
    """Start `cmd` where `server` listened; the port can take a moment to be free again."""
    deadline = time.monotonic() + 20
    while True:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(server.port, 10, proc, what)
            server.proc = proc
            return
        except ServerError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(5)
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def restart_redis_empty(server: Server) -> None:
    """Stop redis-server and start a fresh one (no persistence: empty) on the same port."""
    assert server.proc is not None
    assert server.workdir is not None
    stop_processes([server.proc])
    shutil.rmtree(server.workdir, ignore_errors=True)
    server.workdir = Path(tempfile.mkdtemp(prefix="dtwin-redis-", dir="/tmp"))
    binary = shutil.which("redis-server") or "redis-server"
    cmd = [binary, "--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    _respawn(server, [*cmd, "--dir", str(server.workdir)], "redis-server")


def stop_tansu(server: Server) -> None:
    assert server.proc is not None
    stop_processes([server.proc])


def start_tansu_again(server: Server) -> None:
    """A new Tansu on the same port and the same storage: on memory every topic, record and committed
    offset is gone; on S3 (`start_tansu("s3")`) they are all back, as after a real broker's restart."""
    cmd, env = tansu_launch(server)
    _respawn(server, cmd, "tansu", env)


# ------------------------------------------------------------------ the stack


@contextlib.contextmanager
def fresh_stack(name: str, root: Path, kafka_storage: str = "memory") -> Iterator[Stack]:
    """New servers (so a new database, topics and Redis; Tansu on `kafka_storage`, see `start_tansu`) and
    the DTWIN_* environment for the processes."""
    workdir = root / name
    workdir.mkdir(parents=True, exist_ok=True)
    with running("postgres", "redis", "mosquitto") as servers:
        kafka = start_tansu(kafka_storage)
        servers["kafka"] = kafka
        env = {
            **os.environ,
            **env_for(servers),
            "DTWIN_FRONTEND_DIST": "",
            "DTWIN_BRIDGE_METRICS_PORT": "",
            "DTWIN_BRIDGE_CLIENT_ID": f"chaos-{name}-bridge",
            "DTWIN_DATA_DIR": str(workdir / "data"),
            "DTWIN_LOG_LEVEL": "info",
            # the harness polls twins twice a second: the API's per-caller limits are not under test
            "DTWIN_RATE_LIMIT_ENABLED": "false",
        }
        stack = Stack(servers, env, workdir)
        try:
            yield stack
        finally:
            stack.stop_all()
            kafka.stop()
