"""``eohub predict``: run an MLM-described model on rasters or STAC items, here or on a Dask cluster.

Existing outputs are kept unless ``--overwrite`` (as ``rio`` does): a scene whose ``.tif``, scores or STAC
item exists stops the run before any model loads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eohub.cli.common import echo, user_errors
from eohub.errors import AlreadyExistsError
from eohub.inference.options import RunOptions, default_streams, positive, session_threads

if TYPE_CHECKING:
    from eohub.inference.predictor import Predictor
    from eohub.inference.scenes import SceneJob


def predict(
    model: Annotated[
        str,
        typer.Argument(
            help="MLM item file, downloaded model folder, hub name NAME[:VERSION], or hub URL of a model."
        ),
    ],
    inputs: Annotated[
        list[str],
        typer.Argument(help="One multi-band GeoTIFF/COG, several single-band files, or a STAC item JSON."),
    ],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="Output .tif (one scene), or a folder (each INPUT is a scene)."),
    ],
    tile: Annotated[
        int | None, typer.Option("--tile", help="Window size in pixels (default: the model's).")
    ] = None,
    overlap: Annotated[
        int | None, typer.Option("--overlap", help="Overlap of neighbouring windows in pixels.")
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option("--batch", help="Windows per ONNX Runtime call (pixels, for a per-pixel model)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Run on a local Dask cluster of N processes.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Run on a Dask cluster (tcp://host:port).")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            help="ONNX Runtime threads per model call (default: the cores shared by the streams).",
        ),
    ] = None,
    streams: Annotated[
        int | None,
        typer.Option(
            "--streams", help="Batches in the model at once (default: 2 with two cores or more, else 1)."
        ),
    ] = None,
    allow_code: Annotated[
        bool,
        typer.Option("--allow-code", help="Run processing expressions and Python functions the item names."),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Replace existing outputs: .tif, scores and STAC item (kept by default)."
        ),
    ] = False,
) -> None:
    """Predict with a model described by STAC MLM; writes a COG and a STAC item beside it."""
    from eohub.inference.scenes import scene_jobs

    with user_errors():
        streams = positive(streams, "--streams") or default_streams(workers, scheduler)
        options = RunOptions(tile=tile, overlap=overlap, batch=batch, streams=streams)
        threads = positive(threads, "--threads") or session_threads(options.streams, workers, scheduler)
        jobs = scene_jobs(inputs, output)
        try:
            if not overwrite:
                _refuse_existing(jobs)
            predictor = _load_while_importing_the_raster_stack(model, allow_code, threads)
            from eohub.inference.distributed import dask_client, run_scenes

            if workers or scheduler:
                with dask_client(workers, scheduler) as client:
                    written = run_scenes(predictor, jobs, options, client, threads=threads)
            else:
                written = run_scenes(predictor, jobs, options)
        except BaseException:
            if output.is_dir() and not any(output.iterdir()):
                output.rmdir()
            raise
    for path in written:
        echo(str(path))


def _refuse_existing(jobs: Sequence[SceneJob]) -> None:
    """Stop before anything runs when a file a scene would write is there already."""
    for job in jobs:
        for path in (job.output, job.scores_path, job.item_path):
            if os.path.lexists(path):
                raise AlreadyExistsError(f"{path} exists; pass --overwrite to replace it")


def _load_while_importing_the_raster_stack(model: str, allow_code: bool, threads: int | None) -> Predictor:
    """The model's :class:`~eohub.inference.predictor.Predictor`, its ONNX Runtime session built on a
    second thread while this one imports rasterio and the pipeline: the session is C++ work that releases
    the GIL, so the two overlap and the command starts sooner."""
    from eohub.inference.predictor import Predictor

    with ThreadPoolExecutor(1, thread_name_prefix="eohub-load") as pool:
        loading = pool.submit(Predictor.from_item, model, allow_code=allow_code, threads=threads)
        import eohub.inference.distributed  # noqa: F401 - imported now, used by the caller

        return loading.result()
