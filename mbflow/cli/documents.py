"""Commands on workflow documents: validate, convert, fmt (a file, in process or on the
server) and import, export, list, diff, rollback (the server's workflows)."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.table import Column, Table

import mbflow.embedded
from mbflow.cli.context import Exit, err, fail, file_problems, options, out, print_json, reporting, with_client
from mbflow.client import Client
from mbflow.errors import ApiError, BadRequest
from mbflow.models import Issue, Validation

FILES = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Workflow files (any dialect).")
LOCAL = typer.Option(None, "--local/--remote", help="Check in this process, or on the server. Default: on the "
                     "server when one is configured (--url, MBFLOW_URL, a profile), else here.")


def use_local(ctx: typer.Context, local: bool | None) -> bool:
    if local is not None:
        chosen = local
    else:
        with reporting():
            chosen = not options(ctx).settings().url_given
    if chosen and not mbflow.embedded.available():
        fail("working without a server needs the MBFlow server package installed (Django and the engine); "
             "give --url (or MBFLOW_URL) to use a server", Exit.REFUSED)
    return chosen


def read_file(path: Path) -> str:
    """A document file's text; one that is not UTF-8 text is a usage error."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        fail(f"{path} is not UTF-8 text (byte {exc.start}): give a YAML or JSON file", Exit.USAGE)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", Exit.USAGE)


def unreadable(exc: ApiError) -> Validation:
    """The report of a file that cannot be read as a document at all (a YAML syntax error, not a
    mapping): one error where it is."""
    issue = Issue(code=exc.code, message=exc.message, line=exc.details.get("line"),
                  column=exc.details.get("column"))
    return Validation(valid=False, kind="", dialect="", errors=[issue], warnings=[], yaml="")


def print_problems(path: Path, exc: ApiError) -> bool:
    """Prints where ``path`` is wrong (``file:line:col: code message``) when the error says."""
    problems = file_problems(path, exc)
    for problem in problems:
        err.print(problem, highlight=False, markup=False)
    return bool(problems)


def check(ctx: typer.Context, path: Path, local: bool) -> Validation:
    text = read_file(path)
    with reporting():
        try:
            if local:
                return mbflow.embedded.validate(text)
            with options(ctx).client() as client:
                return client.workflows.validate(text)
        except BadRequest as exc:
            if exc.errors or "line" not in exc.details:
                raise
            return unreadable(exc)


def issue_line(path: Path, issue: Issue) -> str:
    where = f"{path}:{issue.line or 1}:{issue.column or 1}"
    suffix = " (warning)" if issue.severity == "warning" else ""
    return f"{where}: {issue.code} {issue.message}{suffix}"


def validate(
    ctx: typer.Context,
    files: list[Path] = FILES,
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
    local: bool | None = LOCAL,
) -> None:
    """Check workflow files: each problem as **file:line:col: code message**; exit 1
    when any file has an error."""
    here = use_local(ctx, local)
    reports = [(path, check(ctx, path, here)) for path in files]
    if as_json:
        print_json([{"file": str(path), **report.model_dump(mode="json", exclude={"yaml"})}
                    for path, report in reports])
    else:
        for path, report in reports:
            for issue in [*report.errors, *report.warnings]:
                out.print(issue_line(path, issue), highlight=False, markup=False)
        errors = sum(len(report.errors) for _, report in reports)
        invalid = sum(1 for _, report in reports if not report.valid)
        err.print(f"{len(reports)} file(s) checked, {invalid} invalid, {errors} error(s)", highlight=False)
    if any(not report.valid for _, report in reports):
        raise typer.Exit(Exit.FAILED)


def convert(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A workflow in any dialect."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
    local: bool | None = LOCAL,
) -> None:
    """Convert a seed-dialect file (Go MBFlow, Magic Flow v2) to native MBFlow YAML."""
    if use_local(ctx, local):
        source = read_file(file)
        with reporting():
            try:
                text = mbflow.embedded.convert(source)
            except BadRequest as exc:
                if not print_problems(file, exc):
                    raise
                raise typer.Exit(Exit.FAILED) from None
    else:
        report = check(ctx, file, False)
        if not report.valid:
            for issue in report.errors:
                err.print(issue_line(file, issue), highlight=False, markup=False)
            raise typer.Exit(Exit.FAILED)
        text = report.yaml
    if output is None:
        out.print(text, end="", highlight=False, markup=False)
    else:
        output.write_text(text, encoding="utf-8")


def fmt(
    ctx: typer.Context,
    files: list[Path] = FILES,
    check_only: bool = typer.Option(False, "--check", help="Write nothing; exit 1 when a file would change."),
    drop_comments: bool = typer.Option(False, "--drop-comments",
                                       help="Rewrite files with comments too (the canonical layout has none)."),
) -> None:
    """Rewrite native workflow files in the canonical layout (key order, quoting, indentation).
    The layout keeps no comments: a file with comments is left as it is (exit 1) unless
    --drop-comments is given."""
    use_local(ctx, True)
    changed, kept, invalid = [], [], []
    for path in files:
        text = read_file(path)
        with reporting():
            try:
                formatted = mbflow.embedded.canonical(text)
            except BadRequest as exc:
                if not print_problems(path, exc):
                    raise
                invalid.append(path)
                continue
        if formatted == text:
            continue
        if has_comments(text) and not drop_comments and not check_only:
            kept.append(path)
            continue
        changed.append(path)
        if not check_only:
            path.write_text(formatted, encoding="utf-8")
    for path in changed:
        err.print(f"{'would reformat' if check_only else 'reformatted'} {path}", highlight=False)
    for path in kept:
        err.print(f"left {path} as it is: it has comments, which the canonical layout drops "
                  "(--drop-comments rewrites it anyway)", highlight=False)
    if (check_only and changed) or kept or invalid:
        raise typer.Exit(Exit.FAILED)


def has_comments(text: str) -> bool:
    """Whether the YAML text has a comment: a ``#`` that begins a line's rest outside any
    scalar (PyYAML's scanner skips comments, so a ``#`` no token covers is one)."""
    covered: list[tuple[int, int]] = []
    try:
        for token in yaml.scan(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(token, yaml.ScalarToken):
                covered.append((token.start_mark.index, token.end_mark.index))
    except yaml.YAMLError:
        return "#" in text  # not YAML the scanner reads: say so rather than lose what may be comments
    spans = iter(sorted(covered))
    span = next(spans, None)
    for index, char in enumerate(text):
        while span is not None and span[1] <= index:
            span = next(spans, None)
        if char == "#" and (index == 0 or text[index - 1] in " \t\n") and not (span and span[0] <= index):
            return True
    return False


def import_(
    ctx: typer.Context,
    files: list[Path] = FILES,
    message: str = typer.Option("", "--message", "-m", help="The version's message."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import workflow files (any dialect) or WorkflowContext files into the server."""
    def work(client: Client) -> None:
        for path in files:
            with reporting(path):
                imported = client.workflows.import_(read_file(path), message)
            if as_json:
                print_json({"file": str(path), **imported.model_dump(mode="json")})
                continue
            for warning in imported.warnings:
                err.print(issue_line(path, warning), highlight=False, markup=False)
            if imported.workflow is not None and imported.workflow.version is not None:
                what = "created" if imported.created else "new version of"
                out.print(f"{path}: {what} {imported.workflow.name} v{imported.workflow.version.number} "
                          f"({imported.dialect} dialect)", highlight=False)
            elif imported.context is not None:
                out.print(f"{path}: {imported.context.message}", highlight=False)

    with_client(ctx, work)


def export(
    ctx: typer.Context,
    workflow: str = typer.Argument(..., help="A workflow's name or id."),
    version: int | None = typer.Option(None, "--version", "-v", help="A version number (the active one by default)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
) -> None:
    """Export a workflow's YAML (native dialect)."""
    text = with_client(ctx, lambda client: client.workflows.export(workflow, version))
    if output is None:
        out.print(text, end="", highlight=False, markup=False)
    else:
        output.write_text(text, encoding="utf-8")


def list_(
    ctx: typer.Context,
    search: str = typer.Option("", help="Words in the name, title or description."),
    tag: str = typer.Option("", help="Only workflows with this tag."),
    archived: bool = typer.Option(False, "--archived", help="The archived ones instead."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List the tenant's workflows."""
    page = with_client(ctx, lambda client: client.workflows.list(search=search, tag=tag, archived=archived,
                                                                 page_size=500))
    if as_json:
        print_json(page.results)
        return
    longest = max((len(workflow.name) for workflow in page.results), default=4)
    table = Table(Column("name", no_wrap=True, min_width=longest), "version", "title", "tags", "updated", box=None)
    for workflow in page.results:
        table.add_row(workflow.name, str(workflow.version.number if workflow.version else "-"), workflow.title,
                      ", ".join(workflow.tags), workflow.updated_at.strftime("%Y-%m-%d %H:%M"))
    out.print(table)
    if page.count > len(page.results):
        err.print(f"{len(page.results)} of {page.count} shown")


def diff(
    ctx: typer.Context,
    workflow: str = typer.Argument(..., help="A workflow's name or id."),
    from_version: int = typer.Argument(..., help="The older version."),
    to_version: int | None = typer.Argument(None, help="The newer version (the active one by default)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show what changed between two versions (unified YAML diff, nodes and edges changed)."""
    found = with_client(ctx, lambda client: client.workflows.diff(workflow, from_version, to_version))
    if as_json:
        print_json(found)
        return
    out.print(found.unified, end="" if found.unified.endswith("\n") else "\n", highlight=False, markup=False)
    for label, changes in (("nodes", found.nodes), ("edges", found.edges)):
        for kind in ("added", "removed", "changed"):
            items = getattr(changes, kind)
            if items:
                err.print(f"{label} {kind}: {', '.join(map(str, items))}", highlight=False)


def rollback(
    ctx: typer.Context,
    workflow: str = typer.Argument(..., help="A workflow's name or id."),
    version: int = typer.Argument(..., help="The version to go back to (saved as a new version)."),
    message: str = typer.Option("", "--message", "-m"),
) -> None:
    """Make an older version the active one again (as a new version equal to it)."""
    detail = with_client(ctx, lambda client: client.workflows.rollback(workflow, version, message))
    number = detail.version.number if detail.version else "?"
    out.print(f"{detail.name}: v{number} is now active (a copy of v{version})", highlight=False)
