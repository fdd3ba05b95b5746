"""Request bodies read into pydantic models, with DRF's error shape.

For the hottest writes: a DRF serializer builds its fields anew for every request (about
0.3 ms of CPU for a five-field body here), pydantic checks a body in microseconds. The model
also describes the body in the OpenAPI schema (drf-spectacular reads pydantic models).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.http import QueryDict
from pydantic import BaseModel, ValidationError

from mbflow_site.errors import ApiError

B = TypeVar("B", bound=BaseModel)


class YamlBody(str):
    """Marks a request body that arrived as YAML text (``mbflow_site.parsers``)."""


def read_body(model: type[B], data: Any) -> B:
    """``data`` (a request's parsed body) as ``model``; otherwise a 400 ``validation_error``
    whose ``details.fields`` names each bad field, as for a DRF serializer."""
    if isinstance(data, QueryDict):
        data = data.dict()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for error in exc.errors(include_url=False):
            if error["loc"]:
                fields.setdefault(str(error["loc"][0]), []).append(error["msg"])
            else:
                fields.setdefault("non_field_errors", []).append(f"Expected a JSON object, got {_kind(data)}.")
        raise ApiError("The request is not valid.", code="validation_error", details={"fields": fields}) from None


def json_object(data: Any) -> dict[str, Any]:
    """A request's parsed body as a dict (a form's fields too); anything else is the 400
    ``read_body`` gives for a body that is not a JSON object."""
    if isinstance(data, QueryDict):
        return data.dict()
    if not isinstance(data, dict):
        raise ApiError("The request is not valid.", code="validation_error", details={
            "fields": {"non_field_errors": [f"Expected a JSON object, got {_kind(data)}."]}})
    return data


def _kind(data: Any) -> str:
    return "nothing" if data is None else {list: "a list", str: "a string", bool: "a boolean"}.get(
        type(data), "a number" if isinstance(data, int | float) else type(data).__name__)
