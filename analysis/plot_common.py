"""What every plot shares: a report's cells of a section, their colours and labels, the numbers they carry."""

import re
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.colors import to_rgb

from contracts.spec import ModelSpec

NORM_AXIS = "model.norm"
DEFAULT_NORM = ModelSpec.model_fields["norm"].default
NORM_COLOURS = {
    "none": "#3a3a3a",
    "batchnorm": "#1f77b4",
    "torch_batchnorm": "#ff7f0e",
    "ghost_batchnorm": "#2ca02c",
    "sync_batchnorm": "#17becf",
    "batch_renorm": "#9467bd",
    "layernorm": "#d62728",
    "groupnorm": "#8c564b",
}
OTHER_COLOURS = ["#e377c2", "#bcbd22", "#7f7f7f"]
LINESTYLES = ["-", "--", "-.", ":"]
OUTCOMES = {"diverged": "diverged", "failed_to_learn": "failed to learn"}  # counted per cell, noted in legends
LIGHTEST = 0.6  # the lightest shade of a norm's colour mixes this much white in: still visible on white


@dataclass(frozen=True)
class Style:
    """How one cell is drawn: its norm's colour (shaded by its rank among that norm's cells), a line style, a label."""

    colour: tuple[float, float, float]
    linestyle: str
    label: str


def section_cells(report: dict[str, Any], section: str) -> list[dict[str, Any]]:
    """The section's cells, in report order."""
    return [cell for cell in report.get("cells", []) if cell.get("section") == section]


def norm_of(cell: dict[str, Any], section: dict[str, Any]) -> str:
    """The cell's norm: its grid value, else the section's base spec, else the spec's default."""
    base = section.get("base", {}).get("model", {})
    return str(cell.get("values", {}).get(NORM_AXIS, base.get("norm", DEFAULT_NORM)))


def norm_colour(norm: str) -> tuple[float, float, float]:
    """The same colour for a norm in every plot and report; an unknown norm gets a stable one from a spare palette."""
    return to_rgb(NORM_COLOURS.get(norm) or OTHER_COLOURS[zlib.crc32(norm.encode()) % len(OTHER_COLOURS)])


def shade(colour: tuple[float, float, float], rank: int, count: int) -> tuple[float, float, float]:
    """The rank-th of `count` shades of a colour, darkest first, so many cells of one norm stay apart."""
    white = LIGHTEST * rank / (count - 1) if count > 1 else 0.0
    return tuple(float(channel + (1.0 - channel) * white) for channel in colour)


def cell_styles(section: dict[str, Any], cells: list[dict[str, Any]]) -> list[Style]:
    """One style per cell: colour by norm, shade and line style by the cell's rank among the cells of its norm."""
    norms = [norm_of(cell, section) for cell in cells]
    names = axis_names(list(section.get("grid", {})))
    styles = []
    for index, (cell, norm) in enumerate(zip(cells, norms, strict=True)):
        rank, count = norms[:index].count(norm), norms.count(norm)
        linestyle = LINESTYLES[rank % len(LINESTYLES)]
        styles.append(Style(shade(norm_colour(norm), rank, count), linestyle, cell_label(cell, names)))
    return styles


def axis_names(paths: list[str]) -> dict[str, str]:
    """Short names for the grid's axes (the last part of the path) unless two would read the same."""
    short = [path.rsplit(".", 1)[-1] for path in paths]
    unique = len(set(short)) == len(short)
    return {path: name if unique else path for path, name in zip(paths, short, strict=True)}


def format_value(value: Any) -> str:
    """A grid value as a person writes it: 0.1 not 0.1000000001, strings bare."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def cell_label(cell: dict[str, Any], names: dict[str, str], skip: str | None = None) -> str:
    """The cell by its values, e.g. "norm=batchnorm lr=0.1" (without the axis `skip` a plot has on its x axis)."""
    values = cell.get("values", {})
    parts = [f"{names.get(path, path)}={format_value(value)}" for path, value in values.items() if path != skip]
    return " ".join(parts) or "base spec"


def total_runs(cell: dict[str, Any]) -> int:
    """All the cell's runs, whatever their status."""
    return sum(cell.get("counts", {}).values())


def run_note(cell: dict[str, Any]) -> str:
    """ " (2/3 diverged, 1/3 failed to learn)" for a cell with such runs, so a legend says why a line is short."""
    total = total_runs(cell)
    notes = [f"{cell.get(key) or 0}/{total} {words}" for key, words in OUTCOMES.items() if cell.get(key)]
    return f" ({', '.join(notes)})" if notes else ""


def stat(cell: dict[str, Any], field: str) -> dict[str, Any] | None:
    """The aggregate of a summary field (mean, ci_low, ci_high, ...), or None when no run has it."""
    value = cell.get("summary", {}).get(field)
    return value if value and value.get("mean") is not None else None


def error(value: dict[str, Any]) -> tuple[float, float]:
    """The distances from the mean to the interval's ends, for error bars."""
    mean = value["mean"]
    low = value.get("ci_low") if value.get("ci_low") is not None else mean
    high = value.get("ci_high") if value.get("ci_high") is not None else mean
    return max(mean - low, 0.0), max(high - mean, 0.0)


def array(values: list[Any]) -> np.ndarray:
    """Floats, None (a JSON gap) as NaN, so matplotlib leaves a gap."""
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def layer_order(layer: str) -> tuple[bool, list[Any]]:
    """h1 < h2 < ... < h10, the head `out` last: natural order by the numbers in the names."""
    parts = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", layer) if part]
    return layer == "out", [(0, part) if isinstance(part, int) else (1, part) for part in parts]


def layers_with(metrics: set[str], prefix: str, keys: tuple[str, ...]) -> list[str]:
    """The layers that have every `{prefix}/{layer}/{key}` curve, input side first."""
    layers = {metric.split("/")[1] for metric in metrics if metric.startswith(f"{prefix}/") and metric.count("/") == 2}
    complete = [layer for layer in layers if all(f"{prefix}/{layer}/{key}" in metrics for key in keys)]
    return sorted(complete, key=layer_order)


def last_hidden_layer(metrics: set[str]) -> str | None:
    """The last hidden layer with all three activation percentiles, as Figure 1 of the paper shows."""
    hidden = [layer for layer in layers_with(metrics, "act", ("p15", "p50", "p85")) if layer != "out"]
    return hidden[-1] if hidden else None


def ics_layers(metrics: set[str]) -> list[str]:
    """The layers with an internal-covariate-shift l2 curve, input side first."""
    return layers_with(metrics, "ics", ("l2",))


def curve_metrics(cells: list[dict[str, Any]]) -> set[str]:
    """The metrics some cell has a non-empty curve of."""
    return {metric for cell in cells for metric, curve in cell.get("curves", {}).items() if curve.get("steps")}
