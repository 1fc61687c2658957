"""``eohub models`` and ``eohub datasets``: one factory builds both command groups for their kind.

init FOLDER (models only, :mod:`eohub.cli.model_init`), ingest PATH, get NAME, list, versions NAME,
info NAME. Tables are printed with rich; ``--format json`` prints the same data as JSON. Every command
talks to :func:`eohub.repository.open_repository`, so the same commands work on the embedded repository
and on a hub. A version's files are everything ``get`` writes, STAC documents named among them
(:func:`eohub.repository.records.describe_files`); its changes count both.

(No ``from __future__ import annotations`` here: Typer evaluates the option annotations, whose help texts
name the group's kind, a local of :func:`make_group`.)
"""

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eohub.cli.common import ForceOption, OutputFormat, echo, overwriting, print_json, printable, user_errors
from eohub.cli.model_init import init as init_model
from eohub.core.names import PLURALS
from eohub.core.units import human_size
from eohub.errors import InvalidStacError
from eohub.repository import Kind, open_repository

if TYPE_CHECKING:  # imported lazily: the command line starts without the repository stack and rich
    from rich.table import Table

    from eohub.repository import RepositoryInfo, VersionInfo
    from eohub.repository.links import TrainedModel

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="text or json.")]


class Visibility(str, Enum):  # noqa: UP042 - Typer choices
    public = "public"
    private = "private"


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def _print_table(table: "Table") -> None:
    from rich.console import Console

    Console(soft_wrap=True).print(table)


def _row(table: "Table", *cells: object) -> None:
    """A row of plain text: what other users and hubs wrote is never read as rich markup or escapes."""
    from rich.text import Text

    table.add_row(*(Text(printable(cell)) for cell in cells))


def _list_table(kind: Kind, infos: "list[RepositoryInfo]") -> "Table":
    from rich.table import Table

    table = Table(title=PLURALS[kind].capitalize())
    for column in ("name", "latest", "quality", "tasks", "files", "size", "owner"):
        table.add_column(column, overflow="fold")  # a name cut short cannot be copied
    for info in infos:
        latest = info.latest
        _row(
            table,
            info.name + (" (private)" if info.private else ""),
            f"v{latest.number}" if latest else "-",
            latest.quality if latest else "-",
            ", ".join(latest.tasks) if latest else "",
            str(latest.files) if latest else "-",
            human_size(latest.size) if latest else "-",
            info.owner,
        )
    return table


def _files(version: "VersionInfo") -> str:
    """``5 (3 STAC)``: the files a download of the version holds, and the STAC documents among them."""
    return f"{version.files} ({version.documents} STAC)" if version.documents else str(version.files)


def _changes(version: "VersionInfo") -> str:
    c = version.changes
    text = f"+{c.get('added', 0)} ~{c.get('changed', 0)} -{c.get('removed', 0)}"
    return text + " metadata" if c.get("metadata") else text


def _versions_table(name: str, versions: "list[VersionInfo]") -> "Table":
    from rich.table import Table

    table = Table(
        "version",
        "date",
        "quality",
        "files",
        "size",
        "changes",
        title=printable(name),
        caption="files: all a download holds, STAC documents included; changes: files +added ~changed "
        "-removed since the version before",
    )
    for v in versions:
        _row(
            table,
            f"v{v.number}",
            v.created.strftime("%Y-%m-%d %H:%M"),
            v.quality,
            _files(v),
            human_size(v.size),
            _changes(v),
        )
    return table


def _print_info(info: "RepositoryInfo") -> None:
    meta = info.metadata
    lines = [
        f"{info.kind} {info.name}" + (" (private)" if info.private else ""),
        f"owner: {info.owner}",
        f"authors: {', '.join(meta.authors) or '-'}",
        f"license: {meta.license or '-'}",
        f"source: {meta.source or '-'}",
        f"tags: {', '.join(meta.tags) or '-'}",
    ]
    latest = info.latest
    if latest:
        lines.append(
            f"latest: v{latest.number} ({latest.quality}), {latest.files_text}, {human_size(latest.size)}"
        )
        lines += [f"  {reason}" for reason in latest.quality_reasons]
        if latest.metrics is not None:
            from eohub.quality.metrics.text import metrics_lines

            lines += [f"  {line}" for line in metrics_lines(latest.metrics)]
    if meta.description:
        lines += ["", meta.description]
    echo("\n".join(lines))


def _print_training(info: "RepositoryInfo", models: "list[TrainedModel] | None") -> None:
    """A model's training datasets with their quality, or the models trained on a dataset."""
    lines = []
    if info.latest is not None and info.latest.trained_on:
        lines.append("trained on:")
        lines += [
            f"  {link.label}" + (f" ({link.quality})" if link.quality else "")
            for link in info.latest.trained_on
        ]
    if models:
        lines.append("models trained on it:")
        lines += [f"  {m.model} v{m.version} ({m.quality}), on v{m.dataset_version}" for m in models]
    if lines:
        echo("\n".join(lines))


def make_group(kind: Kind) -> typer.Typer:
    """The Typer group of commands for ``kind`` (mounted as ``eohub models`` / ``eohub datasets``)."""
    plural = PLURALS[kind]
    verbs = "Package, ingest" if kind == "model" else "Ingest"
    app = typer.Typer(help=f"{verbs}, download and list {plural}.", no_args_is_help=True)
    if kind == "model":  # datasets have no ONNX file to start from
        app.command("init")(init_model)

    @app.command("ingest")
    def ingest(
        path: Annotated[Path, typer.Argument(help="A folder of files, or a STAC catalog folder.")],
        name: Annotated[
            str | None, typer.Option("--name", help="Name (default: README or catalog id).")
        ] = None,
        private: Annotated[
            bool, typer.Option("--private", help="Only you can see it (at creation).")
        ] = False,
        allow_invalid: Annotated[
            bool, typer.Option("--allow-invalid", help="Store invalid STAC anyway, as Q0.")
        ] = False,
        allow_outside: Annotated[
            list[Path] | None,
            typer.Option(
                "--allow-outside",
                help="Also read local assets under this folder (repeatable); by default only the "
                "folder and, for assets, the current directory are read.",
            ),
        ] = None,
        trained_on: Annotated[
            list[str] | None,
            typer.Option(
                "--trained-on",
                help="A model's training data on the hub: datasets/NAME@vN or datasets/NAME (its latest "
                "version); repeatable. Links of the MLM items to the hub's datasets count too.",
            ),
        ] = None,
        quiet: QuietOption = False,
        format: FormatOption = OutputFormat.text,
    ) -> None:
        """Store a folder as the next version of a {kind}; "no changes" when nothing changed."""
        from eohub.cli.progress import progress_for
        from eohub.repository.scan import folder_of

        with user_errors():
            folder_of(path)  # a wrong path is said at once, before the repository opens
            try:
                with open_repository() as repo:
                    result = repo.ingest(
                        kind,
                        path,
                        name,
                        private,
                        allow_invalid,
                        progress_for(quiet),
                        allow_outside or (),
                        trained_on or (),
                    )
            except InvalidStacError as exc:
                for problem in exc.problems:
                    echo(f"  {problem}", err=True)
                raise
        if format is not OutputFormat.json:
            for outside in result.outside:
                echo(f"read from outside the folder: {outside}", err=True)
        if format is OutputFormat.json:
            print_json(result.to_dict())
        elif result.version is None:
            echo(f"{result.name}: no changes (latest is version {result.latest}, {result.quality.label})")
        else:
            echo(f"{result.name}: version {result.version} created ({result.quality.label})")
        if format is not OutputFormat.json:
            for note in result.notes:
                echo(f"  note: {note}")

    @app.command("get")
    def get(
        name: Annotated[str, typer.Argument(help=f"The {kind}'s name.")],
        version: Annotated[
            int | None, typer.Option("--version", min=1, help="Version (default: latest).")
        ] = None,
        path: Annotated[Path, typer.Option("--path", help="Download under this folder.")] = Path("."),
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Replace an existing download (kept by default).")
        ] = False,
        force: ForceOption = False,
        quiet: QuietOption = False,
    ) -> None:
        """Download a version into PATH/NAME/vN, verifying every file's SHA-256.

        Prints the folder, then (on stderr, unless --quiet) what it holds: its files, STAC documents
        named among them."""
        from eohub.cli.progress import progress_for

        replace = overwriting(overwrite, force)
        with user_errors(), open_repository() as repo:
            done = repo.download_version(kind, name, path, version, replace, progress_for(quiet))
        echo(str(done.path))
        if not quiet:
            echo(f"v{done.number}: {done.files_text}, {human_size(done.size)}", err=True)

    @app.command("list")
    def list_(
        name: Annotated[str | None, typer.Option("--name", help="Only names containing this.")] = None,
        limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many.")] = None,
        format: FormatOption = OutputFormat.text,
    ) -> None:
        """List the {plural} you can see: name, latest version, quality, tasks, size."""
        with user_errors(), open_repository() as repo:
            infos = repo.list(kind, name, limit)
        if format is OutputFormat.json:
            print_json([i.to_dict() for i in infos])
        else:
            _print_table(_list_table(kind, infos))

    @app.command("versions")
    def versions(
        name: Annotated[str, typer.Argument(help=f"The {kind}'s name.")],
        format: FormatOption = OutputFormat.text,
    ) -> None:
        """List a {kind}'s versions: date, quality, files changed since the previous version."""
        with user_errors(), open_repository() as repo:
            canonical = repo.get(kind, name).name
            items = repo.versions(kind, name)
        if format is OutputFormat.json:
            print_json([v.to_dict() for v in items])
        else:
            _print_table(_versions_table(canonical, items))

    @app.command("info")
    def info(
        name: Annotated[str, typer.Argument(help=f"The {kind}'s name.")],
        format: FormatOption = OutputFormat.text,
    ) -> None:
        """Show a {kind}'s metadata and its latest version's quality with the reasons."""
        with user_errors(), open_repository() as repo:
            found = repo.get(kind, name)
            models = repo.trained_models(found.name) if kind == "dataset" else None
        if format is OutputFormat.json:
            print_json(
                found.to_dict()
                | ({"trained_models": [m.to_dict() for m in models]} if models is not None else {})
            )
        else:
            _print_info(found)
            _print_training(found, models)

    @app.command("set-visibility")
    def set_visibility(
        name: Annotated[str, typer.Argument(help=f"The {kind}'s name.")],
        visibility: Annotated[Visibility, typer.Argument(help="public or private.")],
    ) -> None:
        """Make a {kind} public or private (owner only)."""
        with user_errors(), open_repository() as repo:
            found = repo.set_visibility(kind, name, visibility is Visibility.private)
        echo(f"{found.name} is now {'private' if found.private else 'public'}")

    @app.command("delete")
    def delete(
        name: Annotated[str, typer.Argument(help=f"The {kind}'s name.")],
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    ) -> None:
        """Delete a {kind} and all its versions (owner only)."""
        if not yes:
            typer.confirm(f"delete {kind} {name} and all its versions?", abort=True)
        with user_errors(), open_repository() as repo:
            repo.delete(kind, name)
        echo(f"{name} deleted")

    for command in app.registered_commands:
        if command.callback is not None and command.callback.__doc__:
            command.callback.__doc__ = command.callback.__doc__.format(kind=kind, plural=plural)
    return app


models = make_group("model")
datasets = make_group("dataset")

__all__ = ["datasets", "make_group", "models"]
