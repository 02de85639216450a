"""`dtwin devices provision|revoke|list`: per-device MQTT credentials in the files Mosquitto reads
(DTWIN_MQTT_PASSWORD_FILE, DTWIN_MQTT_ACL_FILE). Mosquitto applies changes on SIGHUP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dtwin_pipeline.devices.credentials import (
    CredentialError,
    CredentialStore,
    check_username,
    write_credentials,
)

app = typer.Typer(help="Device identity on MQTT: credentials and ACL for Mosquitto", no_args_is_help=True)

RELOAD_HINT = (
    "apply with a Mosquitto reload: kill -HUP <mosquitto pid> (compose: docker compose kill -s HUP mosquitto)"
)


def simulated_machine_ids(machines: int) -> list[str]:
    """The machine ids `dtwin simulate --machines N` publishes as (all types, no --id-offset)."""
    from dtwin_pipeline.simulator.fleet import SimulatorConfig, plan_fleet

    return [m.id for m in plan_fleet(SimulatorConfig(machines=machines))]


def _store() -> CredentialStore:
    from dtwin_pipeline.settings import get_settings

    s = get_settings()
    return CredentialStore(s.mqtt_password_file, s.mqtt_acl_file)


@app.command()
def provision(
    usernames: Annotated[
        list[str] | None, typer.Argument(help="Machine ids (or service account names)", show_default=False)
    ] = None,
    simulated: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Also the N machine ids `dtwin simulate --machines N` uses (all types, no --id-offset)",
        ),
    ] = None,
    service: Annotated[
        bool, typer.Option("--service", help="A service account (the bridge): all telemetry/acks/desired")
    ] = False,
    credentials_out: Annotated[
        Path | None,
        typer.Option(help="Merge the passwords into this JSON file (mode 0600) instead of printing them"),
    ] = None,
) -> None:
    """Issue MQTT credentials: a new random password per name, shown once (or written to
    --credentials-out), stored hashed. Provisioning a name again rotates its password."""
    names = list(usernames or [])
    if simulated is not None:
        if service:
            raise typer.BadParameter(
                "simulated machines are devices, not service accounts", param_hint="--service"
            )
        names += [n for n in simulated_machine_ids(simulated) if n not in names]
    if not names:
        raise typer.BadParameter("give at least one machine id or --simulated N", param_hint="USERNAMES")
    store = _store()
    try:
        for name in names:  # all or nothing: refuse a bad name before issuing any
            check_username(name)
        issued = {name: store.provision(name, service=service) for name in names}
    except CredentialError as exc:
        raise typer.BadParameter(str(exc)) from None
    if credentials_out is not None:
        write_credentials(credentials_out, issued)
        typer.echo(f"{len(issued)} password(s) written to {credentials_out}", err=True)
    else:
        for name, password in issued.items():
            typer.echo(f"{name} {password}")
    typer.echo(RELOAD_HINT, err=True)


@app.command()
def revoke(usernames: Annotated[list[str], typer.Argument(help="Machine ids or service accounts")]) -> None:
    """Remove credentials; the device is refused from its next connection after the reload."""
    store = _store()
    missing = [name for name in usernames if not store.revoke(name)]
    if missing:
        typer.echo(f"no credentials for: {', '.join(missing)}", err=True)
    typer.echo(RELOAD_HINT, err=True)
    if missing:
        raise typer.Exit(1)


@app.command("list")
def list_accounts() -> None:
    """Every account with credentials, one a line: name and kind (device or service)."""
    for account in _store().accounts():
        typer.echo(f"{account.username} {'service' if account.service else 'device'}")
