"""What every command shares: where the server is, the exit codes, and how results print."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from mbflow.client import Client
from mbflow.config import ConfigError, Settings
from mbflow.errors import ApiError, MBFlowError, NotFound, TransportError

T = TypeVar("T")


class Exit:
    """The exit codes of every command (docs/cli.md)."""

    OK = 0
    FAILED = 1  # the document is invalid, or the run ended failed or cancelled
    USAGE = 2  # bad arguments or options (Click's own)
    REFUSED = 3  # the server refused the request (4xx), or a configuration problem
    UNAVAILABLE = 4  # the server could not be reached, or answered 5xx
    TIMEOUT = 5  # the run had not ended within --wait
    NOT_AVAILABLE = 6  # the server does not serve this (an endpoint it does not have yet)
    INTERRUPTED = 130


out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class Options:
    url: str | None = None
    api_key: str | None = None
    profile: str | None = None

    def settings(self) -> Settings:
        return Settings.resolve(url=self.url, api_key=self.api_key, profile=self.profile)

    def client(self) -> Client:
        return Client(self.settings().url, self.settings().api_key)


def options(ctx: typer.Context) -> Options:
    found = ctx.find_root().obj
    return found if isinstance(found, Options) else Options()


def fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def located(file: Path, code: str, message: str, line: Any = None, column: Any = None) -> str:
    """A problem of a file as ``file:line:col: code message``, as compilers print them."""
    return f"{file}:{line or 1}:{column or 1}: {code} {message}"


def file_problems(file: Path, exc: ApiError) -> list[str]:
    """The ``file:line:col`` lines of a document the server (or the embedded engine) refused:
    each issue of an invalid workflow, or where a YAML syntax error is; none for other errors."""
    if exc.status != 400:
        return []
    if exc.errors:
        return [located(file, str(issue.get("code") or exc.code), str(issue.get("message") or ""), issue.get("line"),
                        issue.get("column")) for issue in exc.errors]
    if "line" in exc.details:
        return [located(file, exc.code, exc.message, exc.details.get("line"), exc.details.get("column"))]
    return []


@contextmanager
def reporting(file: Path | None = None) -> Iterator[None]:
    """Turns the SDK's exceptions into a message on stderr and the matching exit code; a
    document ``file`` refused for what it says is reported as ``file:line:col`` lines."""
    try:
        yield
    except NotFound as exc:
        fail(f"{exc.message} ({exc.status} {exc.code})", Exit.REFUSED)
    except ApiError as exc:
        problems = file_problems(file, exc) if file is not None else []
        if problems:
            for problem in problems:
                err.print(problem, highlight=False, markup=False)
            fail(f"{file} was refused ({exc.status} {exc.code})", Exit.REFUSED)
        detail = ""
        if exc.fields:
            detail = "; " + "; ".join(f"{field}: {' '.join(map(str, problems))}" for field, problems
                                      in exc.fields.items())
        for issue in exc.errors:
            detail += f"\n  {issue.get('line') or '?'}:{issue.get('column') or '?'}: {issue.get('code')} " \
                      f"{issue.get('message')}"
        fail(f"{exc.message} ({exc.status} {exc.code}){detail}", Exit.UNAVAILABLE if exc.status >= 500
             else Exit.REFUSED)
    except TransportError as exc:
        fail(str(exc), Exit.UNAVAILABLE)
    except ConfigError as exc:
        fail(str(exc), Exit.REFUSED)
    except MBFlowError as exc:
        fail(str(exc), Exit.REFUSED)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(Exit.INTERRUPTED) from None


def with_client(ctx: typer.Context, work: Callable[[Client], T]) -> T:
    with reporting(), options(ctx).client() as client:
        return work(client)


def print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    elif isinstance(value, list):
        value = [item.model_dump(mode="json", by_alias=True) if isinstance(item, BaseModel) else item
                 for item in value]
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def parse_json_argument(raw: str | None, what: str) -> Any:
    """A JSON value given inline, or ``@file`` (``@-``: standard input)."""
    if raw is None:
        return None
    text = raw
    if raw.startswith("@"):
        source = raw[1:]
        try:
            text = sys.stdin.read() if source == "-" else open(source, encoding="utf-8").read()  # noqa: SIM115
        except OSError as exc:
            fail(f"cannot read {what} from {source}: {exc.strerror}", Exit.USAGE)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{what} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", Exit.USAGE)
