"""``Predictor``: an ONNX Runtime session plus everything the MLM item says about feeding it.

``Predictor.from_item(ref)`` loads the item (see :mod:`eohub.inference.model_ref`), checks it against the
graph and builds the session; ``predict(array)`` runs on an array in the model's own layout;
``run(inputs, output)`` runs on rasters (see :mod:`eohub.inference.pipeline`) and returns a
:class:`~eohub.inference.result.Prediction` that opens in one call.

Pre-processing happens in this order, on values as they come from the source bands:
band selection and band expressions -> ``value_scaling`` -> nodata pixels set to 0 -> ``resize_type`` ->
the model's ``dim_order`` -> ``pre_processing_function`` -> cast to ``data_type``. After the run:
``post_processing_function`` on the raw output, in the model's layout.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from eohub.errors import InferenceError
from eohub.inference import expressions, graph, layout
from eohub.inference.metadata import InputSpec, ModelMetadata, parse_item
from eohub.inference.model_ref import load_item
from eohub.inference.onnx_nodes import GraphNodes, read_nodes
from eohub.inference.options import RunOptions
from eohub.inference.outputs import OutputPlan
from eohub.inference.reading import Reading, read_output
from eohub.inference.resize import check_resize_type, resize, restore
from eohub.inference.result import Prediction
from eohub.inference.scaling import Scaling, parse_scaling
from eohub.inference.zipmap import unwrap, zipmap_outputs

log = logging.getLogger(__name__)

DEFAULT_BATCH = 16


def cast(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Cast to the model's ``data_type``; integer types are rounded and clipped to their range."""
    if x.dtype == dtype:
        return x
    if np.issubdtype(dtype, np.integer) and not np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(dtype)
        x = np.clip(np.rint(x), info.min, info.max)
    return x.astype(dtype)


class Predictor:
    """A model described by MLM, ready to run; build it with :meth:`from_item`."""

    def __init__(
        self,
        metadata: ModelMetadata,
        session: ort.InferenceSession,
        model_path: str,
        allow_code: bool = False,
        nodes: GraphNodes | None = None,
    ) -> None:
        self.metadata = metadata
        self.session = session
        self.model_path = model_path
        self.allow_code = allow_code
        if len(metadata.inputs) != 1:
            raise InferenceError(f"eohub runs models with one input; this one has {len(metadata.inputs)}")
        self.input = graph.bind(metadata.inputs, graph.tensors(session.get_inputs()), "input")[0]
        graph_outputs = graph.tensors(session.get_outputs())
        self.outputs = graph.bind(metadata.outputs, graph_outputs, "output")
        spec = self.spec
        spatial = [dim for dim in ("height", "width") if dim in spec.dims]
        if len(spatial) == 1:
            raise InferenceError(f"mlm:input[0]: dim_order has {spatial[0]} but not the other ({spec.dims})")
        self.per_pixel = not spatial
        if self.per_pixel and "batch" not in spec.dims:
            raise InferenceError(
                f"mlm:input[0]: a per-pixel model (no height and width) needs a batch axis (got {spec.dims})"
            )
        check_resize_type(spec.resize_type, "mlm:input[0]")
        self.dtype = graph.numpy_type(spec.data_type)
        self.work_dtype = np.dtype(np.float64) if self.dtype == np.float64 else np.dtype(np.float32)
        self._scaling: dict[int, Scaling | None] = {}
        channels = len(spec.bands) or self.size("channel")
        if spec.value_scaling and channels > 0:
            self.scaling(channels)
        self._pre = [self._pre_function(e) for e in spec.pre_processing]
        self._post = {
            b.tensor.name: [expressions.array_function(e, allow_code) for e in b.spec.post_processing]
            for b in self.outputs
        }
        self._read_outputs(graph_outputs, nodes if nodes is not None else read_nodes(model_path))
        if not spec.pre_processing and spec.bands and self.size("channel") > 0:
            if len(spec.bands) != self.size("channel"):
                raise InferenceError(
                    f"the MLM item contradicts the model: mlm:input[0] lists {len(spec.bands)} bands "
                    f"but the channel axis has {self.size('channel')}"
                )

    def _read_outputs(self, graph_outputs: list[graph.Tensor], nodes: GraphNodes) -> None:
        """How each output is read (:mod:`eohub.inference.reading`), the graph tensors every model call
        fetches (the declared outputs and those the primary output is read from), and their dims."""
        self.readings: list[Reading] = [
            read_output(self.outputs, graph_outputs, nodes, i) for i in range(len(self.outputs))
        ]
        self.plans = [r.plan for r in self.readings]
        first = self.readings[0]
        extra = [first.tensor, *([first.labels] if first.labels else [])]
        self._fetch = list(dict.fromkeys([*(b.tensor.name for b in self.outputs), *extra]))
        ranks = {t.name: len(t.shape) for t in graph_outputs}
        self._dims = {name: ("batch", "channel")[: ranks.get(name) or 1] for name in self._fetch}
        self._dims[first.tensor] = first.dims
        self._dims.update({b.tensor.name: b.spec.dims for b in self.outputs})

    # -- construction --------------------------------------------------------------------------------

    @classmethod
    def from_item(
        cls,
        ref: Any,
        allow_code: bool = False,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
    ) -> Predictor:
        """Load the model an MLM item describes: a dict or ``pystac.Item``, an item file, a model folder,
        or a hub name ``NAME[:VERSION]``. ``allow_code`` permits processing expressions and Python code."""
        item = load_item(ref)
        metadata = parse_item(item.data, item.base, str(item.path) if item.path else None)
        model_path = _model_file(metadata.asset.href, item.root)
        nodes = read_nodes(model_path)
        zipped = zipmap_outputs(nodes)
        source: str | bytes = unwrap(model_path, zipped) if zipped else model_path
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(
                source, options, providers=list(providers or ["CPUExecutionProvider"])
            )
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises several unrelated types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InferenceError(f"{model_path}: ONNX Runtime cannot load the model ({first})") from None
        return cls(metadata, session, model_path, allow_code, nodes)

    def _pre_function(self, expr: Any) -> Callable[[np.ndarray], np.ndarray]:
        axis = self.spec.dims.index("channel") if "channel" in self.spec.dims else None
        names = [b.name for b in self.spec.bands]

        def bind(array: np.ndarray) -> dict[str, Any]:
            if axis is None:
                return {"A": array, "x": array}
            out: dict[str, Any] = {"x": array}
            for i in range(array.shape[axis]):
                band = np.take(array, i, axis=axis)
                out[chr(ord("A") + i)] = band
                if i < len(names):
                    out[names[i]] = band
            return out

        func = expressions.array_function(expr, self.allow_code, bind)
        if expr.format in expressions.PYTHON_FORMATS or axis is None:
            return func
        rank = len(self.spec.dims)
        return lambda array: (lambda r: r if r.ndim == rank else np.expand_dims(r, axis))(func(array))

    # -- what the model takes ----------------------------------------------------------------------------

    @property
    def spec(self) -> InputSpec:
        return self.input.spec

    def size(self, dim: str) -> int:
        """Size of a canonical input axis as model and MLM agree (-1 variable, 0 when the axis is absent)."""
        spec = self.spec
        return self.input.shape[spec.dims.index(dim)] if dim in spec.dims else 0

    @property
    def tile_size(self) -> tuple[int, int]:
        """The model's fixed (height, width), -1 where it takes any size (0 for a per-pixel model)."""
        return self.size("height"), self.size("width")

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the graph fixes, or None when it takes any (or has no batch axis)."""
        n = self.size("batch")
        return n if n > 0 else None

    @property
    def primary(self) -> OutputPlan:
        """The output ``run`` writes: the first ``mlm:output``."""
        return self.plans[0]

    def scaling(self, channels: int) -> Scaling | None:
        """The input's ``value_scaling`` for ``channels`` bands (cached)."""
        if channels not in self._scaling:
            self._scaling[channels] = parse_scaling(
                self.spec.value_scaling, channels, "mlm:input[0].value_scaling", self.allow_code
            )
        return self._scaling[channels]

    # -- running -----------------------------------------------------------------------------------------

    def scale(self, x: np.ndarray, axis: int, invalid: np.ndarray | None = None) -> np.ndarray:
        """``value_scaling`` along the channel ``axis``, then nodata pixels (``invalid``) set to 0.

        Returns a new C-contiguous array of the working float type; ``x`` may be a strided view.
        """
        scaling = self.scaling(x.shape[axis])
        if scaling:
            out = scaling.apply(x, axis=axis, dtype=self.work_dtype)
        else:
            out = np.empty(x.shape, self.work_dtype)
            out[...] = x
        if invalid is not None:
            np.copyto(out, out.dtype.type(0), where=invalid)
        return out

    def fit(self, x: np.ndarray) -> np.ndarray:
        """Resize the last two axes to the model's fixed height and width with ``resize_type``."""
        h, w = self.tile_size
        if (h > 0 and x.shape[-2] != h) or (w > 0 and x.shape[-1] != w):
            x = resize(x, h if h > 0 else x.shape[-2], w if w > 0 else x.shape[-1], self.spec.resize_type)
        return x

    def preprocess(self, x: np.ndarray, invalid: np.ndarray | None = None) -> np.ndarray:
        """Scale, blank nodata (``invalid``: ``(N, H, W)``) and resize a batch ``(N, T, C, H, W)``."""
        return self.fit(self.scale(x, 2, None if invalid is None else invalid[:, None, None]))

    def forward(self, x: np.ndarray, batch: int | None = None) -> dict[str, np.ndarray]:
        """Run pre-processed work-layout inputs through the model; outputs (model layout) by tensor name."""
        n = x.shape[0]
        if "batch" not in self.spec.dims:
            step = 1
        else:
            step = self.fixed_batch or batch or n or 1
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self._fetch}
        for start in range(0, n, step):
            chunk = x[start : start + step]
            filled = chunk.shape[0]
            if self.fixed_batch and filled < self.fixed_batch:
                pad = np.zeros((self.fixed_batch - filled, *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            for name, value in self._run_model(layout.to_model(chunk, self.spec.dims)).items():
                parts[name].append(value[:filled] if "batch" in self._out_dims(name) else value)
        batch_axis = {name: self._batch_axis(name) for name in parts}
        return {
            name: (np.concatenate(v, axis=batch_axis[name]) if batch_axis[name] is not None else np.stack(v))
            for name, v in parts.items()
        }

    def _out_dims(self, name: str) -> tuple[str, ...]:
        return self._dims[name]

    def _batch_axis(self, name: str) -> int | None:
        dims = self._out_dims(name)
        return dims.index("batch") if "batch" in dims else None

    def _run_model(self, x: np.ndarray) -> dict[str, np.ndarray]:
        for func in self._pre:
            x = func(x)
        x = cast(np.ascontiguousarray(x), self.dtype)
        try:
            values = self.session.run(self._fetch, {self.input.tensor.name: x})
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime's errors are not one type
            first = str(exc).strip().splitlines()[0]
            raise InferenceError(f"the model rejected an input of shape {list(x.shape)}: {first}") from None
        out = {}
        for name, value in zip(self._fetch, values, strict=True):
            for func in self._post.get(name, ()):
                value = func(value)
            out[name] = value
        return out

    def predict_all(self, array: np.ndarray, batch: int | None = None) -> dict[str, np.ndarray]:
        """Every output for ``array`` given in the model's own layout (``mlm:input.dim_order``), unscaled."""
        x = layout.from_model(np.asarray(array), self.spec.dims)
        outputs = self.forward(self.preprocess(x), batch)
        return {b.spec.name: outputs[b.tensor.name] for b in self.outputs}

    def predict(self, array: np.ndarray, batch: int | None = None) -> np.ndarray:
        """The first output for ``array`` in the model's own layout; values as the source data has them."""
        return next(iter(self.predict_all(array, batch).values()))

    def predict_windows(
        self,
        x: np.ndarray,
        batch: int | None = None,
        size: tuple[int, int] | None = None,
        labels: bool = False,
    ) -> np.ndarray:
        """Blendable predictions of the primary output for pre-processed windows ``(N, T, C, h, w)``.

        Returns ``(N, channels, H, W)`` for per-pixel outputs (brought back to ``size``, the windows' size
        before :meth:`fit`), ``(N, channels)`` for one value per window; with ``labels`` (a classifier
        whose plan has ``own_labels``), ``(N, channels + 1)``, the last channel the class index of its
        label output.
        """
        plan, reading = self.primary, self.readings[0]
        out = self.forward(x, batch)
        y = layout.output_to_work(out[reading.tensor], reading.dims)
        if plan.spec.spatial:
            height, width = size or x.shape[-2:]
            y = restore(y, height, width, self.spec.resize_type)
        values = plan.blendable(y)
        if labels and reading.labels is not None:
            indexes = plan.label_indexes(out[reading.labels].reshape(len(values)))
            values = np.concatenate([values, indexes[:, None].astype(values.dtype)], axis=1)
        return values

    def portable_item_json(self) -> str:
        """The MLM item as JSON with the model asset's href made absolute, for workers of a Dask cluster."""
        item = copy.deepcopy(self.metadata.item)
        item["assets"][self.metadata.asset.key]["href"] = str(Path(self.model_path).absolute())
        return json.dumps(item)

    def run(
        self, inputs: Sequence[str | Path] | str | Path, output: str | Path, **options: Any
    ) -> Prediction:
        """Run on rasters (a multi-band file, single-band files, or a STAC item) and write ``output``.

        Options are those of :class:`eohub.inference.options.RunOptions` (``tile``, ``overlap``...).
        Returns the :class:`~eohub.inference.result.Prediction`, a path that opens in one call
        (``.open()``: rasterio; ``.to_xarray()``: xarray).
        """
        # Imported here: the raster stack loads only when a raster is run (the CLI overlaps the two).
        from eohub.inference.pipeline import run_scene
        from eohub.inference.scenes import SceneJob

        sources = [str(s) for s in ([inputs] if isinstance(inputs, str | Path) else inputs)]
        written = run_scene(self, sources, Path(output), RunOptions(**options))
        return Prediction(written, SceneJob(sources, written).item_path)


def _model_file(href: str, root: Path | None = None) -> str:
    """The local model file of the asset; in a downloaded model folder, a file of the same name there."""
    name = href.rstrip("/").rsplit("/", 1)[-1]
    if "://" not in href and Path(href).is_file():
        return href
    if root is not None:
        found = sorted(root.rglob(name), key=lambda p: len(p.parts)) if name else []
        if found:
            log.info("model asset %s not found; using %s from the model folder", href, found[0])
            return str(found[0])
    if "://" in href:
        raise InferenceError(
            f"the model asset is remote ({href}); download the model first (eohub models download NAME) "
            "and run it from its folder"
        )
    raise InferenceError(f"model file not found: {href}")
