"""The end of a scene: its part files assembled into the output COG(s), and the output STAC item beside them.

Everything is written under temporary names and renamed only when all of it is written: all or nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eohub.errors import EohubError, InferenceError
from eohub.inference.output_item import build_output_item, write_item
from eohub.inference.raster_output import PartResult, remove_quietly, temp_name, write_cog

if TYPE_CHECKING:
    from eohub.inference.planning import ScenePlan
    from eohub.inference.raster_input import RasterInput
    from eohub.inference.scene_model import SceneModel
    from eohub.inference.scenes import SceneJob


def finalize(
    predictor: SceneModel, raster: RasterInput, plan: ScenePlan, job: SceneJob, parts: Sequence[PartResult]
) -> None:
    """Assemble part files into the output COG(s) and write the output STAC item; all or nothing."""
    targets = [(job.output, plan.layout, 0)]
    if plan.scores is not None:
        targets.append((job.scores_path, plan.scores, 1))
    temps: list[Path] = []
    try:
        for final, layout, n in targets:
            tmp = temp_name(final, ".tif")
            temps.append(tmp)
            pieces = [(p.paths[n], p.row, p.rows) for p in sorted(parts, key=lambda p: p.row)]
            write_cog(pieces, tmp, layout, plan.out_width, plan.out_height, plan.out_transform, raster.crs)
        item_tmp = temp_name(job.item_path, ".json")
        temps.append(item_tmp)
        item = build_output_item(predictor, raster, plan, job)
        write_item(item, item_tmp)
        for (final, _, _), tmp in zip(targets, temps, strict=False):
            os.replace(tmp, final)
        os.replace(item_tmp, job.item_path)
    except EohubError:
        raise
    except Exception as exc:
        raise InferenceError(f"{job.output}: writing the result failed ({exc})") from exc
    finally:
        remove_quietly(temps)
