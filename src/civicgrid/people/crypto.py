"""Encryption at rest and keyed hashes for personal identifiers.

ID numbers and phones are stored as AES-256-GCM ciphertext (random nonce, versioned
envelope) so that a database dump does not reveal them, plus an HMAC-SHA256 keyed hash
for exact-match lookup and matching. Both keys are derived with HKDF from one secret,
``settings.data_key`` (``CIVICGRID_DATA_KEY``); production refuses the default.
The identifier kind is bound into the AEAD associated data, so a phone ciphertext cannot
be passed off as an ID number.
"""

from __future__ import annotations

import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from civicgrid.settings import get_settings

VERSION = b"\x01"
NONCE_BYTES = 12


class DataKeyError(RuntimeError):
    """A ciphertext that this key cannot open (wrong CIVICGRID_DATA_KEY, or tampered data)."""


@lru_cache(maxsize=4)
def _keys(secret: str) -> tuple[AESGCM, bytes]:
    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"civicgrid-people", info=info).derive(
            secret.encode("utf-8"))

    return AESGCM(derive(b"encrypt v1")), derive(b"lookup-hash v1")


def _current(secret: str | None = None) -> tuple[AESGCM, bytes]:
    return _keys(get_settings().data_key if secret is None else secret)


def encrypt(value: str | None, *, kind: str, secret: str | None = None) -> bytes | None:
    """The sealed envelope of ``value`` (version, nonce, ciphertext+tag), or None.

    ``secret`` defaults to the configured data key; key rotation passes the new one.
    """
    if value is None:
        return None
    aead, _ = _current(secret)
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + aead.encrypt(nonce, value.encode("utf-8"), kind.encode("ascii"))


def decrypt(blob: bytes | None, *, kind: str, secret: str | None = None) -> str | None:
    """The clear value of an envelope made by ``encrypt`` with the same kind (and the same key)."""
    if blob is None:
        return None
    blob = bytes(blob)
    if blob[:1] != VERSION:
        raise DataKeyError("unknown envelope version")
    aead, _ = _current(secret)
    try:
        return aead.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], kind.encode("ascii")).decode("utf-8")
    except InvalidTag:
        raise DataKeyError("cannot decrypt: wrong data key or altered ciphertext") from None


def lookup_hash(value: str | None, *, kind: str, secret: str | None = None) -> str | None:
    """A keyed hash (HMAC-SHA256, 128 bits as hex) for exact-match lookup; None for None."""
    if value is None:
        return None
    _, key = _current(secret)
    # hmac.digest is the one-shot C path: several times faster than hmac.new() per value.
    return hmac.digest(key, kind.encode("ascii") + b":" + value.encode("utf-8"), "sha256")[:16].hex()
