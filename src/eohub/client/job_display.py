"""How a prediction job shows itself in a notebook (``Job._repr_html_``): its state, progress, timings,
inputs and, once done, a link to the result dataset on the hub. Every value is escaped
(:mod:`eohub.core.html`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from eohub.core.html import badge, bullets, code, facts, frame, heading, paragraph, text

if TYPE_CHECKING:
    from eohub.client.jobs import Job

STATE_COLOURS = {
    "queued": "#555",
    "running": "#0b5cad",
    "done": "#1f6b2e",
    "failed": "#8b1c1c",
    "cancelled": "#8a5a00",
}


def describe_input(entry: dict[str, Any]) -> str:
    """An input as the command line writes it (``datasets/NAME@v2``, ``stac:…``, a file's name)."""
    if "dataset" in entry:
        version = f"@v{entry['version']}" if entry.get("version") else ""
        items = entry.get("items")
        shown = f"datasets/{entry['dataset']}{version}"
        return shown + (f" (items {', '.join(items)})" if items else "")
    if "stac_item" in entry:
        return f"stac:{entry['stac_item']}"
    upload = entry.get("upload") or {}
    return f"{upload.get('name', '')} (uploaded, sha256 {str(upload.get('sha256', ''))[:12]}…)"


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


def progress_text(job: Job) -> str:
    done, total = job.progress.done, job.progress.total
    return f"{done}/{total} windows ({100 * done / total:.0f}%)" if total else "planning"


def job_html(job: Job) -> str:
    """The job as a notebook shows it (see the module docstring)."""
    header = Markup(" ").join([badge(job.state, STATE_COLOURS.get(job.state, "#555"), filled=job.ended)])
    rows: list[tuple[str, Any]] = [
        ("Model", f"{job.model} v{job.model_version}"),
        ("Owner", job.owner),
        ("Progress", progress_text(job)),
        ("Created", f"{job.created:%Y-%m-%d %H:%M:%S}"),
        ("Queued", seconds(job.queued_seconds)),
        ("Ran", seconds(job.run_seconds)),
        ("Options", ", ".join(f"{k} {v}" for k, v in job.options.items() if v is not None)),
        ("Output dataset", job.output_dataset),
    ]
    parts = [heading(f"Job {job.id}", 4), paragraph(header), facts(rows)]
    if job.error:
        parts.append(paragraph(text("Failed: ") + code(job.error)))
    if job.result is not None:
        label = f"{job.result.dataset} v{job.result.version}"
        url = job.result_url or ""
        link = (
            Markup('<a href="{}" target="_blank" rel="noopener">{}</a>').format(url, label)
            if url.startswith(("http://", "https://"))
            else text(label)
        )
        parts.append(paragraph(text("Result: ") + link))
    parts.append(heading("Inputs", 5))
    parts.append(bullets([describe_input(i) for i in job.inputs], what="inputs"))
    return frame(*parts)
