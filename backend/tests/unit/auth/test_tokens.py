"""Access tokens: what decodes, and every kind of bad token refused with a TokenError (never another error)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from dtwin.auth import tokens
from dtwin.auth.identity import Role
from dtwin.auth.tokens import TokenError, decode_access, encode_access

SECRET = "unit-test-secret-0123456789abcdef-xyz-long-enough-for-hs512-too-0123"
OTHER = "another-secret-0123456789abcdef-uvw!!"


def now() -> datetime:
    """The time at the call: a module-level `now` taken at collection expired tokens in a suite that ran
    longer than their 15 minutes."""
    return datetime.now(UTC)


def good(**overrides: object) -> str:
    return encode_access(SECRET, sub="u1", role=Role.operator, now=now(), ttl=timedelta(minutes=15))


def b64(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def claims(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sub": "u1",
        "role": "viewer",
        "iat": int(now().timestamp()),
        "exp": int((now() + timedelta(minutes=5)).timestamp()),
        "jti": "j1",
        "typ": "access",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_a_fresh_token_decodes_to_its_claims() -> None:
    decoded = decode_access(SECRET, good())
    assert decoded.sub == "u1" and decoded.role is Role.operator
    assert decoded.exp - decoded.iat == 15 * 60
    header = json.loads(base64.urlsafe_b64decode(good().split(".")[0] + "=="))
    assert header["alg"] == "HS256"


def test_two_tokens_have_different_ids() -> None:
    assert decode_access(SECRET, good()).jti != decode_access(SECRET, good()).jti


def test_expired_token_is_refused() -> None:
    token = encode_access(
        SECRET, sub="u1", role=Role.admin, now=now() - timedelta(hours=1), ttl=timedelta(minutes=1)
    )
    with pytest.raises(TokenError, match="expired"):
        decode_access(SECRET, token)


def test_token_of_another_secret_is_refused() -> None:
    with pytest.raises(TokenError):
        decode_access(OTHER, good())


def test_tampered_payload_is_refused() -> None:
    head, _, sig = good().split(".")
    forged = f"{head}.{b64(claims(role='admin'))}.{sig}"
    with pytest.raises(TokenError):
        decode_access(SECRET, forged)


def test_alg_none_is_refused() -> None:
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(role='admin'))}."
    with pytest.raises(TokenError):
        decode_access(SECRET, unsigned)


def test_another_algorithm_with_the_same_secret_is_refused() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS512")
    with pytest.raises(TokenError):
        decode_access(SECRET, token)


@pytest.mark.parametrize("missing", ["sub", "role", "exp", "iat", "jti", "typ"], ids=lambda m: f"without-{m}")
def test_token_without_a_required_claim_is_refused(missing: str) -> None:
    token = jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256")
    with pytest.raises(TokenError):
        decode_access(SECRET, token)


@pytest.mark.parametrize(
    "bad",
    [
        {"typ": "refresh"},
        {"role": "root"},
        {"role": ["admin"]},
        {"sub": 7},
        {"jti": {"a": 1}},
        {"exp": "soon"},
    ],
    ids=str,
)
def test_token_with_a_wrong_claim_is_refused(bad: dict[str, object]) -> None:
    token = jwt.encode(claims(**bad), SECRET, algorithm="HS256")
    with pytest.raises(TokenError):
        decode_access(SECRET, token)


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "a.b", "a.b.c", "....", "eyJ.eyJ.sig", "Bearer x", "\x00\x01", "é.é.é", "a" * 5000],
    ids=lambda g: repr(g[:12]),
)
def test_malformed_token_is_refused(garbage: str) -> None:
    with pytest.raises(TokenError):
        decode_access(SECRET, garbage)


def test_a_refresh_token_is_no_access_token() -> None:
    with pytest.raises(TokenError):
        decode_access(SECRET, tokens.new_refresh_token())


def test_refresh_tokens_and_api_keys_are_random_and_stored_as_sha256() -> None:
    assert tokens.new_refresh_token() != tokens.new_refresh_token()
    key, prefix = tokens.new_api_key()
    assert key.startswith(prefix) and prefix.startswith("dtwin_") and len(prefix) == 12
    assert tokens.is_api_key(key) and not tokens.is_api_key(good())
    assert len(tokens.digest(key)) == 64 and tokens.digest(key) != key
