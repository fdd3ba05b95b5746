"""Code generation from a workflow's input and output schemas (Magic Flow's `generate`): typed
clients in Python and TypeScript, and the workflow's OpenAPI document. Plain functions over a
``ClientSpec``; the CLI and the server's ``GET /workflows/{id}/client`` both call them."""

from __future__ import annotations

import io
import zipfile

from mbflow.codegen.docs import openapi_document
from mbflow.codegen.python import python_files
from mbflow.codegen.spec import ClientSpec, FunctionStep
from mbflow.codegen.typescript import typescript_files

LANGUAGES = ("python", "typescript")

__all__ = ["LANGUAGES", "ClientSpec", "FunctionStep", "client_files", "openapi_document", "zipped"]


def client_files(spec: ClientSpec, language: str) -> dict[str, str]:
    if language == "python":
        return python_files(spec)
    if language == "typescript":
        return typescript_files(spec)
    raise ValueError(f"language is one of {', '.join(LANGUAGES)}, not {language!r}")


def zipped(files: dict[str, str], folder: str) -> bytes:
    """The files in a zip, under ``folder/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(files.items()):
            archive.writestr(f"{folder}/{path}", text)
    return buffer.getvalue()
