"""Which scenes a run predicts, and the files each writes: ``NAME.tif``, ``NAME-scores.tif``, ``NAME.json``.

Kept free of the raster stack, so that the command line can turn its arguments into scenes cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eohub.errors import UsageError


@dataclass
class SceneJob:
    """One scene to predict: its inputs, where the result goes, and the files that will be written."""

    sources: list[str]
    output: Path

    @property
    def scores_path(self) -> Path:
        return self.output.with_name(f"{_stem(self.output)}-scores.tif")

    @property
    def item_path(self) -> Path:
        return self.output.with_name(f"{_stem(self.output)}.json")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".tif", ".tiff"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def check_output(output: Path) -> Path:
    """The output path made absolute; its folder must exist and it must be a GeoTIFF name."""
    output = Path(output).expanduser().absolute()
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: no such folder for the output")
    if output.suffix.lower() not in (".tif", ".tiff"):
        raise UsageError(f"{output}: the output must be a .tif file")
    return output


def scene_jobs(inputs: Sequence[str], output: Path) -> list[SceneJob]:
    """Scenes for ``inputs``: with a ``.tif`` output, all inputs are one scene (its bands); otherwise
    ``output`` is a folder and each input (raster or STAC item) is a scene written as ``<name>.tif`` in it."""
    output = Path(output).expanduser().absolute()
    if output.suffix.lower() in (".tif", ".tiff"):
        return [SceneJob(list(inputs), check_output(output))]
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: not a folder (give a .tif name for one scene, or a folder for several)")
    output.mkdir(parents=True, exist_ok=True)
    jobs = []
    for source in inputs:
        name = Path(source).name
        stem = name[: -len(".json")] if name.lower().endswith(".json") else _stem(Path(name))
        jobs.append(SceneJob([source], output / f"{stem}.tif"))
    names = [j.output.name for j in jobs]
    if len(set(names)) != len(names):
        raise UsageError("two inputs would write the same output name; give them distinct file names")
    return jobs
