"""``eohub jobs``: run a model on the hub at EOHUB_URL and publish the result as a dataset.

``submit MODEL INPUT…`` (inputs: ``datasets/NAME[@vN][:ITEM_ID]``, ``stac:COLLECTION/ITEM`` or local files,
uploaded first), ``list``, ``show ID``, ``cancel ID``. ``submit`` waits for the job with a bar of windows
done (``--no-wait`` prints the job's id and returns); a job that fails or is cancelled exits 1 with its
reason. ``--format json`` prints the hub's job JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from eohub.cli.common import OutputFormat, echo, fail, print_json, printable, user_errors

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from eohub.client.jobs import Job, JobsClient

app = typer.Typer(
    help="Run a model on the hub (EOHUB_URL); the result becomes a dataset.", no_args_is_help=True
)

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="text or json.")]
IdArgument = Annotated[str, typer.Argument(help="The job's id (from submit or list).")]


class State(str, Enum):  # noqa: UP042 - Typer choices
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


@app.command("submit")
def submit(
    model: Annotated[str, typer.Argument(help="The model's name on the hub.")],
    inputs: Annotated[
        list[str],
        typer.Argument(help="datasets/NAME[@vN][:ITEM_ID], stac:COLLECTION/ITEM, or a local scene file."),
    ],
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="The model's version (default: latest).")
    ] = None,
    tile: Annotated[
        int | None, typer.Option("--tile", help="Window size in pixels (default: the model's).")
    ] = None,
    overlap: Annotated[int | None, typer.Option("--overlap", help="Overlap of neighbouring windows.")] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Windows per ONNX Runtime call.")] = None,
    output: Annotated[
        str | None, typer.Option("--output", help="Dataset for the result (default: MODEL-predictions).")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the job to end.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Queue a job running MODEL over the inputs; with --wait (default), follow it to its end."""
    from eohub.cli.progress import progress_for
    from eohub.client.job_api import open_hub
    from eohub.client.job_api import submit as submit_job

    with user_errors(), open_hub() as (remote, jobs):
        job = submit_job(
            remote, jobs, model, inputs, version, output, tile, overlap, batch, progress_for(quiet)
        )
        if wait:
            silent = quiet or format is OutputFormat.json
            if not silent:
                echo(f"job {job.id} queued: model {job.model} v{job.model_version}", err=True)
            job = _follow(jobs, job, silent)
    _report(job, format, waited=wait)


@app.command("list")
def list_(
    state: Annotated[State | None, typer.Option("--state", help="Only jobs in this state.")] = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    """List your jobs, newest first."""
    from eohub.client.job_api import list_jobs

    with user_errors():
        jobs = list_jobs(state.value if state else None)
    if format is OutputFormat.json:
        print_json([j.to_dict() for j in jobs])
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from eohub.client.job_display import progress_text

    table = Table(title="Jobs")
    for column in ("id", "model", "state", "progress", "created", "result"):
        table.add_column(column, overflow="fold")
    for j in jobs:
        result = f"{j.result.dataset} v{j.result.version}" if j.result else (j.error or "")
        cells = (
            j.id,
            f"{j.model} v{j.model_version}",
            j.state,
            progress_text(j),
            f"{j.created:%Y-%m-%d %H:%M}",
        )
        table.add_row(*(Text(printable(c)) for c in (*cells, result)))
    Console(soft_wrap=True).print(table)


@app.command("show")
def show(job_id: IdArgument, format: FormatOption = OutputFormat.text) -> None:
    """Show a job: state, progress, timings, inputs and the result dataset."""
    from eohub.client.job_api import get_job

    with user_errors():
        job = get_job(job_id)
    _print(job, format, _details)


@app.command("cancel")
def cancel(job_id: IdArgument, format: FormatOption = OutputFormat.text) -> None:
    """Cancel a queued or running job: it stops and publishes nothing."""
    from eohub.client.job_api import cancel_job

    with user_errors():
        job = cancel_job(job_id)
    _print(job, format, lambda j: f"job {j.id} {j.state}")


def _print(job: Job, format: OutputFormat, text: Callable[[Job], str]) -> None:
    """The hub's JSON of ``job`` with ``--format json``, else ``text(job)``."""
    if format is OutputFormat.json:
        print_json(job.to_dict())
    else:
        echo(text(job))


def _follow(jobs: JobsClient, job: Job, quiet: bool) -> Job:
    """Wait for ``job`` with a bar of windows done; Ctrl-C stops waiting, not the job."""
    import sys

    bar = None if quiet or not sys.stdout.isatty() else _JobBar()
    try:
        return jobs.wait(job, bar.show if bar else None)
    except KeyboardInterrupt:
        raise fail(
            f"stopped waiting; job {job.id} goes on (eohub jobs show {job.id}, eohub jobs cancel {job.id})",
            130,
        ) from None
    finally:
        if bar is not None:
            bar.stop()


class _JobBar:
    """A rich bar of the windows a job has done, with its state."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar: Progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("windows"),
            TimeElapsedColumn(),
            transient=True,
        )
        self.task: TaskID = self.bar.add_task("queued", total=None)
        self.bar.start()

    def show(self, job: Job) -> None:
        total = job.progress.total or None
        self.bar.update(self.task, description=job.state, completed=job.progress.done, total=total)

    def stop(self) -> None:
        self.bar.stop()


def _report(job: Job, format: OutputFormat, waited: bool) -> None:
    """Print how the job ended (or its id when not waiting); exit 1 when it failed or was cancelled."""
    if format is OutputFormat.json:
        print_json(job.to_dict())
    elif not waited:
        echo(job.id)
        echo(f"job {job.id} {job.state}; follow it with: eohub jobs show {job.id}", err=True)
    elif job.result is not None:
        echo(f"job {job.id} done: dataset {job.result.dataset} v{job.result.version}")
        echo(job.result_url or "")
    if waited and job.state == "failed":
        raise fail(f"job {job.id} failed: {job.error or 'the hub gave no reason'}")
    if waited and job.state == "cancelled":
        raise fail(f"job {job.id} was cancelled")


def _details(job: Job) -> str:
    from eohub.client.job_display import describe_input, progress_text, seconds

    lines = [
        f"job {job.id}: {job.state}",
        f"model: {job.model} v{job.model_version}",
        f"owner: {job.owner}",
        f"progress: {progress_text(job)}",
        f"created: {job.created:%Y-%m-%d %H:%M:%S}",
    ]
    if job.queued_seconds is not None:
        lines.append(f"queued: {seconds(job.queued_seconds)}")
    if job.run_seconds is not None:
        lines.append(f"ran: {seconds(job.run_seconds)}")
    options = ", ".join(f"{k} {v}" for k, v in job.options.items() if v is not None)
    if options:
        lines.append(f"options: {options}")
    lines.append(f"output dataset: {job.output_dataset}")
    if job.error:
        lines.append(f"error: {job.error}")
    if job.result is not None:
        lines.append(f"result: {job.result.dataset} v{job.result.version} {job.result_url}")
    lines.append("inputs:")
    lines += [f"  {describe_input(i)}" for i in job.inputs]
    return "\n".join(lines)
