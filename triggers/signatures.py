"""The ``X-MBFlow-Signature`` scheme, for webhooks in (checked here) and out (signed here).

``X-MBFlow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``. The time is
signed with the body, so a captured call cannot be replayed later than ``TOLERANCE_SECONDS``;
within that window the receiver refuses a signature it has already seen. Several ``v1`` values
may be given (one per secret while a secret is being rotated): one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

HEADER = "X-MBFlow-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The value of ``X-MBFlow-Signature`` for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


class SignatureError(Exception):
    """Why a call's signature is refused: ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Verified:
    timestamp: int
    signature: str  # the v1 value that matched: the same one again is a replay


DIGITS = re.compile(r"[0-9]{1,12}")
HEX = re.compile(r"[0-9a-fA-F]{1,128}")


def _parse(header: str) -> tuple[int, list[str]]:
    """The time and the ``v1`` values of a header; ASCII digits and hex only (anything else in
    a header is the caller's mistake, never a server error)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and DIGITS.fullmatch(value):
            timestamp = int(value)
        elif key == "v1" and HEX.fullmatch(value):
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise SignatureError("signature_invalid", f"{HEADER} must read t=<unix seconds>,v1=<hex HMAC-SHA256>.")
    return timestamp, signatures


def verify(header: str | None, secret: str, body: bytes, now: float) -> Verified:
    """The matching signature of a call made ``now`` (unix seconds), or SignatureError."""
    if not header:
        raise SignatureError("signature_missing", f"This webhook is signed: send {HEADER}.")
    timestamp, signatures = _parse(header)
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("signature_expired", f"The signature's time t={timestamp} is more than "
                             f"{TOLERANCE_SECONDS} seconds away from the server's ({int(now)}).")
    expected = sign(secret, timestamp, body)
    for candidate in signatures:
        if hmac.compare_digest(candidate, expected):
            return Verified(timestamp, expected)
    raise SignatureError("signature_invalid", "The signature does not match the body and the webhook's secret.")
