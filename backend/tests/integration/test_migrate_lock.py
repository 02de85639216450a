"""Migrations take an advisory lock (migrations/env.py), so several processes migrating one database at once
(backends starting together, a `dtwin migrate` job beside them) run one after the other: while another
session holds the lock a migration waits; released, it runs to head."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from dtwin_devkit.servers import Server

MIGRATE = "import sys; from dtwin.core.migrate import upgrade_sync; upgrade_sync(sys.argv[1])"
MIGRATION_LOCK = 0x6474_7769_6E5F_6D67  # migrations/env.py


async def test_a_migration_waits_for_the_one_running(
    servers: dict[str, Server], uid: str, tmp_path: Path
) -> None:
    url = make_url(servers["postgres"].url)
    name = f"mig{uid}"
    admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        holder = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=name)
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)  # "another process migrating"
        target = url.set(database=name).render_as_string(hide_password=False)
        log = tmp_path / "migrate.log"
        proc = subprocess.Popen(
            [sys.executable, "-c", MIGRATE, target], stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        time.sleep(4)
        assert proc.poll() is None, f"migrated while the lock was held: {log.read_text()[-2000:]}"
        tables = await holder.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables == 0  # it has not started
        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        assert proc.wait(300) == 0, log.read_text()[-2000:]
        assert len(await holder.fetch("SELECT version_num FROM alembic_version")) == 1
        await holder.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
