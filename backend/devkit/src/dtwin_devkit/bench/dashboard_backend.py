"""The backend the dashboard benchmark measures against (`make bench-frontend`, Playwright's web server).

`dtwin serve` with the embedded simulator (``--machines``, 1 Hz) and the in-process bus, on throwaway
PostgreSQL and Redis servers started here (free ports, removed on exit). Not `dtwin demo`: its embedded
stores (fakeredis running the twin store's Lua in Python, SQLite behind the ORM) take a whole core for
1,000 machines and fall behind real time, and on this 2-core machine that core is taken from the
browser being measured. With the real servers the backend keeps up using about half a core.

    python -m dtwin_devkit.bench.dashboard_backend --port 8765 --machines 1000

Stops on SIGTERM or Ctrl-C (Playwright's graceful shutdown), servers included.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from dtwin.core.migrate import upgrade_sync
from dtwin_devkit.servers import env_for, running, stop_processes

DTWIN = str(Path(sys.executable).parent / "dtwin")


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--machines", type=int, default=1000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    with running("postgres", "redis") as servers:
        env = {
            **os.environ,
            **env_for(servers),
            "DTWIN_HOST": args.host,
            "DTWIN_PORT": str(args.port),
            "DTWIN_SIMULATOR_MACHINES": str(args.machines),
            "DTWIN_LOG_LEVEL": os.environ.get("DTWIN_LOG_LEVEL", "warning"),
        }
        for var in ("DTWIN_KAFKA_BOOTSTRAP", "DTWIN_SIMULATOR_SCENARIO"):
            env.pop(var, None)
        upgrade_sync(env["DTWIN_DATABASE_URL"])
        backend = subprocess.Popen([DTWIN, "serve"], env=env)
        try:
            sys.exit(backend.wait())
        finally:
            stop_processes([backend])


if __name__ == "__main__":
    main()
