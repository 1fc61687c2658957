"""A model card (:class:`eohub.mlm.card.ModelCard`) as notebook HTML, laid out as on the web page.

Facts (architecture, tasks, framework, parameters), then each input (shape with its named dimensions,
data type, scaling, a table of bands), each output (a table of classes with their colours) and the
assets. Everything comes from someone's MLM item: :mod:`eohub.core.html` escapes every value, and a
colour square is drawn only for a ``color_hint`` the card has checked.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from eohub.core.html import code, facts, frame, heading, muted, paragraph, swatch, table, text
from eohub.core.units import human_size
from eohub.mlm.card import ModelCard, ModelInput, ModelOutput, Tensor


def shape(tensor: Tensor) -> str:
    """``batch any × channel 3 × height 64 × width 64``: the shape with its named dimensions."""
    return " × ".join(f"{d.name} {d.size}" for d in tensor.dimensions)


def _tensor(
    name: str,
    description: str,
    rows: list[tuple[str, Any]],
    header: tuple[str, ...],
    entries: list,
    what: str,
) -> Markup:
    """An input or an output: ``**name** — description``, its facts, then its bands or classes."""
    line = Markup("<strong>{}</strong>").format(text(name))
    listed = table(header, entries, what=what) if entries else Markup("")
    return paragraph(line + text(f" — {description}") if description else line) + facts(rows) + listed


def _input(spec: ModelInput) -> Markup:
    rows = [
        ("Shape", shape(spec.tensor)),
        ("Data type", spec.tensor.data_type),
        ("Resize", spec.resize_type),
        ("Scaling (all bands)" if spec.bands else "Scaling", "; ".join(spec.scaling)),
        ("Pre-processing", spec.pre_processing),
    ]
    bands = [
        (i, b.name, b.common_name, b.wavelength, b.scaling or ("see above" if spec.scaling else "none"))
        for i, b in enumerate(spec.bands, 1)
    ]
    header = ("#", "Band", "Common name", "Wavelength", "Scaling")
    return _tensor(spec.name, spec.description, rows, header, bands, "bands")


def _output(spec: ModelOutput) -> Markup:
    rows = [("Shape", shape(spec.tensor)), ("Data type", spec.tensor.data_type), ("Tasks", spec.tasks)]
    rows.append(("Post-processing", spec.post_processing))
    classes = [
        (k.value, k.name, swatch(k.color) if k.color else muted("none"), k.description) for k in spec.classes
    ]
    header = ("Value", "Class", "Colour", "Description")
    return _tensor(spec.name, spec.description, rows, header, classes, "classes")


def card_html(card: ModelCard) -> str:
    """The card as the ``<div>`` a notebook shows (see the module docstring)."""
    return frame(card_section(card))


def card_section(card: ModelCard) -> Markup:
    """The card as a fragment, for a page that shows several (a repository's latest version)."""
    parts = [heading(text(card.title) + " " + muted(Markup("item {}").format(code(card.item_id))))]
    if card.description:
        parts.append(paragraph(card.description))
    parts.append(
        facts(
            [
                ("Architecture", card.architecture or "not stated"),
                ("Tasks", ", ".join(card.tasks) or "not stated"),
                (
                    "Framework",
                    " ".join(filter(None, [card.framework, card.framework_version])) or "not stated",
                ),
                (
                    "Parameters",
                    f"{card.total_parameters:,}" if card.total_parameters is not None else "not stated",
                ),
                ("Pretrained", card.pretrained),
                ("Accelerator", card.accelerator),
                ("Memory", human_size(card.memory_size)),
                ("Batch size", card.batch_size),
            ]
        )
    )
    parts.append(heading("Inputs", 5))
    parts += [_input(i) for i in card.inputs] or [paragraph(Markup("No <code>mlm:input</code>."))]
    parts.append(heading("Outputs", 5))
    parts += [_output(o) for o in card.outputs] or [paragraph(Markup("No <code>mlm:output</code>."))]
    if card.assets:
        parts.append(heading("Assets", 5))
        rows = [(a.key, ", ".join(a.roles), a.stored_path or a.href) for a in card.assets]
        parts.append(table(("Asset", "Roles", "File or link"), rows, what="assets"))
    return Markup("").join(parts)
