"""Request body parsers that turn hostile input into 400s instead of 500s."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class SafeJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except RecursionError:
            raise ParseError("JSON nesting is too deep.") from None
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class YAMLTextParser(BaseParser):
    """Keeps a YAML body as text: the workflow parser reads it with line numbers."""

    media_type = "application/yaml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return YamlBody(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8.") from None


class YAMLAltParser(YAMLTextParser):
    media_type = "application/x-yaml"


class TextYAMLParser(YAMLTextParser):
    media_type = "text/yaml"


class YamlBody(str):
    """Marks a request body that arrived as YAML text."""
