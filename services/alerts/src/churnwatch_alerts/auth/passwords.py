"""Argon2 password hashes for the managers table (dev and admin logins)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


def hash_password(*, password: str) -> str:
    """An argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(*, password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password_async(*, password_hash: str, password: str) -> bool:
    """``verify_password`` off the event loop (argon2 is deliberately slow)."""
    return await asyncio.to_thread(verify_password, password_hash=password_hash, password=password)
