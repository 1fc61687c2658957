"""Lint rules about bands: where the item defines them, how inputs name them, which axis carries them.

MLM resolves an input's band names against definitions elsewhere in the item: ``raster:bands`` (raster
v1.x) or ``eo:bands`` (eo v1.x) on the model asset, ``eo:bands`` in properties, or STAC 1.1's
``properties.bands`` together with ``bands`` on an asset. Definitions anywhere else are invisible to the
schema; MLM019 says which ones exist and why they do not count. The codes are listed in
:mod:`eohub.mlm.lint`.
"""

from __future__ import annotations

import re
from typing import Any

from eohub.mlm.documents import list_field
from eohub.mlm.lint_context import Entry, LintContext, asset_roles
from eohub.mlm.report import Severity, pointer

ERROR, WARNING = Severity.ERROR, Severity.WARNING
BAND_NAME_KEYS = ("name", "eo:common_name", "common_name")
V1 = re.compile(r"^v1\.")
# A name wrapped in quotes (a form that stored the JSON string) or with space around it.
QUOTED = re.compile(r"""^\s*(["'`\u201c\u2018])(.*)(["'`\u201d\u2019])\s*$""")


def _definitions(ctx: LintContext) -> list[tuple[str, str, str | None]]:
    """``(place, key, asset key)`` of every band list the item has, whatever MLM makes of it."""
    found = [(f"properties.{k}", k, None) for k in ("bands", "eo:bands") if ctx.properties.get(k)]
    for key, asset in ctx.assets.items():
        found += [
            (f"{k} on asset {key!r}", k, key) for k in ("bands", "eo:bands", "raster:bands") if asset.get(k)
        ]
    return found


def _band_defined(ctx: LintContext) -> dict[str, bool]:
    props, assets = ctx.properties, list(ctx.assets.values())
    models = [a for _, a in ctx.model_assets()] or assets
    raster, eo = ctx.extension_version("raster") or "", ctx.extension_version("eo") or ""
    return {
        "raster": bool(V1.match(raster)) and all(a.get("raster:bands") for a in models),
        "eo": bool(V1.match(eo)) and (bool(props.get("eo:bands")) or all(a.get("eo:bands") for a in models)),
        "properties": bool(props.get("bands")),
        "asset": any(a.get("bands") for a in assets),
    }


def _unseen(ctx: LintContext, places: list[tuple[str, str, str | None]]) -> list[str]:
    """Why the band lists the item has do not count for MLM."""
    reasons = []
    keys = {key for _, key, _ in places}
    models = {k for k, a in ctx.assets.items() if "mlm:model" in asset_roles(a)}
    for key, ext in (("eo:bands", "eo"), ("raster:bands", "raster")):
        version = ctx.extension_version(ext)
        if key not in keys:
            continue
        if version is None:
            reasons.append(f"{key} needs the {ext} extension in stac_extensions")
        elif not V1.match(version):
            reasons.append(f"MLM accepts {key} of {ext} v1.x only, not {version}")
        holders = {asset for _, k, asset in places if k == key}
        if key == "raster:bands" and not models <= holders:
            reasons.append("raster:bands must be on the mlm:model asset")
        if key == "eo:bands" and None not in holders and not models <= holders:
            reasons.append("eo:bands must be in properties or on the mlm:model asset")
    if "bands" in keys and not ctx.core_bands:
        reasons.append(f"'bands' is STAC 1.1 (stac_version is {ctx.stac_version!r})")
    return reasons


def check_bands_trap(ctx: LintContext) -> None:
    """MLM019: an input or output names bands the item does not define where MLM looks."""
    with_bands = [e for e in ctx.inputs + ctx.outputs if e.list_of("bands")]
    if not with_bands:
        return
    has = _band_defined(ctx)
    stac11 = ctx.core_bands
    if has["raster"] or has["eo"] or (stac11 and has["properties"] and has["asset"]):
        return
    entry = with_bands[0]
    places = _definitions(ctx)
    hint = (
        "with STAC 1.1.0 add properties.bands AND 'bands' on the model asset (the core schema refuses "
        "item-level bands otherwise); with STAC 1.0.0 declare the eo extension and add eo:bands, or "
        "the raster extension with raster:bands on the model asset"
    )
    if stac11 and has["properties"] and not [p for p in places if p[1] != "bands"]:
        message = (
            "properties.bands is set but no asset has 'bands': the STAC 1.1.0 core schema only allows "
            "item-level bands when an asset has bands too"
        )
        hint = "add the same band list as 'bands' on the model asset"
    elif stac11 and has["asset"] and not has["properties"] and not [p for p in places if p[1] != "bands"]:
        message = (
            "an asset has 'bands' but properties.bands is missing: MLM needs the band definitions at "
            "item level to resolve the input's band names"
        )
        hint = "add properties.bands, one object with 'name' per band"
    elif places:
        where = ", ".join(p for p, _, _ in places)
        why = "; ".join(_unseen(ctx, places)) or "none of them is where MLM looks"
        message = (
            f"{entry.where} lists bands; the item defines bands in {where}, but MLM cannot use them: {why}"
        )
    else:
        message = (
            f"{entry.where} lists bands but the document defines none; MLM requires band definitions "
            "for named bands"
        )
    ctx.add("MLM019", ERROR, entry.pointer("bands"), message, hint)


def _defined_band_names(ctx: LintContext) -> set[str]:
    """Every ``name`` and ``common_name`` of the bands defined in properties or on any asset."""
    holders = [ctx.properties, *ctx.assets.values()]
    bands = [b for h in holders for key in ("bands", "eo:bands", "raster:bands") for b in list_field(h, key)]
    return {str(b[k]) for b in bands if isinstance(b, dict) for k in BAND_NAME_KEYS if k in b}


def input_band_names(entry: Entry) -> list[tuple[int, str]]:
    """``(index, name)`` of the bands an input reads as they are (derived bands have an expression)."""
    names = []
    for index, band in enumerate(entry.list_of("bands")):
        if isinstance(band, dict) and band.get("expression") is None:
            band = band.get("name")
        if isinstance(band, str):
            names.append((index, band))
    return names


def check_band_names(ctx: LintContext) -> None:
    """MLM024: an input band that no definition names (a runner matching by name will not find it)."""
    defined = _defined_band_names(ctx)
    if not defined:
        return  # no definitions at all: MLM019
    known = sorted(defined)
    listed = ", ".join(known[:10]) + (f", ... ({len(known)} in all)" if len(known) > 10 else "")
    for entry in ctx.inputs:
        for index, band in input_band_names(entry):
            if band in defined or quoted(band) is not None:
                continue
            ctx.add(
                "MLM024",
                WARNING,
                entry.pointer("bands", index),
                f"{entry.where}: band {band!r} is not the name or common_name of a band the item defines "
                f"({listed})",
                "use a defined band's name, or define the band (properties.bands, eo:bands or the model "
                "asset's bands)",
            )


def quoted(name: str) -> str | None:
    """The name meant, when ``name`` is wrapped in quotes or padded with space; ``None`` when it is clean."""
    match = QUOTED.match(name)
    inner = match.group(2) if match else name
    return inner.strip() if inner.strip() != name else None


def _band_name_places(ctx: LintContext) -> list[tuple[str, Any]]:
    """``(pointer, name)`` of every band name: inputs and outputs, then every definition."""
    places: list[tuple[str, Any]] = []
    for entry in ctx.inputs + ctx.outputs:
        for index, band in enumerate(entry.list_of("bands")):
            name, ptr = band, entry.pointer("bands", index)
            if isinstance(band, dict):
                name, ptr = band.get("name"), entry.pointer("bands", index, "name")
            places.append((ptr, name))
    holders = [(("properties",), ctx.properties)] + [(("assets", k), a) for k, a in ctx.assets.items()]
    for where, holder in holders:
        for key in ("bands", "eo:bands", "raster:bands"):
            for index, band in enumerate(list_field(holder, key)):
                if isinstance(band, dict):
                    for name_key in BAND_NAME_KEYS:
                        places.append((pointer(*where, key, index, name_key), band.get(name_key)))
    return places


def check_quoted_band_names(ctx: LintContext) -> None:
    """MLM026: a band name in quotes (``"\\"B01\\""``) or padded (``" B01 "``) matches no real band."""
    for ptr, name in _band_name_places(ctx):
        meant = quoted(name) if isinstance(name, str) else None
        if meant is None:
            continue
        ctx.add(
            "MLM026",
            ERROR,
            ptr,
            f"band name {name!r} is wrapped in quotes or spaces, so it matches no band called {meant!r}",
            f'write it as "{meant}"',
        )


def check_band_axis(ctx: LintContext) -> None:
    """MLM028: since MLM v1.5.0 an entry that lists bands has a ``bands`` axis, and only such an entry."""
    if not ctx.mlm_at_least("v1.5.0"):
        return
    for entry in ctx.inputs + ctx.outputs:
        dims = entry.dim_order
        if dims is None:
            continue
        named = bool(entry.list_of("bands"))
        if named and "bands" not in dims:
            channel = next((d for d in dims if d in ("channel", "channels")), None)
            fix = f"rename {channel!r} to 'bands'" if channel else "name the axis that carries them 'bands'"
            ctx.add(
                "MLM028",
                ERROR,
                entry.structure_pointer("dim_order"),
                f"{entry.where} lists bands but dim_order {dims} has no 'bands' axis; the MLM schema's "
                f'message for this is "None of {dims} are valid under the given schema"',
                f"{fix} (e.g. [batch, bands, height, width], or [batch, bands] for a per-pixel model)",
            )
        elif not named and "bands" in dims:
            ctx.add(
                "MLM028",
                ERROR,
                entry.structure_pointer("dim_order"),
                f"{entry.where}: dim_order names a 'bands' axis but the entry lists no bands ('bands' is "
                "reserved for named bands since MLM v1.5.0)",
                "list the bands the axis holds, in order, or call the axis 'channel'",
            )
