"""Migration steps for Item and Asset fields: framework, accelerator, the model asset, unknown fields, bands.

The rules, and why what they infer is safe, are listed in :mod:`eohub.mlm.migrate`.
"""

from __future__ import annotations

from eohub.mlm.documents import list_field
from eohub.mlm.lint_bands import quoted
from eohub.mlm.lint_context import MODEL_SUFFIXES
from eohub.mlm.migration_run import Run, mlm_defs, roles, schema_enum, suffix
from eohub.mlm.report import pointer

CPU_ACCELERATORS = frozenset({"cpu", "none", "x86", "x86_64"})
EO_COMMON_NAMES = frozenset(
    {"coastal", "blue", "green", "red", "rededge", "yellow", "pan", "nir", "nir08", "nir09", "cirrus",
     "swir16", "swir22", "lwir", "lwir11", "lwir12"}
)  # fmt: skip
EO_EXTENSION = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
ASSET_ONLY_FIELDS = ("mlm:artifact_type", "mlm:compile_method")
ITEM_ONLY_FIELDS = ("mlm:name", "mlm:input", "mlm:output", "mlm:hyperparameters")


def framework(run: Run) -> None:
    """Framework names spelt as the schema's list spells them (``scikit-learn``, ``Hugging Face``)."""
    value = run.props.get("mlm:framework")
    if not isinstance(value, str):
        return
    known = {v.lower().replace(" ", "").replace("-", ""): v for v in schema_enum(run.target, "mlm:framework")}
    spelt = known.get(value.lower().replace(" ", "").replace("-", ""))
    if spelt and spelt != value:
        run.props["mlm:framework"] = spelt
        run.change(pointer("properties", "mlm:framework"), f"{value!r} written {spelt!r}")


def accelerator(run: Run) -> None:
    """``mlm:accelerator`` must be a schema value or null; CPU-only spellings become null."""
    if "mlm:accelerator" not in run.props:
        return
    value = run.props["mlm:accelerator"]
    known = schema_enum(run.target, "mlm:accelerator")
    if value is None or value in known:
        return
    where = pointer("properties", "mlm:accelerator")
    if isinstance(value, str) and value.strip().lower() in CPU_ACCELERATORS:
        run.props["mlm:accelerator"] = None
        run.change(where, f"{value!r} is not a schema value; null means no accelerator is needed")
    else:
        run.problem(where, f"{value!r} is not one of {', '.join(known)} (or null for CPU-only models)")


def asset_fields(run: Run) -> None:
    """Since v1.4.0 ``mlm:name``/``input``/``output``/``hyperparameters`` live only in Item properties."""
    if not run.reaches("v1.4.0"):
        return
    for key, asset in run.assets.items():
        if not isinstance(asset, dict):
            continue
        for name in ITEM_ONLY_FIELDS:
            if name not in asset:
                continue
            where = pointer("assets", key, name)
            if name not in run.props:
                run.props[name] = asset.pop(name)
                run.change(where, "moved to the Item properties (not allowed on assets since v1.4.0)")
            elif run.props[name] == asset[name]:
                del asset[name]
                run.change(where, "removed; the Item properties hold the same value")
            else:
                run.problem(
                    where, "differs from the Item's value; keep one (assets may not hold it since v1.4.0)"
                )


def model_asset(run: Run) -> None:
    """At least one asset has the ``mlm:model`` role; inferred when exactly one asset is a model file."""
    if run.model_assets():
        return
    assets = [(k, a) for k, a in run.assets.items() if isinstance(a, dict)]
    candidates = [(k, a) for k, a in assets if "mlm:artifact_type" in a] or [
        (k, a) for k, a in assets if suffix(a) in MODEL_SUFFIXES
    ]
    if len(candidates) == 1:
        key, asset = candidates[0]
        asset["roles"] = [*roles(asset), "mlm:model"]
        run.change(
            pointer("assets", key, "roles"), "added 'mlm:model' (the only model file among the assets)"
        )
        return
    found = f" (candidates: {', '.join(k for k, _ in candidates)})" if candidates else ""
    run.problem("/assets", f"no asset has the role 'mlm:model'; add it to the model file's asset{found}")


def artifact_type(run: Run) -> None:
    """Since v1.4.0 every ``mlm:model`` asset, and only those, has ``mlm:artifact_type``."""
    if not run.reaches("v1.4.0"):
        return
    models = run.model_assets()
    for name in ASSET_ONLY_FIELDS:
        if name not in run.props:
            continue
        where = pointer("properties", name)
        if len(models) == 1 and name not in models[0][1]:
            models[0][1][name] = run.props.pop(name)
            run.change(where, f"moved to the model asset '{models[0][0]}' (an asset field since v1.4.0)")
        else:
            run.problem(where, "belongs on the mlm:model asset since v1.4.0; move it there")
    for key, asset in models:
        if "mlm:artifact_type" in asset:
            continue
        where = pointer("assets", key, "mlm:artifact_type")
        onnx = suffix(asset) == ".onnx" or "onnx" in str(asset.get("type", "")).lower()
        if onnx or (run.props.get("mlm:framework") == "ONNX" and suffix(asset) not in MODEL_SUFFIXES):
            asset["mlm:artifact_type"] = "onnx"
            run.change(where, "set to 'onnx' (required since v1.4.0; the asset is an ONNX file)")
        else:
            examples = ", ".join(mlm_defs(run.target)["mlm:artifact_type"].get("examples", []))
            run.problem(where, f"required since v1.4.0 and not inferable from the file; e.g. {examples}")
    for key, asset in run.assets.items():
        if isinstance(asset, dict) and "mlm:artifact_type" in asset and "mlm:model" not in roles(asset):
            run.problem(
                pointer("assets", key, "mlm:artifact_type"),
                "only an asset with the role 'mlm:model' may have it since v1.4.0; add the role or remove it",
            )


def unknown_fields(run: Run) -> None:
    """Since v1.4.0 the schema rejects ``mlm:`` fields it does not define."""
    if not run.reaches("v1.4.0"):
        return
    defined = set(mlm_defs(run.target)["fields"]["properties"])
    holders = [(pointer("properties"), run.props)]
    holders += [(pointer("assets", k), a) for k, a in run.assets.items() if isinstance(a, dict)]
    for where, holder in holders:
        for name in holder:
            if name.startswith("mlm:") and name not in defined:
                run.problem(f"{where}/{name}", f"not an MLM {run.target} field; rename or remove it")


def _band_names(run: Run) -> list[str]:
    keys = ("mlm:input", "mlm:output") if run.reaches("v1.5.0") else ("mlm:input",)
    plain: list[str] = []
    derived: list[str] = []
    for key in keys:
        for _, entry in run.entries(key):
            for band in list_field(entry, "bands"):
                if isinstance(band, str):
                    plain.append(band)
                elif isinstance(band, dict) and isinstance(band.get("name"), str):
                    (derived if band.get("expression") is not None else plain).append(band["name"])
    return list(dict.fromkeys(plain or derived))


def _has_band_definitions(run: Run) -> bool:
    models = [a for _, a in run.model_assets()]
    extensions = [str(e) for e in list_field(run.data, "stac_extensions")]
    eo = any("stac-extensions.github.io/eo/v1." in e for e in extensions)
    raster = any("stac-extensions.github.io/raster/v1." in e for e in extensions)
    stac11 = str(run.data.get("stac_version", "")).startswith("1.1")
    return bool(
        (raster and models and all(a.get("raster:bands") for a in models))
        or (eo and (run.props.get("eo:bands") or (models and all(a.get("eo:bands") for a in models))))
        or (stac11 and run.props.get("bands"))
    )


def _quoted_band_names(run: Run) -> bool:
    """Report every input band name in quotes or padded (``"\\"B01\\""``): never copied into definitions."""
    found = False
    for ptr, entry in run.entries("mlm:input"):
        for index, band in enumerate(list_field(entry, "bands")):
            name = band.get("name") if isinstance(band, dict) else band
            meant = quoted(name) if isinstance(name, str) else None
            if meant is not None:
                found = True
                run.problem(
                    f"{ptr}/bands/{index}",
                    f"band name {name!r} is wrapped in quotes or spaces; write it as {meant!r} (band "
                    "definitions are not made from it)",
                )
    return found


def band_definitions(run: Run) -> None:
    """Named bands need definitions elsewhere in the item (checked by the schema since v1.1.0)."""
    names = _band_names(run)
    if not names or not run.reaches("v1.1.0") or _has_band_definitions(run):
        return
    models = run.model_assets()
    if not models:
        return  # model_asset() already reported it
    if _quoted_band_names(run):
        return
    if str(run.data.get("stac_version", "")).startswith("1.1"):
        defs = [{"name": n} for n in names]
        for _, asset in models:
            asset.setdefault("bands", [dict(d) for d in defs])
        run.props["bands"] = defs
        run.change("/properties/bands", f"defined bands {names} by name (also on the model asset)")
        return
    extensions = run.data.setdefault("stac_extensions", [])
    if not any("stac-extensions.github.io/eo/v1." in str(e) for e in extensions):
        extensions.append(EO_EXTENSION)
        run.change("/stac_extensions", f"added {EO_EXTENSION} for the band definitions")
    for key, asset in models:
        asset["eo:bands"] = [
            {"name": n, **({"common_name": n} if n in EO_COMMON_NAMES else {})} for n in names
        ]
        run.change(pointer("assets", key, "eo:bands"), f"defined bands {names} by name (eo extension)")
