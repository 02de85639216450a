"""`dtwin users ...`: manage users against the configured database (DTWIN_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from dtwin.auth.identity import Role
from dtwin.auth.schemas import UserCreate, UserPatch, UserRead
from dtwin.auth.service import AuthService
from dtwin.errors import DtwinError

users_app = typer.Typer(help="Users who log in to the API and the dashboard", no_args_is_help=True)

T = TypeVar("T")


def _run(work: Callable[[AuthService], Awaitable[T]]) -> T:
    """Run `work` on an AuthService over the configured database (migrated first if DTWIN_AUTO_MIGRATE);
    a refused change exits 1 with its reason."""
    from dtwin.config import get_settings
    from dtwin.core import migrate
    from dtwin.core.db import create_engine, create_sessionmaker

    settings = get_settings()

    async def go() -> T:
        if settings.auto_migrate:
            await migrate.upgrade(settings.database_url)
        engine = create_engine(settings.database_url)
        try:
            return await work(AuthService(create_sessionmaker(engine)))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except DtwinError as exc:
        typer.echo(f"error: {exc.detail or exc.title}", err=True)
        raise typer.Exit(1) from None


def _line(u: UserRead) -> str:
    last = u.last_login_at.isoformat() if u.last_login_at else "never"
    state = "disabled" if u.disabled else "enabled"
    return f"{u.username:<24} {u.role.value:<9} {state:<9} last login {last}  id {u.id}"


@users_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="2-64 of a-z 0-9 . _ -")],
    role: Annotated[Role, typer.Option(help="viewer, operator or admin")] = Role.viewer,
    password: Annotated[
        str | None,
        typer.Option(envvar="DTWIN_NEW_USER_PASSWORD", help="Asked for (hidden) if not given"),
    ] = None,
) -> None:
    """Create a user."""
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        body = UserCreate(username=username, password=password, role=role)
    except ValidationError as exc:
        reasons = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        typer.echo(f"error: {reasons}", err=True)
        raise typer.Exit(2) from None
    user = _run(lambda s: s.create_user(body))
    typer.echo(f"created {_line(user)}")


@users_app.command("list")
def list_() -> None:
    """Every user: name, role, enabled, last login."""
    for user in _run(lambda s: s.list_users()):
        typer.echo(_line(user))


def _patch(username: str, patch: UserPatch) -> UserRead:
    async def work(s: AuthService) -> UserRead:
        return await s.update_user(await s.user_id_of(username), patch)

    return _run(work)


@users_app.command("disable")
def disable(username: str) -> None:
    """Disable a user: no login, no refresh, access tokens refused from the next request on."""
    typer.echo(f"disabled {_line(_patch(username, UserPatch(disabled=True)))}")


@users_app.command("enable")
def enable(username: str) -> None:
    """Enable a disabled user again."""
    typer.echo(f"enabled {_line(_patch(username, UserPatch(disabled=False)))}")


@users_app.command("set-role")
def set_role(username: str, role: Annotated[Role, typer.Argument(help="viewer, operator or admin")]) -> None:
    """Change a user's role (applies to their next request)."""
    typer.echo(f"updated {_line(_patch(username, UserPatch(role=role)))}")
