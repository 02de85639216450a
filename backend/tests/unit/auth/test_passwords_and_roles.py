"""Password hashing (argon2 through pwdlib) and the role order."""

from __future__ import annotations

import pytest

from dtwin.auth.identity import Role, at_least
from dtwin.auth.passwords import hash_password, verify_password, verify_password_async


def test_a_password_verifies_against_its_argon2_hash() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert verify_password("correct horse", hashed)
    assert not verify_password("correct horsf", hashed)


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("pw-12345678") != hash_password("pw-12345678")


@pytest.mark.parametrize("stored", ["", "plain", "$argon2id$broken", "$2b$12$notreallybcrypt"])
def test_an_unreadable_stored_hash_verifies_nothing(stored: str) -> None:
    assert not verify_password("anything", stored)


async def test_an_unknown_user_never_verifies() -> None:
    assert not await verify_password_async("anything", None)


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (Role.viewer, Role.viewer, True),
        (Role.viewer, Role.operator, False),
        (Role.viewer, Role.admin, False),
        (Role.operator, Role.viewer, True),
        (Role.operator, Role.operator, True),
        (Role.operator, Role.admin, False),
        (Role.admin, Role.viewer, True),
        (Role.admin, Role.operator, True),
        (Role.admin, Role.admin, True),
    ],
)
def test_roles_are_ordered_viewer_operator_admin(role: Role, needed: Role, allowed: bool) -> None:
    assert at_least(role, needed) is allowed
