"""Provisioning writes Mosquitto's password and ACL files: hashes only, rotation, revocation."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from dtwin_pipeline.devices.credentials import (
    CredentialError,
    CredentialStore,
    read_credentials,
    verify_password,
    write_credentials,
)


@pytest.fixture
def store(tmp_path: Path) -> CredentialStore:
    return CredentialStore(tmp_path / "mqtt" / "passwd", tmp_path / "mqtt" / "acl")


def _lines(path: Path) -> dict[str, str]:
    return dict(line.split(":", 1) for line in path.read_text().splitlines())


def test_provision_writes_a_pbkdf2_hash_not_the_password(store: CredentialStore) -> None:
    password = store.provision("CNC-0001")
    entries = _lines(store.password_file)
    assert list(entries) == ["CNC-0001"]
    assert password not in store.password_file.read_text()
    _, alg, iterations, salt, digest = entries["CNC-0001"].split("$")
    expected = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations), 64)
    assert (alg, base64.b64decode(digest)) == ("7", expected)
    assert store.verify("CNC-0001", password)
    assert not store.verify("CNC-0001", password + "x")


def test_provision_again_rotates_the_password(store: CredentialStore) -> None:
    first = store.provision("CNC-0001")
    store.provision("PUMP-0002")
    second = store.provision("CNC-0001")
    assert first != second
    assert store.verify("CNC-0001", second)
    assert not store.verify("CNC-0001", first)
    assert sorted(_lines(store.password_file)) == ["CNC-0001", "PUMP-0002"]


def test_revoke_removes_only_that_account(store: CredentialStore) -> None:
    store.provision("CNC-0001")
    pump = store.provision("PUMP-0002")
    assert store.revoke("CNC-0001")
    assert not store.revoke("CNC-0001")
    assert list(_lines(store.password_file)) == ["PUMP-0002"]
    assert store.verify("PUMP-0002", pump)


def test_acl_ties_devices_to_their_own_topics_and_lists_service_accounts(store: CredentialStore) -> None:
    store.provision("CNC-0001")
    store.provision("dtwin-bridge", service=True)
    rules = [line for line in store.acl_file.read_text().splitlines() if line and not line.startswith("#")]
    assert rules == [
        "pattern write plant/+/+/%u/telemetry",
        "pattern write plant/+/+/%u/ack",
        "pattern read plant/+/+/%u/desired",
        "user dtwin-bridge",
        "topic read plant/+/+/+/telemetry",
        "topic read plant/+/+/+/ack",
        "topic write plant/+/+/+/desired",
    ]
    assert [(a.username, a.service) for a in store.accounts()] == [
        ("CNC-0001", False),
        ("dtwin-bridge", True),
    ]
    store.revoke("dtwin-bridge")
    assert "user dtwin-bridge" not in store.acl_file.read_text()


def test_a_device_cannot_be_reprovisioned_as_a_service_account(store: CredentialStore) -> None:
    store.provision("CNC-0001")
    with pytest.raises(CredentialError, match="is a device"):
        store.provision("CNC-0001", service=True)
    assert store.services() == set()


@pytest.mark.parametrize("name", ["bad:id", "", "a/b", "+", "#", "-lead"])
def test_names_that_cannot_be_mqtt_usernames_are_refused(store: CredentialStore, name: str) -> None:
    with pytest.raises(CredentialError):
        store.provision(name)
    assert not store.password_file.exists()


def test_hashes_from_mosquitto_passwd_verify(tmp_path: Path) -> None:
    """Our format is mosquitto_passwd's: a hash the tool wrote checks out with our verifier."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.fail("mosquitto_passwd not found: apt-get install -y mosquitto")
    path = tmp_path / "passwd"
    subprocess.run([tool, "-c", "-b", str(path), "dev", "s3cret"], check=True)
    stored = _lines(path)["dev"]
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cret!", stored)


def test_credentials_file_merges_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    write_credentials(path, {"A-1": "p1", "B-2": "p2"})
    write_credentials(path, {"A-1": "p3"})
    assert read_credentials(path) == {"A-1": "p3", "B-2": "p2"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert orjson.loads(path.read_bytes()) == {"A-1": "p3", "B-2": "p2"}


ACL_EXAMPLE = Path(__file__).resolve().parents[4] / "infrastructure" / "mosquitto" / "acl.example"


def _acl_rules(text: str) -> dict[str | None, set[str]]:
    """Mosquitto's reading of an ACL file: `pattern` lines apply to everyone (key None) wherever they stand;
    `topic` lines belong to the last `user` line before them."""
    rules: dict[str | None, set[str]] = {None: set()}
    user: str | None = None
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        kind, rest = line.split(None, 1)
        if kind == "user":
            user = rest
            rules.setdefault(user, set())
        elif kind == "pattern":
            rules[None].add(rest)
        else:
            assert kind == "topic", line
            rules[user].add(rest)
    return rules


def test_generated_acl_grants_what_acl_example_documents(store: CredentialStore) -> None:
    store.provision("dtwin-bridge", service=True)
    store.provision("CNC-0001")
    assert _acl_rules(store.acl_file.read_text()) == _acl_rules(ACL_EXAMPLE.read_text())
