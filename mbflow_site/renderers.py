"""The API's JSON renderer: DRF's, written by orjson's C encoder.

An answer is mostly dicts, lists and strings (a run's steps with their inputs and outputs); DRF's
renderer writes them with the standard library's encoder, which took about an eighth of a request
that answers a chain's steps. This one writes the same bytes (compact, UTF-8, U+2028 and U+2029
escaped, DRF's encoder for everything else: dates, decimals, lazy text...) through orjson, and
hands what orjson cannot write as DRF would (an indented answer, an integer past 64 bits, a text
that is not valid UTF-8) to DRF's own renderer. One difference: a float that is not a number
(NaN, an infinity), which DRF refuses with an error (a 500), is written as null - the engine
stores none (JSON has no such numbers), so only a bug could put one in an answer.
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

# Datetimes go to DRF's encoder (its "Z" for UTC, its precision); keys that are not text become
# text as the standard library writes them.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_default = JSONEncoder().default


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict[str, Any] | None = None) -> bytes:
        if data is None or not self.compact or self.ensure_ascii or not self.strict or self.get_indent(
                accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            written = orjson.dumps(data, default=_default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError, ValueError):
            return super().render(data, accepted_media_type, renderer_context)
        return written.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
