"""The API's JSON renderer writes the bytes DRF's own renderer writes, faster."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
import zoneinfo
from typing import Any

import pytest
from django.utils.functional import lazy
from rest_framework import renderers
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from mbflow_site.renderers import JSONRenderer


class Level(enum.IntEnum):
    HIGH = 3


PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SAMPLES: list[Any] = [
    {"id": uuid.UUID("8f0c4c5e-1a51-4f5e-9d63-3c1d1a2b3c4d"), "status": "succeeded", "n": 1, "x": 1.5, "none": None,
     "flag": True, "steps": [{"id": "a", "output": {"k0": 0, "nested": [1, [2, {"deep": "é ☃ 𝄞"}]]}}]},
    {"utc": datetime.datetime(2026, 12, 7, 5, 8, 35, 123456, tzinfo=datetime.UTC),
     "utc_whole": datetime.datetime(2026, 12, 7, 5, 8, 35, tzinfo=datetime.UTC),
     "paris": datetime.datetime(2026, 7, 1, 12, 0, tzinfo=PARIS), "naive": datetime.datetime(2026, 1, 2, 3, 4, 5),
     "date": datetime.date(2026, 12, 7), "time": datetime.time(8, 30), "span": datetime.timedelta(seconds=90.5)},
    {"price": decimal.Decimal("12.50"), "lazy": lazy(lambda: "translated", str)(), "level": Level.HIGH,
     "bytes": b"raw", "tuple": (1, "two"), "set_like": frozenset()},
    {1: "int key", "2": "text key", None: "none key", 1.5: "float key"}, {True: "bool key", False: 0},
    {"separators": "line\u2028para\u2029end", "quote": 'say "hi"\n\t', "nul": "a\u0000b", "emoji": "🙂"},
    ReturnDict({"a": ReturnList([1, 2], serializer=None)}, serializer=None),
    [], {}, "text", 0, -(2**63), 2**64 - 1,
    {"big": 2**70}, {"surrogate": "\ud800"},
]


@pytest.mark.parametrize("data", SAMPLES, ids=range(len(SAMPLES)))
def test_the_bytes_are_drfs(data: Any) -> None:
    try:
        stock = renderers.JSONRenderer().render(data, "application/json", {})
    except UnicodeEncodeError:  # a lone surrogate: the stock renderer cannot write it either
        with pytest.raises(UnicodeEncodeError):
            JSONRenderer().render(data, "application/json", {})
        return
    assert JSONRenderer().render(data, "application/json", {}) == stock


def test_an_indented_answer_and_nothing_are_drfs() -> None:
    data = {"a": [1, {"b": None}]}
    assert JSONRenderer().render(data, "application/json; indent=4", {}) == renderers.JSONRenderer().render(
        data, "application/json; indent=4", {})
    assert JSONRenderer().render(None) == b""


def test_the_api_answers_through_it(client: Any) -> None:
    answer = client.get("/api/v1/workflows")  # no credentials: the error envelope, rendered by it
    assert answer.status_code in (401, 403)
    assert answer.content.startswith(b'{"error":{')
