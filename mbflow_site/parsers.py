"""Request body parsers that turn hostile input into 400s instead of 500s.

Every body is held to ``mbflow_site.storable`` as it is read: a NUL character, a lone
surrogate, a number out of range or nesting too deep is a 400 ``validation_error`` naming the
field (``input.s``) before any view or query sees the value.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import QueryDict
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser, DataAndFiles, FormParser, MultiPartParser

from mbflow_site.bodies import YamlBody
from mbflow_site.storable import MAX_DEPTH, Problem, problem_in, read_json_int, text_problem


def problem_fields(problem: Problem) -> dict[str, list[str]]:
    """``details.fields`` of the 400 for a value that cannot be stored: its dotted path
    (``non_field_errors`` for the body itself) and why."""
    return {problem.dotted() or "non_field_errors": [problem.message]}


class SafeJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_int=read_json_int)
        except RecursionError:
            raise ParseError(f"The JSON nests deeper than {MAX_DEPTH} levels.") from None
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
        problem = problem_in(data)
        if problem is not None:
            raise ValidationError(problem_fields(problem))
        return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def form_problem(data: QueryDict) -> Problem | None:
    """A form's (or a query string's) keys and values held to the same rule as JSON text."""
    for key, values in data.lists():
        message = text_problem(key)
        if message:
            return Problem((), f"A key: {message}")
        for value in values:
            message = text_problem(value) if isinstance(value, str) else None
            if message:
                return Problem((key,), message)
    return None


class SafeFormParser(FormParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> QueryDict:
        data = super().parse(stream, media_type, parser_context)
        problem = form_problem(data)
        if problem is not None:
            raise ValidationError(problem_fields(problem))
        return data


class SafeMultiPartParser(MultiPartParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> DataAndFiles:
        parsed = super().parse(stream, media_type, parser_context)
        problem = form_problem(parsed.data)  # type: ignore[arg-type]
        if problem is not None:
            raise ValidationError(problem_fields(problem))
        return parsed


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
