"""The `mbflow` command (Typer + Rich). Run `mbflow --help`; docs/cli.md lists every command
and the exit codes."""

from __future__ import annotations

import typer

from mbflow.cli import documents, runs, serving
from mbflow.cli.context import Options
from mbflow.cli.generate import generate

EXIT_CODES = ("Exit codes: 0 done (the run succeeded); 1 a file is invalid, or the run failed or was cancelled; "
              "2 bad arguments; 3 the server refused (4xx) or the configuration is wrong; 4 the server could not "
              "be reached or answered 5xx; 5 the run had not ended within --timeout; 6 the server lacks the "
              "endpoint; 130 interrupted. See docs/cli.md.")

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="markdown",
                  help="MBFlow from the command line: validate, import, run and watch workflows, serve "
                       "function steps, generate typed clients.", epilog=EXIT_CODES)


@app.callback()
def main_options(
    ctx: typer.Context,
    url: str | None = typer.Option(None, "--url", envvar="MBFLOW_URL", show_envvar=True,
                                   help="The server, e.g. http://localhost:8181."),
    api_key: str | None = typer.Option(None, "--api-key", envvar="MBFLOW_API_KEY", show_envvar=True,
                                       help="An API key of the tenant."),
    profile: str | None = typer.Option(None, "--profile", envvar="MBFLOW_PROFILE", show_envvar=True,
                                       help="A profile of the profile file (MBFLOW_CONFIG, else "
                                            "~/.config/mbflow/config.toml)."),
) -> None:
    """Where the server is comes from these options, else the environment, else the profile file."""
    ctx.obj = Options(url=url, api_key=api_key, profile=profile)


app.command("start")(serving.start)
app.command("validate")(documents.validate)
app.command("convert")(documents.convert)
app.command("fmt")(documents.fmt)
app.command("import")(documents.import_)
app.command("export")(documents.export)
app.command("list")(documents.list_)
app.command("diff")(documents.diff)
app.command("rollback")(documents.rollback)
app.command("run")(runs.run)
app.add_typer(runs.executions, name="executions")
app.add_typer(runs.events, name="events")
app.command("worker")(serving.worker)
app.add_typer(generate, name="generate")


def main() -> None:
    app()
