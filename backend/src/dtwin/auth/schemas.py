"""API schemas of the auth room: tokens, users, API keys and the caller's identity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from dtwin.auth.identity import Role

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
Username = Annotated[
    str, Field(pattern=USERNAME_PATTERN, description="2-64 of a-z 0-9 . _ -, starting with a letter or digit")
]
Password = Annotated[str, Field(min_length=8, max_length=256, description="8-256 characters")]
Opaque = Annotated[str, Field(min_length=1, max_length=256)]
KeyName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]


class TokenPair(BaseModel):
    """What a login or a refresh returns. Send `access_token` as `Authorization: Bearer ...` until it
    expires (`expires_in` seconds), then trade `refresh_token` at /auth/refresh for a new pair; each refresh
    token works once."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Opaque


class IdentityRead(BaseModel):
    """Who the credentials belong to: a user or an API key, and the role in effect."""

    kind: Literal["user", "api_key"]
    id: str
    name: str
    role: Role


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    role: Role = Role.viewer


class UserPatch(BaseModel):
    """Change a user's role or disable (enable) them; absent members stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: StrictBool | None = None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    role: Role
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


class UserList(BaseModel):
    items: list[UserRead]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: KeyName
    role: Role = Role.viewer
    expires_at: AwareDatetime | None = Field(default=None, description="Never expires if absent")


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    role: Role
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most once a minute")


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself: shown this once, stored only as a hash")


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead]
