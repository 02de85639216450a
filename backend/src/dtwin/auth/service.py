"""Business rules of the auth room: login, refresh-token rotation with theft detection, logout, resolving
a credential to an identity, users and API keys. Each operation runs in its own transaction (it is handed
the sessionmaker), so a detected refresh-token reuse stays revoked although the request then fails."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.auth import tokens
from dtwin.auth.identity import Identity, Role
from dtwin.auth.models import ApiKeyRow, RefreshTokenRow, UserRow
from dtwin.auth.passwords import hash_password_async, verify_password_async
from dtwin.auth.repository import AuthRepository
from dtwin.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    TokenPair,
    UserCreate,
    UserPatch,
    UserRead,
)
from dtwin.core.db import transaction
from dtwin.errors import Conflict, InvalidInput, NotFound, Unauthorized

log = structlog.get_logger(__name__)

TOUCH_EVERY = timedelta(seconds=60)  # an API key's last_used_at is written at most this often
CACHE_MAX_ENTRIES = 10_000  # identities remembered (users and keys); past it the cache starts over


class IdentityCache:
    """What a credential's database row said, for `ttl_s` seconds: a user's name, role and enabled state
    by user id, an API key's identity by digest. It spares the row read per request (a transaction, about
    three quarters of the cost of authenticating: docs/benchmarks.md). Changes this process makes drop
    their entries at once; another process's change (the CLI, another backend) applies within `ttl_s`."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, Identity | None]] = {}

    def get(self, key: str) -> tuple[bool, Identity | None]:
        """(found, identity); a found None is a refusal remembered (unknown, disabled, revoked)."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            return False, None
        return True, entry[1]

    def put(self, key: str, identity: Identity | None) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._entries) >= CACHE_MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (self._clock() + self.ttl_s, identity)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def drop_where(self, predicate: Callable[[Identity | None], bool]) -> None:
        for key in [k for k, (_, identity) in self._entries.items() if predicate(identity)]:
            del self._entries[key]


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    access_ttl: timedelta
    refresh_ttl: timedelta


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


class AuthService:
    """Users, sessions (access + refresh tokens) and API keys. `tokens` may be None where no token is
    issued or checked (the `dtwin users` CLI)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tokens: TokenSettings | None = None,
        clock: Callable[[], datetime] = _utcnow,
        cache_s: float = 0.0,
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._clock = clock
        self.cache = IdentityCache(cache_s)

    @property
    def token_settings(self) -> TokenSettings:
        if self._tokens is None:
            raise RuntimeError("AuthService built without token settings")
        return self._tokens

    # ------------------------------------------------------------------ sessions

    async def login(self, username: str, password: str) -> TokenPair:
        """A new token pair (a new refresh family) for valid credentials of an enabled user; 401 for a
        wrong name or password or a disabled user, all alike."""
        async with transaction(self._sessions) as session:
            repo = AuthRepository(session)
            user = await repo.user_by_name(username)
            ok = await verify_password_async(password, user.password_hash if user else None)
            if user is None or not ok or user.disabled:
                log.info("login_failed", username=username[:64])
                raise Unauthorized("wrong username or password")
            now = self._clock()
            await repo.update_user(user.id, {"last_login_at": now})
            await repo.delete_expired_refresh(user.id, now)  # the table holds live tokens, not history
            pair = await self._issue(repo, user, family_id=_new_id(), now=now)
        log.info("login", user_id=user.id)
        return pair

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Trade a refresh token for a new pair; the token is revoked. A token that was already revoked
        (used twice: one copy was stolen) revokes its whole family, so neither copy works any more."""
        reused = False
        async with transaction(self._sessions) as session:
            repo = AuthRepository(session)
            row = await repo.refresh_by_hash(tokens.digest(refresh_token))
            now = self._clock()
            if row is None:
                raise Unauthorized("unknown refresh token")
            if row.revoked_at is not None:
                revoked = await repo.revoke_family(row.family_id, now)
                log.warning("refresh_token_reused", user_id=row.user_id, family_revoked=revoked)
                reused = True
            else:
                if row.expires_at <= now:
                    raise Unauthorized("refresh token expired")
                user = await repo.user(row.user_id)
                if user is None or user.disabled:
                    await repo.revoke_user_tokens(row.user_id, now)
                    disabled = True
                else:
                    disabled = False
                    await repo.revoke_refresh(row.id, now)
                    await repo.delete_expired_refresh(row.user_id, now)
                    pair = await self._issue(repo, user, family_id=row.family_id, now=now)
        # raised after the commit, so the revocations stay
        if reused:
            raise Unauthorized("refresh token already used: every session of this login is revoked")
        if disabled:
            raise Unauthorized("user disabled")
        return pair

    async def logout(self, refresh_token: str) -> None:
        """Revoke the token's family (this login on every device it was refreshed to). An unknown token
        is not an error: the session is gone either way."""
        async with transaction(self._sessions) as session:
            repo = AuthRepository(session)
            row = await repo.refresh_by_hash(tokens.digest(refresh_token))
            if row is not None:
                await repo.revoke_family(row.family_id, self._clock())
                log.info("logout", user_id=row.user_id)

    async def _issue(
        self, repo: AuthRepository, user: UserRow, *, family_id: str, now: datetime
    ) -> TokenPair:
        ts = self.token_settings
        refresh = tokens.new_refresh_token()
        await repo.add_refresh(
            RefreshTokenRow(
                id=_new_id(),
                user_id=user.id,
                family_id=family_id,
                token_hash=tokens.digest(refresh),
                created_at=now,
                expires_at=now + ts.refresh_ttl,
            )
        )
        access = tokens.encode_access(
            ts.secret, sub=user.id, role=Role(user.role), now=now, ttl=ts.access_ttl
        )
        return TokenPair(
            access_token=access,
            expires_in=int(ts.access_ttl.total_seconds()),
            refresh_token=refresh,
            refresh_expires_in=int(ts.refresh_ttl.total_seconds()),
        )

    # ------------------------------------------------------------------ credentials

    async def authenticate(self, credential: str) -> Identity:
        """The identity behind an access token or an API key; 401 otherwise. For a user, the row is read on
        every request: a disabled user is refused at once and a changed role applies at once."""
        if tokens.is_api_key(credential):
            return await self._authenticate_key(credential)
        try:
            claims = tokens.decode_access(self.token_settings.secret, credential)
        except tokens.TokenError as exc:
            raise Unauthorized(str(exc)) from None
        found, known = self.cache.get(claims.sub)
        if not found:
            async with transaction(self._sessions) as session:
                user = await AuthRepository(session).user(claims.sub)
            known = None
            if user is not None and not user.disabled:
                known = Identity(kind="user", id=user.id, name=user.username, role=Role(user.role))
            self.cache.put(claims.sub, known)
        if known is None:
            raise Unauthorized("user unknown or disabled")
        return replace(known, expires_at=datetime.fromtimestamp(claims.exp, UTC))

    async def _authenticate_key(self, key: str) -> Identity:
        if len(key) > tokens.MAX_TOKEN_CHARS:
            raise Unauthorized("unknown API key")
        digest = tokens.digest(key)
        found, known = self.cache.get(digest)
        if found:
            if known is None:
                raise Unauthorized("unknown, revoked or expired API key")
            if known.expires_at is None or known.expires_at > self._clock():
                return known
        try:
            identity = await self._lookup_key(digest)
        except Unauthorized:
            self.cache.put(digest, None)  # a refusal is remembered too; an unreachable database is not
            raise
        self.cache.put(digest, identity)
        return identity

    async def _lookup_key(self, digest: str) -> Identity:
        async with transaction(self._sessions) as session:
            repo = AuthRepository(session)
            row = await repo.api_key_by_hash(digest)
            now = self._clock()
            if row is None or row.revoked_at is not None:
                raise Unauthorized("unknown or revoked API key")
            if row.expires_at is not None and row.expires_at <= now:
                raise Unauthorized("API key expired")
            if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
                await repo.touch_api_key(row.id, now)
            return Identity(
                kind="api_key", id=row.id, name=row.name, role=Role(row.role), expires_at=row.expires_at
            )

    # ------------------------------------------------------------------ users

    async def create_user(self, body: UserCreate) -> UserRead:
        password_hash = await hash_password_async(body.password)
        async with transaction(self._sessions) as session:
            row = await AuthRepository(session).insert_user(
                {
                    "id": _new_id(),
                    "username": body.username,
                    "password_hash": password_hash,
                    "role": body.role.value,
                    "disabled": False,
                    "created_at": self._clock(),
                }
            )
            if row is None:
                raise Conflict(f"user {body.username!r} exists")
            log.info("user_created", user_id=row.id, role=row.role)
            return UserRead.model_validate(row)

    async def list_users(self) -> list[UserRead]:
        async with transaction(self._sessions) as session:
            return [UserRead.model_validate(r) for r in await AuthRepository(session).users()]

    async def update_user(self, user_id: str, patch: UserPatch) -> UserRead:
        """Change role and/or disabled. Disabling also revokes the user's refresh tokens."""
        values = patch.model_dump(exclude_none=True)
        async with transaction(self._sessions) as session:
            repo = AuthRepository(session)
            current = await repo.user(user_id)
            demotes = (patch.role is not None and patch.role != Role.admin) or patch.disabled is True
            if (
                current is not None
                and demotes
                and current.role == Role.admin.value
                and not current.disabled
                and await repo.count_enabled_admins() <= 1
            ):
                raise Conflict("this is the last enabled admin: make another admin first")
            row = await repo.update_user(user_id, values) if values else await repo.user(user_id)
            if row is None:
                raise NotFound(f"no user {user_id!r}")
            if patch.disabled:
                await repo.revoke_user_tokens(user_id, self._clock())
            self.cache.drop(user_id)
            log.info("user_updated", user_id=user_id, **{k: str(v) for k, v in values.items()})
            return UserRead.model_validate(row)

    async def user_id_of(self, username: str) -> str:
        async with transaction(self._sessions) as session:
            row = await AuthRepository(session).user_by_name(username)
        if row is None:
            raise NotFound(f"no user {username!r}")
        return row.id

    async def ensure_admin(self, password: str) -> bool:
        """Create `admin` with this password if there is no user at all; True if this call created it (of
        several processes starting at once, one does)."""
        async with transaction(self._sessions) as session:
            if await AuthRepository(session).count_users():
                return False
        try:
            await self.create_user(UserCreate(username="admin", password=password, role=Role.admin))
        except Conflict:
            return False
        return True

    async def has_users(self) -> bool:
        async with transaction(self._sessions) as session:
            return await AuthRepository(session).count_users() > 0

    # ------------------------------------------------------------------ API keys

    async def create_api_key(self, body: ApiKeyCreate, by: Identity) -> ApiKeyCreated:
        now = self._clock()
        if body.expires_at is not None and body.expires_at <= now:
            raise InvalidInput("expires_at must be in the future")
        key, prefix = tokens.new_api_key()
        row = ApiKeyRow(
            id=_new_id(),
            name=body.name,
            role=body.role.value,
            key_hash=tokens.digest(key),
            prefix=prefix,
            created_by=by.id if by.kind == "user" else None,
            created_at=now,
            expires_at=body.expires_at,
            revoked_at=None,
            last_used_at=None,
        )
        async with transaction(self._sessions) as session:
            await AuthRepository(session).add_api_key(row)
        log.info("api_key_created", key_id=row.id, prefix=prefix, role=row.role, by=by.id)
        return ApiKeyCreated(**ApiKeyRead.model_validate(row).model_dump(), key=key)

    async def list_api_keys(self) -> list[ApiKeyRead]:
        async with transaction(self._sessions) as session:
            return [ApiKeyRead.model_validate(r) for r in await AuthRepository(session).api_keys()]

    async def revoke_api_key(self, key_id: str) -> None:
        """Revoke a key (idempotent: revoking a revoked key changes nothing); 404 for an unknown id."""
        async with transaction(self._sessions) as session:
            row = await AuthRepository(session).api_key(key_id)
            if row is None:
                raise NotFound(f"no API key {key_id!r}")
            self.cache.drop_where(lambda i: i is not None and i.kind == "api_key" and i.id == key_id)
            if row.revoked_at is None:
                row.revoked_at = self._clock()
                log.info("api_key_revoked", key_id=key_id)
