"""The study report as one self-contained HTML page: no script, no network, every plot inline as a PNG data URI.

A person opens it in a browser (or saves it) and reads the claims' verdicts first, then every section's cells.
"""

import base64
import json
import math
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from analysis.plot_common import axis_names, cell_label, format_value, section_cells
from analysis.plots import catalogue, render

KEY_FIELDS = [
    "final_test_acc",
    "test_acc_at_best_val",
    "best_val_acc",
    "final_train_acc",
    "generalization_gap",
    "steps_to_target",
    "train_step_cpu_ms",
    "inference_us_per_example",
    "folded_inference_us_per_example",
    "wall_time_s",
]
VERDICTS = {"supported": "supported", "not_supported": "not supported", "inconclusive": "inconclusive"}
PlotSource = Callable[[str], bytes]

_environment = Environment(
    loader=PackageLoader("analysis", "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)


def render_html(report: dict[str, Any], plot: PlotSource | None = None) -> str:
    """The page for a report; `plot(name)` gives a plot's PNG (default: drawn here), so the API can pass its cache."""
    source = plot or (lambda name: render(report, name, "png"))
    images = {name: {"title": title, "uri": _data_uri(source(name))} for name, title in catalogue(report)}
    template = _environment.get_template("report.html.j2")
    return template.render(
        report=report,
        claims=[_claim(claim, images, report) for claim in report.get("claims", [])],
        sections=[_section(report, section, images) for section in report.get("sections", [])],
        verdicts=VERDICTS,
        number=number,
        compact=compact,
        plus_minus=plus_minus,
        columns=columns,
    )


def _data_uri(png: bytes) -> str:
    """A PNG as a data: URI, so the page needs no second request."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _claim(claim: dict[str, Any], images: dict[str, dict[str, str]], report: dict[str, Any]) -> dict[str, Any]:
    """A claim with its plots resolved to images, whether the report lists them by name or by URL."""
    by_url = {url: entry["name"] for entry in report.get("plots", []) for url in (entry.get("png"), entry.get("svg"))}
    names = [by_url.get(found, found) for found in claim.get("plots", [])]
    return {**claim, "images": [{"name": name, **images[name]} for name in names if name in images]}


def _section(report: dict[str, Any], section: dict[str, Any], images: dict[str, dict[str, str]]) -> dict[str, Any]:
    """What the page shows of a section: base spec, grid, a row per cell, comparisons with the baseline, plots."""
    cells = section_cells(report, section["name"])
    names = axis_names(list(section.get("grid", {})))
    present = {field for cell in cells for field in cell.get("summary", {})}
    fields = [field for field in KEY_FIELDS if field in present]
    return {
        "name": section["name"],
        "base": json.dumps(section.get("base", {}), indent=2, sort_keys=True),
        "grid": {path: ", ".join(map(format_value, found)) for path, found in section.get("grid", {}).items()},
        "baseline": _values(section.get("baseline") or {}, names),
        "fields": fields,
        "all_fields": sorted(present - set(fields)),
        "cells": [
            {**cell, "label": cell_label(cell, names), "baseline": _is_baseline(cell, section)} for cell in cells
        ],
        "compared": [
            {**cell, "label": cell_label(cell, names), "against": _values(cell["comparison"]["baseline"], names)}
            for cell in cells
            if cell.get("comparison")
        ],
        "images": [{"name": name, **image} for name, image in images.items() if _section_of(name, section["name"])],
    }


def _is_baseline(cell: dict[str, Any], section: dict[str, Any]) -> bool:
    """The cell takes the section's baseline values on the baseline's axes."""
    baseline = section.get("baseline") or {}
    return bool(baseline) and all(cell.get("values", {}).get(path) == value for path, value in baseline.items())


def _section_of(name: str, section: str) -> bool:
    """The plot belongs to the section: `{kind}-{section}` or `curves-{section}-{metric}`."""
    kind, _, rest = name.partition("-")
    return rest.rsplit("-", 1)[0] == section if kind == "curves" else rest == section


def _values(values: dict[str, Any], names: dict[str, str]) -> str:
    """Grid values as the plots' legends write them."""
    return cell_label({"values": values}, names)


def number(value: Any, key: str = "") -> str:
    """A number as a person reads it: accuracies to 3 decimals, times with their unit, the rest to 4 digits."""
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isfinite(value):
        return _with_unit(value, str(key))
    return str(value)


def _with_unit(value: float, key: str) -> str:
    """The unit or precision the innermost recognised part of the dotted key implies ("cost.train_step_cpu_ms.none")."""
    for part in reversed(key.split(".")):
        if part.endswith("_ms"):
            return f"{value:.3g} ms"
        if "_us" in part:
            return f"{value:.3g} µs"
        if part.endswith("_s"):
            return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"
        if "acc" in part or "gap" in part:
            return f"{value:.3f}"
        if "ratio" in part or "_over_" in part:
            return f"{value:.3f}"
        if "step" in part:
            return f"{value:.0f}"
    return f"{value:.4g}"


def compact(value: Any, key: str = "") -> str | None:
    """An aggregate or a contrast on one line, "0.712 [0.690, 0.734] (n=3)"; None for any other value."""
    if not isinstance(value, dict):
        return None
    centre = next((name for name in ("mean", "estimate", "difference", "ratio") if name in value), None)
    low = value.get("ci_low", value.get(f"{centre}_ci_low"))
    high = value.get("ci_high", value.get(f"{centre}_ci_high"))
    if centre is None or not {"ci_low", f"{centre}_ci_low"} & value.keys():
        return None
    key = f"{key}.{centre}" if centre == "ratio" else key
    interval = "" if low is None or high is None else f" [{number(low, key)}, {number(high, key)}]"
    count = f" (n={value['n']})" if "n" in value else ""
    return f"{number(value[centre], key)}{interval}{count}"


def plus_minus(value: dict[str, Any] | None, key: str) -> str:
    """A summary aggregate as mean ± the half-width of its 95 % interval."""
    if not value or value.get("mean") is None:
        return "\u2013"
    low, high = value.get("ci_low"), value.get("ci_high")
    spread = "" if low is None or high is None else f" ± {number((high - low) / 2, key)}"
    return number(value["mean"], key) + spread


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The keys of a list of objects, in first-seen order, for a table with a column each."""
    return list(dict.fromkeys(key for row in rows for key in row))
