"""The drawing of each kind of plot onto a fresh Figure: curves over steps, sweeps, activations, ICS, cost, dropout."""

import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.plot_common import (
    Style,
    array,
    axis_names,
    cell_label,
    cell_styles,
    curve_metrics,
    error,
    format_value,
    ics_layers,
    last_hidden_layer,
    run_note,
    stat,
    total_runs,
)

BAND_ALPHA = 0.15
STEP_LABEL = "training step"
ACCURACY_LABEL = "accuracy (fraction correct)"
CURVE_LABELS = {
    "train_loss": "training loss (cross-entropy, nats; log scale)",
    "test_acc": f"test {ACCURACY_LABEL}",
    "val_acc": f"validation {ACCURACY_LABEL}",
}
BATCH_AXIS = "training.batch_size"
SWEEP_LABELS = {
    "optimizer.lr": "learning rate (optimizer.lr; log scale)",
    "model.init.scale": "initial weight scale (model.init.scale; log scale)",
    BATCH_AXIS: "batch size (training.batch_size; log scale)",
}
LEGEND_LINE = 0.17  # inches per legend entry at x-small: the figure grows so a long legend stays below the title
NO_DATA = "no finished runs yet"
DIVERGED_MARK = {"marker": "x", "markersize": 8, "markeredgewidth": 2, "linestyle": "none"}
FAILED_MARK = {"marker": "v", "markersize": 7, "markerfacecolor": "none", "markeredgewidth": 1.5, "linestyle": "none"}
MARKS = {"diverged": DIVERGED_MARK, "failed_to_learn": FAILED_MARK}
FIELD_LABELS = {
    "test_acc_at_best_val": "test accuracy at the best validation step",
    "final_test_acc": "final test accuracy",
}
MARK_HANDLES = {
    "diverged": Line2D([], [], color="black", **DIVERGED_MARK, label="some runs diverged (count beside)"),
    "failed_to_learn": Line2D([], [], color="black", **FAILED_MARK, label="some runs failed to learn (count beside)"),
}


def draw_curves(fig: Figure, section: dict[str, Any], cells: list[dict[str, Any]], metric: str) -> None:
    """Each cell's mean curve with its 95 % band; a cell with diverged runs ends in an x, noted in the legend."""
    ax = fig.add_subplot()
    marks = False
    for cell, style in zip(cells, cell_styles(section, cells), strict=True):
        curve = cell.get("curves", {}).get(metric)
        if not curve or not curve.get("steps"):
            continue
        steps, mean = array(curve["steps"]), array(curve["mean"])
        ax.plot(
            steps,
            mean,
            color=style.colour,
            linestyle=style.linestyle,
            linewidth=1.4,
            label=style.label + run_note(cell),
        )
        ax.fill_between(
            steps, array(curve["low"]), array(curve["high"]), color=style.colour, alpha=BAND_ALPHA, linewidth=0
        )
        finite = np.flatnonzero(np.isfinite(mean))
        if cell.get("diverged") and finite.size:
            ax.plot(steps[finite[-1]], mean[finite[-1]], color=style.colour, **DIVERGED_MARK)
            marks = True
    if metric == "train_loss" and _has_positive(ax):
        ax.set_yscale("log")
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel(CURVE_LABELS.get(metric, metric))
    _legend(fig, ax, [MARK_HANDLES["diverged"]] if marks else [])


def draw_sweep(fig: Figure, section: dict[str, Any], cells: list[dict[str, Any]], axis: str) -> None:
    """Final accuracy against a log-scaled grid axis, one line per value of the other axes, CI error bars."""
    ax = fig.add_subplot()
    field = accuracy_field(cells)
    names = axis_names(list(section.get("grid", {})))
    groups: dict[str, list[dict[str, Any]]] = {}
    for cell in sorted(cells, key=lambda cell: float(cell["values"][axis])):
        groups.setdefault(cell_label(cell, names, skip=axis), []).append(cell)
    styles = cell_styles(section, [members[0] for members in groups.values()])
    used: set[str] = set()
    for (label, members), style in zip(groups.items(), styles, strict=True):
        _sweep_line(ax, label, style, members, axis, field)
        used |= _outcome_marks(ax, style, members, axis, field)
    ax.set_xscale("log")
    ticks = sorted({float(cell["values"][axis]) for cell in cells})
    ax.set_xticks(ticks, [_tick_label(section, axis, tick) for tick in ticks])
    ax.minorticks_off()
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(SWEEP_LABELS.get(axis, f"{axis} (log scale)"))
    ax.set_ylabel(f"{FIELD_LABELS[field]}\n(fraction correct; mean, 95 % CI)")
    if not any(stat(cell, field) for cell in cells):
        _no_data(ax)
    _legend(fig, ax, [handle for key, handle in MARK_HANDLES.items() if key in used])


def _tick_label(section: dict[str, Any], axis: str, tick: float) -> str:
    """A grid value; a batch size split over several processes says each one's share as well."""
    processes = section.get("base", {}).get("training", {}).get("processes", 1)
    if axis != BATCH_AXIS or processes == 1:
        return format_value(tick)
    return f"{format_value(tick)}\n({format_value(tick / processes)} per process)"


def accuracy_field(cells: list[dict[str, Any]]) -> str:
    """test_acc_at_best_val (chosen on validation data) where some cell has it, else final_test_acc."""
    return "test_acc_at_best_val" if any(stat(cell, "test_acc_at_best_val") for cell in cells) else "final_test_acc"


def _sweep_line(ax: Axes, label: str, style: Style, members: list[dict[str, Any]], axis: str, field: str) -> None:
    """The line of one group through the cells that have the field, with error bars from the CI."""
    present = [(float(cell["values"][axis]), stat(cell, field)) for cell in members if stat(cell, field)]
    if not present:
        ax.plot([], [], color=style.colour, linestyle=style.linestyle, marker="o", label=label)
        return
    errors = np.array([error(value) for _, value in present]).T
    ax.errorbar(
        [x for x, _ in present],
        [value["mean"] for _, value in present],
        yerr=errors,
        color=style.colour,
        linestyle=style.linestyle,
        marker="o",
        markersize=4,
        capsize=3,
        label=label,
    )


def _outcome_marks(ax: Axes, style: Style, members: list[dict[str, Any]], axis: str, field: str) -> set[str]:
    """An x (diverged) or a triangle (failed to learn) and the count at each such cell; at 0 where no run counts."""
    used = set()
    for cell in members:
        for offset, (key, mark) in enumerate(MARKS.items()):
            if not cell.get(key):
                continue
            value = stat(cell, field)
            x, y = float(cell["values"][axis]), value["mean"] if value else 0.0
            ax.plot(x, y, color=style.colour, clip_on=False, **mark)
            text = f"{cell[key]}/{total_runs(cell)}"
            ax.annotate(
                text, (x, y), xytext=(5, 4 + 9 * offset), textcoords="offset points", fontsize=7, color=style.colour
            )
            used.add(key)
    return used


def draw_activations(fig: Figure, section: dict[str, Any], cells: list[dict[str, Any]], _: None) -> None:
    """Per cell, the 15th/50th/85th percentile of the last hidden layer's input over steps (the paper's Fig. 1b, c)."""
    layer = last_hidden_layer(curve_metrics(cells))
    drawn = [
        (cell, style)
        for cell, style in zip(cells, cell_styles(section, cells), strict=True)
        if _has(cell, f"act/{layer}/p50")
    ]
    axes = _panels(fig, len(drawn))
    for ax, (cell, style) in zip(axes, drawn, strict=True):
        for quantile in ("p15", "p50", "p85"):
            curve = cell["curves"][f"act/{layer}/{quantile}"]
            steps = array(curve["steps"])
            dashes = "-" if quantile == "p50" else "--"
            ax.plot(steps, array(curve["mean"]), color=style.colour, linestyle=dashes, linewidth=1.4)
            ax.fill_between(
                steps, array(curve["low"]), array(curve["high"]), color=style.colour, alpha=BAND_ALPHA, linewidth=0
            )
        ax.set_title(style.label + run_note(cell), fontsize="small")
        ax.set_xlabel(STEP_LABEL)
    axes[0].set_ylabel(f"input to the nonlinearity of {layer}")
    handles = [
        Line2D([], [], color="black", linestyle="-", label="median (p50)"),
        Line2D([], [], color="black", linestyle="--", label="15th and 85th percentile"),
        Patch(color="black", alpha=BAND_ALPHA, label="95 % CI over seeds"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="x-small")


def draw_ics(fig: Figure, section: dict[str, Any], cells: list[dict[str, Any]], _: None) -> None:
    """One panel per layer: each cell's internal covariate shift ||G - G'||_2 over steps, linear y from 0 (a band of
    three seeds often reaches below zero, which a log axis would draw as spikes; the first layer is 0 by definition)."""
    layers = ics_layers(curve_metrics(cells))
    axes = _panels(fig, len(layers), columns=2)
    styles = cell_styles(section, cells)
    for ax, layer in zip(axes, layers, strict=True):
        for cell, style in zip(cells, styles, strict=True):
            if not _has(cell, f"ics/{layer}/l2"):
                continue
            curve = cell["curves"][f"ics/{layer}/l2"]
            steps = array(curve["steps"])
            ax.plot(
                steps,
                array(curve["mean"]),
                color=style.colour,
                linestyle=style.linestyle,
                label=style.label + run_note(cell),
            )
            ax.fill_between(
                steps, array(curve["low"]), array(curve["high"]), color=style.colour, alpha=BAND_ALPHA, linewidth=0
            )
        ax.set_ylim(bottom=0)
        ax.set_title(f"layer {layer}", fontsize="small")
        ax.set_xlabel(STEP_LABEL)
    for ax in axes[::2]:
        ax.set_ylabel("ICS ||G - G'||_2")
    _legend(fig, axes[0], [], source=axes)


def _panels(fig: Figure, count: int, columns: int = 3) -> list[Axes]:
    """`count` panels sharing their y axis, in rows of at most `columns`; the figure grows a row at a time."""
    columns = max(1, min(columns, count))
    rows = max(1, math.ceil(count / columns))
    fig.set_size_inches(7, 1.2 + 2.3 * rows)
    grid = fig.subplots(rows, columns, sharey=True, squeeze=False).ravel().tolist()
    for ax in grid[count:]:
        ax.set_visible(False)
    return grid[: max(count, 1)]


def _has(cell: dict[str, Any], metric: str) -> bool:
    """The cell has a non-empty curve of the metric."""
    return bool(cell.get("curves", {}).get(metric, {}).get("steps"))


def _has_positive(ax: Axes) -> bool:
    """Some line has a positive finite value, so a log axis has something to show."""
    return any(
        np.any(np.isfinite(y) & (y > 0)) for y in (np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines())
    )


def _no_data(ax: Axes) -> None:
    """Say so in the middle of an empty panel rather than leave it blank."""
    ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center", color="grey")


def _legend(fig: Figure, ax: Axes, extra: list[Any], source: list[Axes] | None = None) -> None:
    """The cells' legend beside the plot (14 cells fit), plus the marks used; nothing drawn means a note instead."""
    handles, labels = [], []
    for panel in source or [ax]:
        for handle, label in zip(*panel.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    handles += extra
    labels += [handle.get_label() for handle in extra]
    if not handles:
        _no_data(ax)
        return
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, max(height, 1.2 + LEGEND_LINE * len(handles)))
    fig.legend(handles, labels, loc="outside right center", fontsize="x-small")
