"""Tiling, blending and the scene pipeline compared with plain references computed on the whole scene."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import rasterio

from eohub.inference.predictor import Predictor
from eohub.inference.tiling import Grid, pad_to, ramp, window_count
from tests.inference_helpers import regressor_item, segmenter_item, write_raster

BANDS = ["B02", "B03", "B04"]


def smooth_scene(height: int, width: int, bands: int = 3) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    layers = [1000 + 300 * np.sin(x / (17 + 5 * b)) * np.cos(y / (23 + 3 * b)) + x + y for b in range(bands)]
    return np.stack(layers).astype(np.float32)


def reference_blend(predictor: Predictor, data: np.ndarray, tile: int, overlap: int) -> np.ndarray:
    """Whole-scene reference: pad the scene, predict every window, weight, sum and divide in float64."""
    grid = Grid.make(data.shape[1], data.shape[2], (tile, tile), (overlap, overlap))
    scaled = predictor.scale(data, 0)
    padded = pad_to(scaled, (grid.rows - 1) * grid.stride_h + tile, grid.padded_width)
    weights = grid.weights("cosine").astype(np.float64)
    acc = np.zeros((predictor.primary.channels, *padded.shape[1:]))
    wsum = np.zeros(padded.shape[1:])
    for r in range(grid.rows):
        for c in range(grid.cols):
            y, x = r * grid.stride_h, c * grid.stride_w
            window = padded[None, None, :, y : y + tile, x : x + tile]
            pred = predictor.predict_windows(window)[0]
            acc[:, y : y + tile, x : x + tile] += pred * weights
            wsum[y : y + tile, x : x + tile] += weights
    return (acc / wsum)[:, : data.shape[1], : data.shape[2]]


def test_windows_cover_the_scene_and_a_small_scene_is_one_padded_window() -> None:
    assert window_count(100, 32, 32) == 4  # 3 full windows + one running past the edge
    assert window_count(96, 32, 32) == 3
    assert window_count(10, 32, 24) == 1
    grid = Grid.make(10, 7, (32, 32), (8, 8))
    assert (grid.rows, grid.cols) == (1, 1)
    region = grid.region(0, 0)
    assert (region.own_h, region.own_w, region.extent_h, region.extent_w) == (10, 7, 32, 32)
    padded = pad_to(np.arange(70.0).reshape(1, 10, 7), 32, 32)
    assert padded.shape == (1, 32, 32)
    assert padded[0, 10, 0] == padded[0, 9, 0]  # mirrored, not zero-filled


def test_blend_ramps_rise_over_the_overlap_and_are_never_zero() -> None:
    weights = ramp(16, 4, "cosine")
    assert weights.min() > 0
    assert np.all(weights[4:12] == 1)
    assert np.all(np.diff(weights[:4]) > 0)
    np.testing.assert_allclose(weights, weights[::-1])
    assert np.all(ramp(16, 0) == 1)


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap", "region"),
    [(150, 170, 32, 8, 64), (97, 61, 32, 12, 40), (20, 30, 32, 8, 64), (130, 140, 40, 30, 50)],
)
def test_blended_scene_equals_a_whole_scene_reference(tmp_path, height, width, tile, overlap, region) -> None:
    data = smooth_scene(height, width)
    raster = write_raster(tmp_path / "in.tif", data, BANDS, block=32)
    predictor = Predictor.from_item(
        regressor_item(tmp_path, BANDS, outputs=2, scaling=[{"type": "scale", "value": 1000}])
    )
    out = predictor.run(raster, tmp_path / "out.tif", tile=tile, overlap=overlap, region=region, batch=3)
    with rasterio.open(out) as src:
        result = src.read()
    expected = reference_blend(predictor, data, tile, overlap)
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


def test_without_overlap_classes_equal_a_plain_onnxruntime_loop(tmp_path) -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(1, 3000, (3, 100, 90)).astype(np.uint16)
    raster = write_raster(tmp_path / "in.tif", data, BANDS, block=32)
    item = segmenter_item(
        tmp_path, BANDS, classes=3, size=32, scaling=[{"type": "z-score", "mean": 1500, "stddev": 800}]
    )
    out = Predictor.from_item(item).run(raster, tmp_path / "out.tif", overlap=0, region=64)
    with rasterio.open(out) as src:
        result = src.read(1)
    session = ort.InferenceSession(str(tmp_path / "seg.onnx"))
    scaled = (data.astype(np.float32) - 1500) / 800
    padded = np.pad(scaled, [(0, 0), (0, 128 - 100), (0, 96 - 90)], mode="symmetric")
    expected = np.zeros((128, 96), np.uint8)
    for y in range(0, 128, 32):
        for x in range(0, 96, 32):
            scores = session.run(None, {"input": padded[None, :, y : y + 32, x : x + 32]})[0]
            expected[y : y + 32, x : x + 32] = scores[0].argmax(axis=0)
    assert np.array_equal(result, expected[:100, :90])


def _column_jumps(values: np.ndarray, columns: list[int]) -> float:
    return float(np.mean([np.abs(values[:, :, c] - values[:, :, c - 1]).mean() for c in columns]))


def test_overlap_leaves_no_seam_at_tile_borders(tmp_path) -> None:
    data = smooth_scene(96, 192)
    raster = write_raster(tmp_path / "in.tif", data, BANDS, block=32)
    predictor = Predictor.from_item(
        regressor_item(tmp_path, BANDS, outputs=1, scaling=[{"type": "scale", "value": 1000}])
    )
    seams, inside = {}, {}
    for overlap in (0, 16):
        out = predictor.run(raster, tmp_path / f"out{overlap}.tif", tile=48, overlap=overlap, region=96)
        with rasterio.open(out) as src:
            values = src.read()
        stride = 48 - overlap
        borders = [c for c in range(stride, 190, stride)]
        interior = [c + stride // 2 for c in borders if c + stride // 2 < 190]
        seams[overlap], inside[overlap] = _column_jumps(values, borders), _column_jumps(values, interior)
    assert seams[0] > 3 * inside[0]  # the measure sees the seam a model with zero padding leaves
    assert seams[16] <= 1.5 * inside[16]


def test_several_batches_in_the_model_at_once_give_the_same_scene(tmp_path) -> None:
    data = smooth_scene(150, 170)
    raster = write_raster(tmp_path / "in.tif", data, BANDS, block=32)
    predictor = Predictor.from_item(
        regressor_item(tmp_path, BANDS, outputs=2, scaling=[{"type": "scale", "value": 1000}]), threads=1
    )
    calls: list[int] = []
    original = predictor.predict_windows

    def recording(windows, *args):
        calls.append(len(windows))
        return original(windows, *args)

    predictor.predict_windows = recording
    results, sizes = [], []
    for streams in (1, 3):
        calls.clear()
        out = predictor.run(
            raster, tmp_path / f"s{streams}.tif", tile=32, overlap=8, region=40, batch=2, streams=streams
        )
        sizes.append(list(calls))
        with rasterio.open(out) as src:
            results.append(src.read())
    assert np.array_equal(results[0], results[1])  # blended in the same order: identical, not just close
    # One call per region with one stream; with three, the first region and the last ones are shared
    # between the streams (so that they start and finish together), the others stay whole.
    # (The last ones: those still to run when the reader has read every region, readers + prefetch.)
    regions = sizes[0]

    def shared(n: int) -> list[int]:
        return [len(part) for part in np.array_split(np.empty(n), min(3, n))]

    expected = shared(regions[0]) + regions[1:-3] + [k for n in regions[-3:] for k in shared(n)]
    assert len(regions) > 4 and sorted(sizes[1]) == sorted(expected)


def test_regions_are_read_in_whole_blocks_of_the_file_each_block_once(tmp_path, monkeypatch) -> None:
    from eohub.inference.raster_input import RasterInput
    from tests.inference_helpers import classifier_item

    data = np.random.default_rng(2).integers(1, 3000, (3, 256, 192)).astype(np.uint16)
    raster = write_raster(tmp_path / "in.tif", data, BANDS, block=64)
    reads: list[tuple[int, int, int, int]] = []
    original = RasterInput.read

    def recording(self, sources, row, col, height, width):
        reads.append((row, col, min(height, self.height - row), min(width, self.width - col)))
        return original(self, sources, row, col, height, width)

    monkeypatch.setattr(RasterInput, "read", recording)
    for tile in (16, 32):
        reads.clear()
        predictor = Predictor.from_item(classifier_item(tmp_path, BANDS, classes=4, size=tile))
        predictor.run(raster, tmp_path / f"out{tile}.tif", region=100)  # 96 px if blocks were ignored
        assert all(row % 64 == 0 and col % 64 == 0 for row, col, _, _ in reads)
        covered = np.zeros((256, 192), int)
        for row, col, h, w in reads:
            covered[row : row + h, col : col + w] += 1
        assert np.all(covered == 1)  # every pixel (so every block) read by exactly one region


def test_patch_classes_and_scores_of_the_command_equal_a_plain_onnxruntime_loop(tmp_path) -> None:
    from typer.testing import CliRunner

    from eohub.cli.main import app
    from tests.inference_helpers import classifier_item

    data = np.random.default_rng(4).integers(1, 3000, (3, 100, 90)).astype(np.uint16)
    raster = write_raster(tmp_path / "in.tif", data, BANDS, block=32)
    scaling = [{"type": "z-score", "mean": 1500, "stddev": 800}]
    item = classifier_item(tmp_path, BANDS, classes=4, size=16, scaling=scaling)
    args = ["predict", str(item), str(raster), "-o", str(tmp_path / "out.tif"), "--batch", "5"]
    result = CliRunner().invoke(app, [*args, "--streams", "2", "--threads", "1"])
    assert result.exit_code == 0, result.output
    session = ort.InferenceSession(str(tmp_path / "cls.onnx"))
    scaled = (data.astype(np.float32) - 1500) / 800
    padded = np.pad(scaled, [(0, 0), (0, 112 - 100), (0, 96 - 90)], mode="symmetric")
    tiles = [padded[:, y : y + 16, x : x + 16] for y in range(0, 112, 16) for x in range(0, 96, 16)]
    batches = [np.stack(tiles[i : i + 5]) for i in range(0, len(tiles), 5)]
    logits = np.concatenate([session.run(None, {"input": batch})[0] for batch in batches])
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    with rasterio.open(tmp_path / "out.tif") as src, rasterio.open(tmp_path / "out-scores.tif") as scores:
        assert np.array_equal(src.read(1), expected.argmax(axis=1).reshape(7, 6))
        np.testing.assert_allclose(scores.read(), expected.T.reshape(4, 7, 6), rtol=1e-5, atol=1e-6)
