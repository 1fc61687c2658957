"""A model folder ready to publish: an ONNX file with its README, STAC catalog, collection and MLM item.

``eohub models init FOLDER --from model.onnx`` (and :func:`package_model`) writes the layout of the EOTDL
tutorial, a self-contained catalog as pystac saves it::

    FOLDER/
      README.md                front matter (name, authors, license, source, tags), then the description
      catalog.json             id and title: the name
      model/collection.json    license, providers (authors), keywords (tags), cite-as link (a URL source)
      model/model/model.json   the MLM v1.5.2 item of eohub.mlm.build; its model asset -> ../../model.onnx
      model.onnx               a copy of the model, unless it already is inside FOLDER (then used where it is;
                               without ``--from``, the one ``.onnx`` file at FOLDER's top is the model)

so that ``eohub quality FOLDER`` runs the model (Q3) and ``eohub models ingest FOLDER`` publishes it.
Nothing is written until every document validates and the item lints without errors. A file that exists is
replaced only with ``force``; an existing README.md then keeps its text and each front-matter field that no
argument replaces. What was assumed or is still missing comes back as notes, one line each.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pystac

from eohub.core.names import check_name, check_stored_path
from eohub.core.readme import ReadmeMetadata, parse_readme, render_readme
from eohub.errors import (
    AlreadyExistsError,
    Argument,
    IntegrityError,
    InvalidNameError,
    InvalidStacError,
    UsageError,
)
from eohub.mlm.build import build_item, checked_names, mlm_name
from eohub.mlm.documents import MAX_DOCUMENT_BYTES, real_path, shown, write_json
from eohub.mlm.lint import lint_data
from eohub.mlm.report import Finding, Severity
from eohub.mlm.validate import validate_data

README = "README.md"
CATALOG = "catalog.json"
COLLECTION = "model/collection.json"
ITEM = "model/model/model.json"
DOCUMENTS = (CATALOG, COLLECTION, ITEM)
COLLECTION_ID = ITEM_ID = "model"
WORLD = [-180.0, -90.0, 180.0, 90.0]  # a model has no footprint; STAC collections need an extent
LISTED = 5
OPTIONS = {"name": "--name", "authors": "--authors", "license": "--license", "source": "--source"}


@dataclass(frozen=True)
class PackagedModel:
    """What :func:`package_model` wrote: the folder, its files (README first, the model last), the notes."""

    folder: Path
    name: str
    item: Path
    model: Path
    source: Path
    copied: bool
    written: list[Path]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "name": self.name,
            "item": str(self.item),
            "model": str(self.model),
            "source": str(self.source),
            "copied": self.copied,
            "written": [str(p) for p in self.written],
            "notes": list(self.notes),
        }


def package_model(
    folder: str | Path,
    model: str | Path | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    license: str | None = None,
    authors: Sequence[str] | None = None,
    source: str | None = None,
    tags: Sequence[str] | None = None,
    force: bool = False,
    **item_options: Any,
) -> PackagedModel:
    """Write ``folder`` around the ONNX file ``model`` (see the module docstring) and say what was written.

    Without ``model``, the folder must hold one ``.onnx`` file at its top, which is the model.

    ``name`` is the hub name (default: the README's, with ``force``, else the folder's); ``license`` an SPDX
    identifier or ``other``, required unless the README has one. ``item_options`` are the arguments of
    :func:`eohub.mlm.build.build_item` that the graph cannot tell: ``tasks``, ``architecture``, ``bands``,
    ``classes``, ``mean`` and ``std``, ``minimum`` and ``maximum``. Bad input raises :class:`UsageError`,
    :class:`InvalidNameError` or :class:`ModelGraphError`; a file that exists, without ``force``,
    :class:`AlreadyExistsError`; metadata that would not validate, :class:`InvalidStacError`.
    """
    folder = _checked_folder(Path(folder))
    model = Path(model) if model is not None else _the_onnx_file(folder)
    stored, copied = _placement(folder, model)
    _refuse_overwrites(folder, [README, *DOCUMENTS] + ([stored] if copied else []), force)
    old = _existing_readme(folder / README) if force else ReadmeMetadata()
    name = _name(name, old.name, folder)
    license = _license(license, old.license)
    description = (description or "").strip() or old.description
    notes: list[str] = []
    item = build_item(
        model,
        name=mlm_name(name),
        item_id=ITEM_ID,
        href=posixpath.relpath(stored, posixpath.dirname(ITEM)),
        on_assumption=notes.append,
        **item_options,
    )
    meta = ReadmeMetadata(
        name=name,
        authors=checked_names(authors, "--authors") or old.authors,
        license=license,
        source=(source or "").strip() or old.source,
        thumbnail=old.thumbnail,
        tags=checked_names(tags, "--tags") or old.tags or list(item.properties["mlm:tasks"]),
        description=description or _graph_description(item),
    )
    documents = _documents(folder, meta, item)
    notes += _problems(documents, item, model, folder)
    written = _write(folder, documents, meta, model, stored if copied else None)
    notes += _readme_notes(meta, described=bool(description))
    notes += _uncovered_notes(folder, {*DOCUMENTS, README, stored})
    return PackagedModel(folder, name, folder / ITEM, folder / stored, model, copied, written, notes)


# --- checks before anything is written ----------------------------------------------------------------


def _checked_folder(folder: Path) -> Path:
    real_path(folder)  # refuses a NUL character
    if os.path.lexists(folder) and not folder.is_dir():
        raise UsageError(f"{shown(folder)}: is a file, not a folder")
    return folder


def _the_onnx_file(folder: Path) -> Path:
    """The model of a folder given without one: its only ``.onnx`` file at the top."""
    found = sorted(p for p in folder.glob("*") if p.suffix.lower() == ".onnx" and not p.name.startswith("."))
    if len(found) != 1:
        held = f"holds {len(found)} .onnx files" if found else "holds no .onnx file"
        raise UsageError(f"{shown(folder)} {held} at its top; give the model with --from MODEL.onnx")
    return found[0]


def _placement(folder: Path, model: Path) -> tuple[str, bool]:
    """The model's path inside ``folder``, and whether it must be copied there.

    A model already inside the folder (links resolved, no hidden component) is used where it is; any other
    is copied to the folder's root under its own file name (``model.onnx`` if that is a name init needs)."""
    root, real = real_path(folder), real_path(model)
    inside = real.is_relative_to(root) and real != root
    stored = real.relative_to(root).as_posix() if inside else model.name
    if inside and any(part.startswith(".") for part in stored.split("/")):
        inside, stored = False, model.name
    clash = _needed_by_init(stored)
    if clash and inside:
        raise UsageError(f"{shown(model)}: is where init writes {clash}; move or rename the model")
    if clash or not stored:
        stored = "model.onnx"
    try:
        stored.encode("utf-8")
        check_stored_path(stored)
    except (UnicodeEncodeError, IntegrityError):
        raise UsageError(f"{shown(model)}: the file name cannot be published; rename the model") from None
    return stored, not inside


def _needed_by_init(stored: str) -> str | None:
    """The file init writes at ``stored``, or below it (``model`` is the folder of the STAC files)."""
    return next((p for p in (README, *DOCUMENTS) if p == stored or p.startswith(stored + "/")), None)


def _refuse_overwrites(folder: Path, paths: list[str], force: bool) -> None:
    existing = [p for p in paths if os.path.lexists(folder / p)]
    for path in existing:
        if (folder / path).is_dir():
            raise UsageError(f"{shown(folder / path)}: is a folder, where init writes a file")
    if existing and not force:
        more = f" (and {len(existing) - 1} more file(s) init writes)" if len(existing) > 1 else ""
        replace = Argument("force")
        raise AlreadyExistsError(
            f"{shown(folder / existing[0])} exists{more}; pass {replace} to overwrite", arguments=[replace]
        )


def _existing_readme(path: Path) -> ReadmeMetadata:
    """The README ``force`` rewrites: its text and front matter stay where no option replaces them."""
    if not path.is_file():
        return ReadmeMetadata()
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise UsageError(f"{shown(path)}: larger than {MAX_DOCUMENT_BYTES >> 20} MiB; remove it or trim it")
    try:
        return parse_readme(path)
    except UsageError as exc:
        raise UsageError(f"{' '.join(str(exc).split())}; fix it, or remove it to write a new one") from None


def _name(given: str | None, readme_name: str, folder: Path) -> str:
    if given is not None:
        return check_name(given)
    if readme_name:
        return check_name(readme_name, "name in README.md")
    default = Path(os.path.abspath(folder)).name
    try:
        return check_name(default)
    except InvalidNameError as exc:
        raise InvalidNameError(f"{exc}; that is the folder's name: pass --name") from None


def _license(given: str | None, readme_license: str) -> str:
    value = (given if given is not None else readme_license).strip()
    if not value:
        raise UsageError(
            "--license is required: the model's licence as an SPDX identifier (MIT, Apache-2.0, "
            "CC-BY-4.0...) or 'other'"
        )
    if not value.isprintable() or any(c.isspace() for c in value):
        raise UsageError(
            f"--license {value[:80]!r} is not a licence identifier: use an SPDX identifier (e.g. Apache-2.0) "
            "or 'other'"
        )
    return value


# --- the documents ------------------------------------------------------------------------------------


def _graph_description(item: pystac.Item) -> str:
    """What the graph says, for a README with no description: tasks, first input and output."""
    props = item.properties
    first_in, first_out = props["mlm:input"][0], props["mlm:output"][0]
    bands = f" ({', '.join(first_in['bands'])})" if first_in["bands"] else ""
    classes = first_out.get("classification:classes") or []
    counted = f" ({len(classes)} classes)" if classes else ""
    return (
        f"An ONNX model for {', '.join(props['mlm:tasks'])}: input {first_in['name']!r} "
        f"{first_in['input']['shape']}{bands}, output {first_out['name']!r} {first_out['result']['shape']}"
        f"{counted}."
    )


def _documents(folder: Path, meta: ReadmeMetadata, item: pystac.Item) -> dict[str, dict[str, Any]]:
    """The catalog, collection and item as they will be written, by path in the folder."""
    catalog = pystac.Catalog(id=meta.name, description=meta.description, title=meta.name)
    collection = pystac.Collection(
        id=COLLECTION_ID,
        title=meta.name,
        description=meta.description,
        extent=pystac.Extent(pystac.SpatialExtent([WORLD]), pystac.TemporalExtent([[item.datetime, None]])),
        license=meta.license,
        keywords=list(meta.tags),
        providers=[pystac.Provider(a, roles=[pystac.ProviderRole.PRODUCER]) for a in meta.authors] or None,
    )
    if meta.source.startswith(("https://", "http://")):
        collection.add_link(pystac.Link("cite-as", meta.source, title="Source"))
    catalog.add_child(collection)
    collection.add_item(item)
    catalog.normalize_hrefs(os.path.abspath(folder))
    catalog.catalog_type = pystac.CatalogType.SELF_CONTAINED
    pairs = zip(DOCUMENTS, (catalog, collection, item), strict=True)
    return {path: obj.to_dict(include_self_link=False, transform_hrefs=True) for path, obj in pairs}


def _problems(
    documents: dict[str, dict[str, Any]], item: pystac.Item, model: Path, folder: Path
) -> list[str]:
    """Lint warnings as notes; :class:`InvalidStacError` (nothing written) for any error."""
    findings: list[Finding] = []
    for path, data in documents.items():
        findings += validate_data(data, shown(folder / path)).findings
    # The model is linted where it is now: a copy is not in the folder yet.
    linted = item.to_dict(include_self_link=False)
    linted["assets"]["model"]["href"] = os.path.abspath(model)
    findings += lint_data(linted, None, shown(folder / ITEM)).findings
    errors = [f.line() for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise InvalidStacError(
            f"{shown(folder)}: the metadata would not be valid; nothing was written", errors
        )
    return [f.line() for f in findings if f.severity is Severity.WARNING]


# --- writing ------------------------------------------------------------------------------------------


def _write(
    folder: Path, documents: dict[str, dict[str, Any]], meta: ReadmeMetadata, model: Path, copy_to: str | None
) -> list[Path]:
    """The model first (the longest write), the item, collection and catalog, the README last."""
    if copy_to is not None:
        try:
            src = open(model, "rb")
        except OSError as exc:
            raise UsageError(f"{shown(model)}: cannot read ({exc.strerror or exc})") from None
        with src:
            _replace(folder / copy_to, lambda out: shutil.copyfileobj(src, out, 1 << 20))
    for path in reversed(DOCUMENTS):
        write_json(folder / path, documents[path])
    text = render_readme(meta).encode("utf-8")
    _replace(folder / README, lambda out: out.write(text))
    return [folder / p for p in (README, *DOCUMENTS)] + ([folder / copy_to] if copy_to is not None else [])


def _replace(path: Path, fill: Callable[[IO[bytes]], Any]) -> None:
    """Write a file that is not JSON as :func:`write_json` writes JSON: a temporary file, then a rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"{shown(path)}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UsageError(f"{shown(path)}: cannot write ({exc.strerror or exc})") from None
        raise


# --- notes --------------------------------------------------------------------------------------------


def _readme_notes(meta: ReadmeMetadata, described: bool) -> list[str]:
    notes = []
    if missing := meta.missing():
        options = ", ".join(OPTIONS[m] for m in missing)
        notes.append(f"README.md front matter has no {', '.join(missing)} (give {options})")
    if not described:
        notes.append(
            "README.md describes only the graph: say what the model does and what it was trained on "
            "with --description, or in README.md"
        )
    return notes


def _uncovered_notes(folder: Path, known: set[str]) -> list[str]:
    """Files already in the folder that no asset describes (what ``eohub quality`` holds against it)."""
    others = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file in sorted(files):
            rel = Path(root, file).relative_to(folder).as_posix()
            if not file.startswith(".") and rel not in known:
                others.append(rel)
    if not others:
        return []
    listed = ", ".join(others[:LISTED]) + (
        f" and {len(others) - LISTED} more" if len(others) > LISTED else ""
    )
    return [
        f"{len(others)} file(s) in the folder are no asset's href (eohub quality holds that against "
        f"it): {listed}"
    ]
