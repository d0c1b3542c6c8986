"""The study report's plots, by name: which exist for a report (`catalogue`) and their PNG or SVG bytes (`render`).

Names are `{kind}-{section}` or `curves-{section}-{metric}`; the API serves them at /v1/studies/{id}/plots/{name}.
"""

from dataclasses import dataclass
from typing import Any

CURVE_METRICS = {"train_loss": "training loss", "test_acc": "test accuracy", "val_acc": "validation accuracy"}
LR_AXIS = "optimizer.lr"
INIT_AXIS = "model.init.scale"
DROPOUT_AXIS = "model.dropout"
COST_SECTION = "cost"


class UnknownPlot(KeyError):
    """No plot of that name exists for this report: the API answers 404."""


@dataclass(frozen=True)
class PlotEntry:
    """One plot of a report: its name, title, kind (which builder draws it), section and, for curves, metric."""

    name: str
    title: str
    kind: str
    section: str
    metric: str | None = None


def catalogue(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, title) of every plot the report's data allows, section by section, for the report's `plots` list."""
    return [(entry.name, entry.title) for entry in entries(report)]


def entries(report: dict[str, Any]) -> list[PlotEntry]:
    """Every plot the report's data allows, in section order."""
    return [entry for section in report.get("sections", []) for entry in _section_entries(report, section)]


def section_cells(report: dict[str, Any], section: str) -> list[dict[str, Any]]:
    """The section's cells, in report order."""
    return [cell for cell in report.get("cells", []) if cell.get("section") == section]


def _section_entries(report: dict[str, Any], section: dict[str, Any]) -> list[PlotEntry]:
    """The plots of one section: curves of the metrics some cell has, then the kinds its grid or data calls for."""
    name, grid = section["name"], section.get("grid", {})
    cells = section_cells(report, name)
    curves = {metric for cell in cells for metric, curve in cell.get("curves", {}).items() if curve.get("steps")}
    found = [
        PlotEntry(f"curves-{name}-{metric}", f"{name}: {words} over training steps", "curves", name, metric)
        for metric, words in CURVE_METRICS.items()
        if metric in curves
    ]
    kinds = {
        "lr": (LR_AXIS in grid, "final accuracy against the learning rate"),
        "init": (INIT_AXIS in grid, "final accuracy against the initial weight scale"),
        "activations": (
            last_hidden_layer(curves) is not None,
            "distribution of the last hidden layer's input over training (15th, 50th, 85th percentile)",
        ),
        "ics": (bool(ics_layers(curves)), "internal covariate shift per layer over training"),
        "cost": (name == COST_SECTION, "training step and inference time per norm"),
        "regularization": (DROPOUT_AXIS in grid, "train and test accuracy and their gap per cell"),
    }
    found += [
        PlotEntry(f"{kind}-{name}", f"{name}: {words}", kind, name) for kind, (wanted, words) in kinds.items() if wanted
    ]
    return found


def _layer_order(layer: str) -> tuple[int, int, str]:
    """h1 < h2 < ... < h10 < out: numbered hidden layers by number, anything else after them."""
    digits = layer.lstrip("h")
    return (0, int(digits), layer) if layer.startswith("h") and digits.isdigit() else (1, 0, layer)


def last_hidden_layer(metrics: set[str]) -> str | None:
    """The highest-numbered hidden layer with all three activation percentiles, as in Figure 1 of the paper."""
    layers = {metric.split("/")[1] for metric in metrics if metric.startswith("act/") and metric.count("/") == 2}
    complete = [layer for layer in layers if all(f"act/{layer}/{q}" in metrics for q in ("p15", "p50", "p85"))]
    hidden = [layer for layer in complete if _layer_order(layer)[0] == 0]
    return max(hidden or complete, key=_layer_order, default=None)


def ics_layers(metrics: set[str]) -> list[str]:
    """The layers with an internal-covariate-shift l2 curve, input side first."""
    layers = {metric.split("/")[1] for metric in metrics if metric.startswith("ics/") and metric.endswith("/l2")}
    return sorted(layers, key=_layer_order)
