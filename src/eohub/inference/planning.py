"""Everything decided about a scene before its first pixel is read: bands, tile, overlap, batch, output files.

:func:`plan_scenes` opens and plans every scene of a run first, so that bad input fails before any file
is written. A model is known here only as a :class:`~eohub.inference.scene_model.SceneModel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rasterio.transform import Affine

from eohub.errors import UsageError
from eohub.inference import bands as band_resolution
from eohub.inference.metadata import CLASSIFICATION_TASKS
from eohub.inference.options import RunOptions, positive
from eohub.inference.outputs import OutputPlan
from eohub.inference.raster_input import RasterInput, gdal_env, open_input
from eohub.inference.raster_output import OutputLayout
from eohub.inference.tiling import Grid

if TYPE_CHECKING:
    from eohub.inference.scene_model import SceneModel
    from eohub.inference.scenes import SceneJob

TILE_KEYS = ("tile_size", "patch_size", "chip_size", "window_size")
OVERLAP_KEYS = ("tile_overlap", "overlap", "window_overlap")
BLEND_KEYS = ("blend", "blending")
BATCH_KEYS = ("batch_size",)
DEFAULT_TILE = 256
DEFAULT_PIXEL_BATCH = 65536  # pixels per model call for a per-pixel model


@dataclass
class ScenePlan:
    """Everything decided before the first pixel is read."""

    grid: Grid
    bands: band_resolution.BandPlan
    output: OutputPlan
    per_patch: bool
    batch: int
    blend: str
    layout: OutputLayout
    scores: OutputLayout | None
    out_height: int
    out_width: int
    out_transform: Any
    labels: bool = False  # the model's own label output gives the class map (nothing is blended)

    @property
    def tile(self) -> tuple[int, int]:
        return self.grid.tile_h, self.grid.tile_w


def plan_scene(predictor: SceneModel, raster: RasterInput, options: RunOptions) -> ScenePlan:
    """Decide bands, tile, overlap, batch and output files for running ``predictor`` on ``raster``."""
    meta = predictor.metadata
    spec = predictor.spec
    channels = predictor.size("channel") if not spec.pre_processing else None
    band_plan = band_resolution.resolve(
        spec.bands, raster.infos, meta.band_defs, channels, predictor.allow_code
    )
    plan: OutputPlan = predictor.primary
    tile_h, tile_w, overlap = _tile_and_overlap(predictor, plan, options)
    tile, step = (tile_h, tile_w), (overlap, overlap)
    grid = Grid.make(raster.height, raster.width, tile, step, options.region, raster.block_shape)
    per_patch = not plan.spec.spatial and overlap == 0
    batch = (
        positive(options.batch, "--batch")
        or predictor.fixed_batch
        or meta.batch_size_suggestion
        or positive(meta.hyperparameter(*BATCH_KEYS), "batch_size hyperparameter")
        or (DEFAULT_PIXEL_BATCH if predictor.per_pixel else 16)
    )
    blend = options.blend or meta.hyperparameter(*BLEND_KEYS) or "cosine"
    grid.weights(blend)  # validates the name
    if per_patch:
        out_h, out_w = grid.rows, grid.cols
        transform = raster.transform @ Affine.scale(grid.stride_w, grid.stride_h)
    else:
        out_h, out_w, transform = raster.height, raster.width, raster.transform
    if plan.is_classes:
        names = tuple(c.name for c in plan.classes)
        layout = OutputLayout(1, plan.class_dtype.name, plan.class_nodata, ("class",), plan.classes)
        wants_scores = bool(set(plan.spec.tasks) & CLASSIFICATION_TASKS) and not plan.spec.spatial
        if predictor.per_pixel:  # a class map and the scores of each pixel, when the model has scores
            wants_scores = plan.kind != "labels"
        scores = OutputLayout(plan.channels, "float32", float("nan"), names) if wants_scores else None
    else:
        names = tuple(
            f"{plan.spec.name}_{k}" if plan.channels > 1 else plan.spec.name for k in range(plan.channels)
        )
        layout = OutputLayout(plan.channels, "float32", float("nan"), names)
        scores = None
    labels = per_patch and plan.own_labels
    return ScenePlan(
        grid, band_plan, plan, per_patch, batch, blend, layout, scores, out_h, out_w, transform, labels
    )


def _tile_and_overlap(predictor: SceneModel, plan: OutputPlan, options: RunOptions) -> tuple[int, int, int]:
    """Tile height and width and overlap: a per-pixel model's windows are single pixels, side by side."""
    if predictor.per_pixel:
        if options.tile not in (None, 1) or options.overlap not in (None, 0):
            raise UsageError("the model predicts each pixel on its own: --tile and --overlap do not apply")
        return 1, 1, 0
    meta = predictor.metadata
    model_h, model_w = predictor.tile_size
    tile = positive(options.tile, "--tile") or positive(
        meta.hyperparameter(*TILE_KEYS), "tile hyperparameter"
    )
    tile_h = tile or (model_h if model_h > 0 else DEFAULT_TILE)
    tile_w = tile or (model_w if model_w > 0 else DEFAULT_TILE)
    _check_tile(predictor, plan, (tile_h, tile_w))
    overlap = positive(options.overlap, "--overlap", 0)
    if overlap is None:
        overlap = positive(meta.hyperparameter(*OVERLAP_KEYS), "overlap hyperparameter", 0)
    if overlap is None:
        overlap = 0 if not plan.spec.spatial else min(tile_h, tile_w) // 8
    return tile_h, tile_w, overlap


def _check_tile(predictor: SceneModel, plan: OutputPlan, tile: tuple[int, int]) -> None:
    model = predictor.tile_size
    resize_type = predictor.spec.resize_type
    for t, m, axis in ((tile[0], model[0], "height"), (tile[1], model[1], "width")):
        if m <= 0 or t == m:
            continue
        where = f"the model's input {axis} is {m}; a tile of {t}"
        if resize_type is None:
            raise UsageError(f"{where} needs a resize_type in the MLM item (or use --tile {m})")
        if resize_type == "crop" and (t < m or plan.spec.spatial):
            raise UsageError(f"{where} cannot be cropped to fit (resize_type crop); use --tile {m}")
        if resize_type == "pad" and t > m:
            raise UsageError(f"{where} cannot be padded to fit (resize_type pad); use --tile {m} or smaller")


def part_rows(plan: ScenePlan, i0: int, i1: int) -> tuple[int, int]:
    """Output rows owned by region rows ``i0:i1``."""
    grid = plan.grid
    if plan.per_patch:
        return i0 * grid.region_rows, min(i1 * grid.region_rows, grid.rows)
    return grid.row_span(i0, i1)


def plan_scenes(
    predictor: SceneModel, jobs: Sequence[SceneJob], options: RunOptions
) -> list[tuple[SceneJob, RasterInput, ScenePlan]]:
    """Open and plan every scene before any is predicted, so that bad input fails before a file is written.

    The caller closes the returned inputs; on an error, those opened so far are closed here.
    """
    planned: list[tuple[SceneJob, RasterInput, ScenePlan]] = []
    try:
        with gdal_env():
            for job in jobs:
                raster = open_input(job.sources)
                try:
                    plan = plan_scene(predictor, raster, options)
                except BaseException:
                    raster.close()
                    raise
                planned.append((job, raster, plan))
    except BaseException:
        for _, raster, _ in planned:
            raster.close()
        raise
    return planned
