"""The study report's plots, by name: which exist for a report (`catalogue`) and their PNG or SVG bytes (`render`).

Names are `{kind}-{section}` or `curves-{section}-{metric}`; the API serves them at /v1/studies/{id}/plots/{name}.
Headless and thread-safe: every plot is its own Figure on an Agg canvas, never pyplot's global state.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.plot_bars import draw_cost, draw_regularization
from analysis.plot_common import curve_metrics, ics_layers, last_hidden_layer, section_cells
from analysis.plot_kinds import BATCH_AXIS, draw_activations, draw_curves, draw_ics, draw_sweep

CURVE_METRICS = {"train_loss": "training loss", "test_acc": "test accuracy", "val_acc": "validation accuracy"}
LR_AXIS = "optimizer.lr"
INIT_AXIS = "model.init.scale"
DROPOUT_AXIS = "model.dropout"
COST_SECTION = "cost"
FIGSIZE = (7, 4)  # inches; at 100 dpi a 700 x 400 PNG
DPI = 100
# No date or version in the file: the same report gives the same bytes.
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
Drawer = Callable[[Figure, dict[str, Any], list[dict[str, Any]], Any], None]
DRAWERS: dict[str, Drawer] = {
    "curves": draw_curves,
    "lr": draw_sweep,
    "init": draw_sweep,
    "batch": draw_sweep,
    "activations": draw_activations,
    "ics": draw_ics,
    "cost": draw_cost,
    "regularization": draw_regularization,
}

# SVG ids are hashes salted with this; unset, the salt is a fresh uuid per file. Set once, read by every render.
matplotlib.rcParams["svg.hashsalt"] = "bnlab"


class UnknownPlot(KeyError):
    """No plot of that name exists for this report: the API answers 404."""


@dataclass(frozen=True)
class PlotEntry:
    """One plot of a report: name, title, kind (which drawer), section, and the metric or grid axis it is about."""

    name: str
    title: str
    kind: str
    section: str
    detail: str | None = None


def catalogue(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, title) of every plot the report's data allows, section by section, for the report's `plots` list."""
    return [(entry.name, entry.title) for entry in entries(report)]


def entries(report: dict[str, Any]) -> list[PlotEntry]:
    """Every plot the report's data allows, in section order."""
    return [entry for section in report.get("sections", []) for entry in _section_entries(report, section)]


def figure(report: dict[str, Any], name: str) -> Figure:
    """The named plot as a Figure (tests inspect its axes); UnknownPlot for a name the catalogue lacks."""
    entry = next((entry for entry in entries(report) if entry.name == name), None)
    if entry is None:
        raise UnknownPlot(name)
    section = next(section for section in report["sections"] if section["name"] == entry.section)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    DRAWERS[entry.kind](fig, section, section_cells(report, entry.section), entry.detail)
    fig.suptitle(entry.title, fontsize="medium")
    return fig


def render(report: dict[str, Any], name: str, fmt: Literal["png", "svg"]) -> bytes:
    """The named plot's PNG or SVG bytes, identical for identical reports."""
    if fmt not in METADATA:
        raise ValueError(f"plots are png or svg, not {fmt!r}")
    buffer = io.BytesIO()
    figure(report, name).savefig(buffer, format=fmt, dpi=DPI, metadata=METADATA[fmt])
    return buffer.getvalue()


def _section_entries(report: dict[str, Any], section: dict[str, Any]) -> list[PlotEntry]:
    """The plots of one section: curves of the metrics some cell has, then the kinds its grid or data calls for."""
    name, grid = section["name"], section.get("grid", {})
    metrics = curve_metrics(section_cells(report, name))
    found = [
        PlotEntry(f"curves-{name}-{metric}", f"{name}: {words} over training steps", "curves", name, metric)
        for metric, words in CURVE_METRICS.items()
        if metric in metrics
    ]
    kinds = {
        "lr": (LR_AXIS in grid, "final accuracy against the learning rate", LR_AXIS),
        "init": (INIT_AXIS in grid, "final accuracy against the initial weight scale", INIT_AXIS),
        "batch": (BATCH_AXIS in grid, "final accuracy against the batch size", BATCH_AXIS),
        "activations": (
            last_hidden_layer(metrics) is not None,
            "last hidden layer's input over training (15th, 50th, 85th percentile)",
            None,
        ),
        "ics": (bool(ics_layers(metrics)), "internal covariate shift per layer over training", None),
        "cost": (name == COST_SECTION, "training step and inference time per norm", None),
        "regularization": (DROPOUT_AXIS in grid, "train and test accuracy and their gap per cell", None),
    }
    found += [
        PlotEntry(f"{kind}-{name}", f"{name}: {words}", kind, name, detail)
        for kind, (wanted, words, detail) in kinds.items()
        if wanted
    ]
    return found
