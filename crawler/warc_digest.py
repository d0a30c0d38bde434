"""WARC digests: whether a record's declared block or payload digest matches its bytes."""

from __future__ import annotations

import base64
import hashlib

from crawler.warc_source import Damage

DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512,
            "md5": hashlib.md5, "sha224": hashlib.sha224, "sha384": hashlib.sha384}


def check_digest(declared: str | None, data: bytes | memoryview, name: str) -> None:
    if not digest_matches(declared, data):
        raise Damage(f"{name} does not match its bytes")


def digest_matches(declared: str | None, data: bytes | memoryview) -> bool:
    """Whether a declared digest (base32, hex or base64; none, or of an unknown kind: yes)
    matches `data`."""
    if not declared:
        return True
    algorithm, _, value = declared.partition(":")
    make = DIGESTS.get(algorithm.strip().lower())
    if make is None or not value:
        return True
    digest = make(data).digest()
    value = value.strip()
    forms = {
        base64.b32encode(digest).decode().rstrip("="),
        digest.hex(),
        base64.b64encode(digest).decode().rstrip("="),
        base64.urlsafe_b64encode(digest).decode().rstrip("="),
    }
    return value.rstrip("=") in forms or value.lower() in forms
