"""`dtwin devices provision` on the command line: named accounts, `--simulated N` (the simulator's fleet)
and the refusal of a call that names nobody."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dtwin_pipeline.devices.cli import app
from dtwin_pipeline.devices.credentials import CredentialStore, read_credentials
from dtwin_pipeline.settings import get_settings
from dtwin_pipeline.simulator.fleet import SimulatorConfig, plan_fleet


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CredentialStore]:
    """The files the CLI writes, chosen through the settings it reads (DTWIN_MQTT_*_FILE)."""
    store = CredentialStore(tmp_path / "mqtt" / "passwd", tmp_path / "mqtt" / "acl")
    monkeypatch.setenv("DTWIN_MQTT_PASSWORD_FILE", str(store.password_file))
    monkeypatch.setenv("DTWIN_MQTT_ACL_FILE", str(store.acl_file))
    get_settings.cache_clear()
    yield store
    get_settings.cache_clear()


def provision(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["provision", *args])
    return result.exit_code, result.stdout, result.stderr


def test_provision_simulated_issues_the_simulators_machine_ids(
    store: CredentialStore, tmp_path: Path
) -> None:
    out = tmp_path / "devices.json"
    code, stdout, stderr = provision("--simulated", "5", "--credentials-out", str(out))
    assert code == 0, stderr
    assert stdout == ""  # passwords go to the file only
    simulated = [m.id for m in plan_fleet(SimulatorConfig(machines=5))]
    # what `dtwin simulate --machines 5` publishes as: one machine of each type, numbered in order
    assert simulated == ["pump-0001", "comp-0002", "motor-0003", "cnc-0004", "conv-0005"]
    assert [(a.username, a.service) for a in store.accounts()] == [(m, False) for m in sorted(simulated)]
    creds = read_credentials(out)
    assert sorted(creds) == sorted(simulated)
    assert all(store.verify(m, pw) for m, pw in creds.items())


def test_provision_simulated_and_named_machines_together(store: CredentialStore) -> None:
    code, stdout, stderr = provision("CNC-9001", "pump-0001", "--simulated", "2")
    assert code == 0, stderr
    printed = dict(line.split(" ", 1) for line in stdout.splitlines())
    assert sorted(printed) == ["CNC-9001", "comp-0002", "pump-0001"]  # pump-0001 once, though named twice
    assert all(store.verify(name, pw) for name, pw in printed.items())


def test_provision_without_names_or_simulated_is_refused(store: CredentialStore) -> None:
    code, _, stderr = provision()
    assert code == 2
    assert "give at least one machine id or --simulated N" in stderr
    assert not store.password_file.exists()


def test_provision_simulated_as_service_accounts_is_refused(store: CredentialStore) -> None:
    code, _, stderr = provision("--simulated", "3", "--service")
    assert code == 2
    assert "simulated machines are devices" in stderr
    assert not store.password_file.exists()


@pytest.mark.parametrize("count", ["0", "-1"])
def test_provision_simulated_needs_a_positive_count(store: CredentialStore, count: str) -> None:
    code, _, _ = provision("--simulated", count)
    assert code == 2
    assert not store.password_file.exists()
