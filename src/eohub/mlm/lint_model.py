"""Lint rules about the model asset: its role, artifact type, local file, and the ONNX graph it holds.

When the model asset is a local ONNX file, ``mlm:input``/``mlm:output`` are paired with the graph's
inputs/outputs by name (or, when the names differ but the counts agree, by position, as a runner would)
and every declared rank, fixed size and data type is compared with the graph. A ``-1`` on either side
matches anything. The codes are listed in :mod:`eohub.mlm.lint`.
"""

from __future__ import annotations

from collections.abc import Sequence

from eohub.errors import ModelGraphError
from eohub.mlm.lint_context import (
    MODEL_ROLE,
    Entry,
    LintContext,
    asset_roles,
    is_image_reference,
    is_onnx,
    looks_like_model,
)
from eohub.mlm.onnx_graph import GraphSignature, TensorSpec, read_signature
from eohub.mlm.report import Severity, pointer

ERROR, WARNING = Severity.ERROR, Severity.WARNING
# What an asset is when its media type or file says it is not a model (a web page may be a model card
# standing for the weights, as in the official MLM examples: not flagged).
NOT_MODEL_TYPES = {
    "text/x-python": "Python source code",
    "application/x-python": "Python source code",
    "application/x-ipynb+json": "a Jupyter notebook",
    "application/vnd.oci.image": "a container image",
    "application/vnd.docker": "a container image",
    "application/cwl": "a CWL workflow",
    "text/x-shellscript": "a shell script",
}
NOT_MODEL_SUFFIXES = {
    ".py": "Python source code",
    ".ipynb": "a Jupyter notebook",
    ".r": "R source code",
    ".sh": "a shell script",
    ".cwl": "a CWL workflow",
    "dockerfile": "a Dockerfile",
}
RUNTIME_ROLES = ("mlm:training-runtime", "mlm:inference-runtime", "mlm:source_code", "code")


def not_a_model(asset: dict) -> str | None:
    """What an asset with the ``mlm:model`` role holds instead of a model, when its metadata says so."""
    media = str(asset.get("type") or "").lower().split(";", 1)[0].strip()
    for prefix, what in NOT_MODEL_TYPES.items():
        if media.startswith(prefix):
            return what
    href = str(asset.get("href") or "")
    if is_image_reference(href):
        return "a container image"
    path = href.split("?", 1)[0].split("#", 1)[0].rstrip("/").lower()
    for suffix, what in NOT_MODEL_SUFFIXES.items():
        if path.endswith(suffix):
            return what
    if "mlm:entrypoint" in asset and not looks_like_model(asset):
        return "source code with an entrypoint"
    return None


def check_model_assets(ctx: LintContext) -> None:
    """MLM005, MLM006, MLM007, MLM017, MLM027 and, for a local ONNX model, the graph rules."""
    models = list(ctx.model_assets())
    has_role = any(MODEL_ROLE in asset_roles(a) for _, a in models)
    if not has_role:
        guess = next((k for k, a in ctx.assets.items() if looks_like_model(a)), None)
        hint = (
            f'add "roles": ["{MODEL_ROLE}"] to asset {guess!r}'
            if guess
            else f"add an asset with role {MODEL_ROLE}"
        )
        ctx.add(
            "MLM005",
            ERROR,
            "/assets",
            f"no asset has the role {MODEL_ROLE}: a runner cannot find the model",
            hint,
        )
    for key, asset in models:
        where = pointer("assets", key)
        if MODEL_ROLE in asset_roles(asset) and (what := not_a_model(asset)):
            others = [r for r in asset_roles(asset) if r in RUNTIME_ROLES]
            ctx.add(
                "MLM027",
                ERROR,
                pointer("assets", key, "roles"),
                f"asset {key!r} is {what} ({asset.get('type') or asset.get('href')}), yet has the role "
                f"{MODEL_ROLE}: a runner would load it as the model",
                f"remove {MODEL_ROLE} from its roles"
                + ("" if others else " (use 'code', 'mlm:source_code' or 'mlm:inference-runtime')")
                + " and give the role to the asset holding the weights",
            )
            continue
        if "mlm:artifact_type" not in asset:
            required = ctx.mlm_at_least("v1.4.0")
            ctx.add(
                "MLM017",
                ERROR if required else WARNING,
                where,
                f"model asset {key!r} has no mlm:artifact_type (required since MLM v1.4.0)",
                'set it to how the file was saved, e.g. "onnx" or "torch.save"',
            )
        path = ctx.local_path(str(asset.get("href", "")))
        if path is None:
            continue
        if not path.is_file():
            ctx.add(
                "MLM006",
                ERROR,
                pointer("assets", key, "href"),
                f"model asset {key!r} points at {asset.get('href')!r}, which does not exist ({path})",
                "fix the href (relative hrefs resolve against the item's folder)",
            )
            continue
        if not is_onnx(asset):
            continue
        try:
            signature = read_signature(path)
        except ModelGraphError as exc:
            ctx.add(
                "MLM007",
                ERROR,
                pointer("assets", key, "href"),
                f"model asset {key!r}: {exc}",
                "point the asset at a valid ONNX file or fix mlm:artifact_type",
            )
            continue
        _check_graph(ctx, signature)


def _check_graph(ctx: LintContext, signature: GraphSignature) -> None:
    for kind, tensors in (("input", signature.inputs), ("output", signature.outputs)):
        for entry, tensor in _pair(ctx, kind, ctx.entries(kind), tensors):
            _compare(ctx, entry, tensor)
    declared = ctx.properties.get("mlm:total_parameters")
    if isinstance(declared, int) and declared != signature.total_parameters:
        ctx.add(
            "MLM013",
            WARNING,
            pointer("properties", "mlm:total_parameters"),
            f"mlm:total_parameters is {declared}, the ONNX graph has {signature.total_parameters}",
            f"set it to {signature.total_parameters}",
        )


def _pair(
    ctx: LintContext, kind: str, entries: Sequence[Entry], tensors: Sequence[TensorSpec]
) -> list[tuple[Entry, TensorSpec]]:
    """Pair entries with graph tensors by name, else by position; report what cannot be paired."""
    by_name = {t.name: t for t in tensors}
    where = pointer("properties", f"mlm:{kind}")
    if entries and all(e.name in by_name for e in entries):
        undescribed = [repr(t.name) for t in tensors if t.name not in {e.name for e in entries}]
        if kind == "input" and undescribed:
            ctx.add(
                "MLM008",
                ERROR,
                where,
                f"the ONNX graph also needs input(s) {', '.join(undescribed)}",
                "add an mlm:input entry for each graph input",
            )
        return [(e, by_name[e.name]) for e in entries]
    if len(entries) != len(tensors):
        names = ", ".join(repr(t.name) for t in tensors)
        ctx.add(
            "MLM008",
            ERROR,
            where,
            f"mlm:{kind} has {len(entries)} entries, the ONNX graph has {len(tensors)} {kind}(s): {names}",
            f"describe each graph {kind} once, named like it",
        )
        return []
    for entry, tensor in zip(entries, tensors, strict=True):
        if entry.name != tensor.name:
            ctx.add(
                "MLM009",
                WARNING,
                entry.pointer("name"),
                f"{entry.where}: the ONNX graph has no {kind} of that name; paired by position with "
                f"{tensor.name!r}",
                f'rename it to "{tensor.name}" so runners that bind by name find it',
            )
    return list(zip(entries, tensors, strict=True))


def _compare(ctx: LintContext, entry: Entry, tensor: TensorSpec) -> None:
    graph = f"graph {entry.kind} {tensor.name!r}"
    shape = entry.shape
    if shape is not None and tensor.rank_known:
        if len(shape) != len(tensor.shape):
            ctx.add(
                "MLM010",
                ERROR,
                entry.structure_pointer("shape"),
                f"{entry.where}: shape {shape} has rank {len(shape)}, {graph} has rank {len(tensor.shape)} "
                f"{tensor.shape}",
                f"use a shape of rank {len(tensor.shape)}, e.g. {tensor.shape}",
            )
        else:
            dims = entry.dim_order or []
            for axis, (declared, actual) in enumerate(zip(shape, tensor.shape, strict=True)):
                if declared > 0 and actual > 0 and declared != actual:
                    dim = f" ({dims[axis]})" if axis < len(dims) else ""
                    ctx.add(
                        "MLM011",
                        ERROR,
                        entry.structure_pointer("shape", axis),
                        f"{entry.where}: axis {axis}{dim} is {declared}, {graph} fixes it to {actual}",
                        f"set it to {actual} (or -1)",
                    )
    declared_type = entry.structure.get("data_type")
    if isinstance(declared_type, str) and declared_type != tensor.data_type:
        ctx.add(
            "MLM012",
            ERROR,
            entry.structure_pointer("data_type"),
            f"{entry.where}: data_type is {declared_type}, {graph} is {tensor.data_type}",
            f'set data_type to "{tensor.data_type}"',
        )
