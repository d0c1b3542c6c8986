"""Bar plots of per-cell summaries: the cost of each norm, and dropout's train/test accuracy and gap."""

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analysis.plot_common import axis_names, cell_label, error, norm_colour, norm_of, run_note, shade, stat

FOLDED_HATCH = "//"
TICK_CHARS = 16  # longer tick lines are tilted, or neighbours overlap
REGULARIZATION_FIELDS = {
    "final_train_acc": "final train accuracy",
    "final_test_acc": "final test accuracy",
    "generalization_gap": "gap = train - test",
}


def draw_cost(fig: Figure, section: dict[str, Any], cells: list[dict[str, Any]], _: None) -> None:
    """Training-step CPU time, and inference time with the folded network beside, per cell with 95 % CIs."""
    fig.set_size_inches(7, 4.4)
    train, inference = fig.subplots(1, 2)
    colours = _colours(section, cells)
    _bars(train, cells, colours, "train_step_cpu_ms", 0.0, 0.6)
    train.set_ylabel("CPU time per training step (ms)")
    folded = any(stat(cell, "folded_inference_us_per_example") for cell in cells)
    width = 0.4 if folded else 0.6
    _bars(inference, cells, colours, "inference_us_per_example", -width / 2 if folded else 0.0, width)
    if folded:
        _bars(inference, cells, colours, "folded_inference_us_per_example", width / 2, width, hatch=FOLDED_HATCH)
    inference.set_ylabel("CPU time per example at inference (µs)")
    for ax in (train, inference):
        _cell_ticks(ax, cells, section)
    handles = [
        Patch(facecolor="grey", edgecolor="grey", label="as trained (mean, 95 % CI)"),
        Patch(facecolor="white", edgecolor="grey", hatch=FOLDED_HATCH, label="batch norm folded into the layers"),
    ]
    fig.legend(handles=handles[: 1 + folded], loc="outside lower center", ncols=2, fontsize="x-small")


def draw_regularization(fig: Figure, section: dict[str, Any], cells: list[dict[str, Any]], _: None) -> None:
    """Per cell, final train and test accuracy and their gap side by side: dropout should shrink the gap."""
    ax = fig.add_subplot()
    colours = _colours(section, cells)
    width = 0.8 / len(REGULARIZATION_FIELDS)
    for rank, field in enumerate(REGULARIZATION_FIELDS):
        offset = (rank - (len(REGULARIZATION_FIELDS) - 1) / 2) * width
        hatch = FOLDED_HATCH if rank == 2 else None
        _bars(ax, cells, colours, field, offset, width, lighten=rank, hatch=hatch, digits=".3f")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("accuracy (fraction correct); mean, 95 % CI")
    _cell_ticks(ax, cells, section)
    handles = [
        Patch(
            facecolor=shade((0.3, 0.3, 0.3), rank, 3) if rank < 2 else "white",
            edgecolor="grey",
            hatch=hatch,
            label=label,
        )
        for rank, (label, hatch) in enumerate(
            zip(REGULARIZATION_FIELDS.values(), (None, None, FOLDED_HATCH), strict=True)
        )
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="x-small")


def _bars(
    ax: Axes,
    cells: list[dict[str, Any]],
    colours: list[tuple[float, float, float]],
    field: str,
    offset: float,
    width: float,
    lighten: int = 0,
    hatch: str | None = None,
    digits: str = ".3g",
) -> None:
    """One bar per cell that has the field, in its cell's colour (hatched ones hollow), labelled with its mean."""
    for index, (cell, colour) in enumerate(zip(cells, colours, strict=True)):
        value = stat(cell, field)
        if not value:
            continue
        low, high = error(value)
        face = "white" if hatch else shade(colour, lighten, 3)
        bars = ax.bar(
            index + offset,
            value["mean"],
            width,
            yerr=[[low], [high]],
            color=face,
            edgecolor=colour,
            hatch=hatch,
            capsize=3,
            ecolor="black",
        )
        ax.bar_label(bars, labels=[format(value["mean"], digits)], fontsize=6, padding=2)


def _colours(section: dict[str, Any], cells: list[dict[str, Any]]) -> list[tuple[float, float, float]]:
    """Each bar in its norm's colour: the tick labels say which cell it is, shades tell the fields apart."""
    return [norm_colour(norm_of(cell, section)) for cell in cells]


def _cell_ticks(ax: Axes, cells: list[dict[str, Any]], section: dict[str, Any]) -> None:
    """Each group of bars named by its cell, one value a line, with its runs' outcomes; a note when none has data."""
    names = axis_names(list(section.get("grid", {})))
    labels = ["\n".join([*cell_label(cell, names).split(" "), run_note(cell).strip()]).strip() for cell in cells]
    longest = max((len(line) for label in labels for line in label.split("\n")), default=0)
    tilt = {"rotation": 20, "ha": "right", "rotation_mode": "anchor"} if longest > TICK_CHARS else {}
    ax.set_xticks(range(len(cells)), labels, fontsize="x-small", **tilt)
    if not ax.patches:
        ax.text(0.5, 0.5, "no finished runs yet", transform=ax.transAxes, ha="center", va="center", color="grey")
