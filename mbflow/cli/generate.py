"""`mbflow generate client|docs`: a typed client, or the OpenAPI document, of a workflow."""

from __future__ import annotations

import json
from pathlib import Path

import typer

import mbflow.embedded
from mbflow.cli.context import Exit, err, fail, options, out, reporting
from mbflow.cli.documents import read_file, use_local
from mbflow.codegen import LANGUAGES, ClientSpec, client_files, openapi_document

generate = typer.Typer(no_args_is_help=True, help="Generate a typed client or the OpenAPI document of a workflow "
                                                  "from its input and output schemas.")

WORKFLOW = typer.Option(..., "--workflow", "-w", help="A workflow's name or id on the server, or a workflow file.")
CONTEXT = typer.Option(None, "--context", exists=True, dir_okay=False,
                       help="A WorkflowContext file (Magic Flow's context.yaml) whose schemas to use.")


def client_spec(ctx: typer.Context, workflow: str, context: Path | None) -> ClientSpec:
    path = Path(workflow)
    if path.is_file():
        use_local(ctx, True)
        text = read_file(path)
        with reporting(path):
            spec = ClientSpec.from_document(mbflow.embedded.document(text))
    else:
        with reporting(), options(ctx).client() as client:
            detail = client.workflows.get(workflow)
        spec = ClientSpec.from_document(detail.spec, detail.version.number if detail.version else None)
    if context is not None:
        use_local(ctx, True)
        text = read_file(context)
        with reporting(context):
            spec = spec.with_schemas(mbflow.embedded.context_schemas(text))
    return spec


@generate.command("client")
def client(
    ctx: typer.Context,
    workflow: str = WORKFLOW,
    language: str = typer.Option("python", "--language", "-l", help="python or typescript."),
    output: Path = typer.Option(Path("."), "--output", "-o", file_okay=False, help="The folder to write into."),
    context: Path | None = CONTEXT,
) -> None:
    """Write a typed client: input and output types, `run(input) -> output`, `start(input)`,
    and step-name constants for function workers."""
    if language not in LANGUAGES:
        fail(f"--language is one of {', '.join(LANGUAGES)}, not {language!r}", Exit.USAGE)
    spec = client_spec(ctx, workflow, context)
    with reporting():
        files = client_files(spec, language)
    for relative, text in files.items():
        target = output / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        err.print(f"wrote {target}", highlight=False)


@generate.command("docs")
def docs(
    ctx: typer.Context,
    workflow: str = WORKFLOW,
    output: Path | None = typer.Option(None, "--output", "-o", dir_okay=False, help="Write here, not to stdout."),
    server_url: str | None = typer.Option(None, "--server-url", help="The server the document names "
                                                                     "(default: the configured one)."),
    context: Path | None = CONTEXT,
) -> None:
    """Write the workflow's OpenAPI document: its execute endpoint with its real input and
    output schemas."""
    spec = client_spec(ctx, workflow, context)
    with reporting():
        url = server_url or options(ctx).settings().url
    text = json.dumps(openapi_document(spec, url), indent=2) + "\n"
    if output is None:
        out.print(text, end="", highlight=False, markup=False, soft_wrap=True)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}", highlight=False)
