"""Every SQL statement of the auth room (PostgreSQL and SQLite alike)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.auth.models import ApiKeyRow, RefreshTokenRow, UserRow
from dtwin.core.db import dialect_insert


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- users ---
    async def user(self, user_id: str) -> UserRow | None:
        return await self.session.get(UserRow, user_id)

    async def user_by_name(self, username: str) -> UserRow | None:
        return (await self.session.scalars(select(UserRow).where(UserRow.username == username))).one_or_none()

    async def users(self) -> list[UserRow]:
        return list((await self.session.scalars(select(UserRow).order_by(UserRow.username))).all())

    async def count_users(self) -> int:
        return (await self.session.scalar(select(func.count()).select_from(UserRow))) or 0

    async def count_enabled_admins(self) -> int:
        q = (
            select(func.count())
            .select_from(UserRow)
            .where(UserRow.role == "admin", UserRow.disabled.is_(False))
        )
        return (await self.session.scalar(q)) or 0

    async def insert_user(self, values: dict[str, Any]) -> UserRow | None:
        """Insert a user; None if the name is taken (by a concurrent insert too)."""
        stmt = (
            dialect_insert(self.session)(UserRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=["username"])
            .returning(UserRow)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def update_user(self, user_id: str, values: dict[str, Any]) -> UserRow | None:
        stmt = (
            update(UserRow)
            .where(UserRow.id == user_id)
            .values(values)
            .returning(UserRow)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    # --- refresh tokens ---
    async def add_refresh(self, row: RefreshTokenRow) -> None:
        self.session.add(row)
        await self.session.flush()

    async def refresh_by_hash(self, token_hash: str) -> RefreshTokenRow | None:
        """The token's row, locked until the transaction ends (two refreshes with one token serialise:
        the second sees it revoked)."""
        q = select(RefreshTokenRow).where(RefreshTokenRow.token_hash == token_hash).with_for_update()
        return (await self.session.scalars(q)).one_or_none()

    async def revoke_refresh(self, token_id: str, now: datetime) -> None:
        await self.session.execute(
            update(RefreshTokenRow).where(RefreshTokenRow.id == token_id).values(revoked_at=now)
        )

    async def revoke_family(self, family_id: str, now: datetime) -> int:
        result = await self.session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def delete_expired_refresh(self, user_id: str, now: datetime) -> int:
        """Forget the user's refresh tokens past their expiry (they authenticate nothing any more)."""
        result = await self.session.execute(
            delete(RefreshTokenRow).where(
                RefreshTokenRow.user_id == user_id, RefreshTokenRow.expires_at < now
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def revoke_user_tokens(self, user_id: str, now: datetime) -> None:
        await self.session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.user_id == user_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    # --- API keys ---
    async def add_api_key(self, row: ApiKeyRow) -> None:
        self.session.add(row)
        await self.session.flush()

    async def api_key(self, key_id: str) -> ApiKeyRow | None:
        return await self.session.get(ApiKeyRow, key_id)

    async def api_key_by_hash(self, key_hash: str) -> ApiKeyRow | None:
        return (
            await self.session.scalars(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash))
        ).one_or_none()

    async def api_keys(self) -> list[ApiKeyRow]:
        q = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        return list((await self.session.scalars(q)).all())

    async def touch_api_key(self, key_id: str, now: datetime) -> None:
        await self.session.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=now))
