"""Auth test fixtures: cheap Argon2id for building the world (the real parameters are checked
separately against ``REAL_HASHER``, captured before any patching)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from civicgrid.auth import passwords

REAL_HASHER = passwords._hasher
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """The world has 16 users; the production parameters cost ~0.3 s per hash."""
    monkeypatch.setattr(passwords, "_hasher", FAST_HASHER)
