"""The X-MBFlow-Signature scheme on its own: whatever a header holds, verify answers a match or a
SignatureError (a caller's mistake), never another exception (a server error)."""

from __future__ import annotations

import pytest

from triggers.signatures import SignatureError, signature_header, verify

SECRET = "a-long-shared-secret-1234"
BODY = b'{"amount": 12}'
NOW = 1_800_000_000


def test_a_header_made_by_signature_header_verifies_within_five_minutes_either_way() -> None:
    for at in (NOW - 300, NOW, NOW + 300):
        assert verify(signature_header(SECRET, BODY, at), SECRET, BODY, NOW).timestamp == at
    with pytest.raises(SignatureError) as late:
        verify(signature_header(SECRET, BODY, NOW - 301), SECRET, BODY, NOW)
    assert late.value.code == "signature_expired"


def test_one_matching_v1_among_several_is_enough_and_case_does_not_matter() -> None:
    digest = signature_header(SECRET, BODY, NOW).split("v1=")[1]
    verified = verify(f"t={NOW},v1={'0' * 64},v1={digest.upper()}", SECRET, BODY, NOW)
    assert verified.signature == digest


@pytest.mark.parametrize(
    "header",
    [
        "t=\u00b2,v1=ab",  # a superscript two: str.isdigit() says yes, int() says no
        "t=\u0661\u0662,v1=ab",  # Arabic-Indic digits
        f"t={NOW},v1=\u00e9\u00e9",  # not ASCII: hmac.compare_digest refuses such str
        f"t={NOW},v1=zz",
        f"t={NOW},v1=",
        f"t=-{NOW},v1=ab",
        f"t={NOW}0000000000,v1=ab",
        "v1=ab",
        f"t={NOW}",
        "nonsense",
        "\u00ff\u00fe",
    ],
)
def test_a_malformed_header_is_refused_as_invalid(header: str) -> None:
    with pytest.raises(SignatureError) as refused:
        verify(header, SECRET, BODY, NOW)
    assert refused.value.code == "signature_invalid"


def test_no_header_is_missing_and_a_wrong_secret_is_invalid() -> None:
    with pytest.raises(SignatureError) as missing:
        verify(None, SECRET, BODY, NOW)
    assert missing.value.code == "signature_missing"
    with pytest.raises(SignatureError) as wrong:
        verify(signature_header("another-secret-altogether", BODY, NOW), SECRET, BODY, NOW)
    assert wrong.value.code == "signature_invalid"
