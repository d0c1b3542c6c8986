"""The report's plots: exactly the catalogued names, valid deterministic PNG and SVG, readable axes, thread-safe."""

import copy
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from matplotlib.image import imread

from analysis.plot_common import cell_styles, norm_colour
from analysis.plots import UnknownPlot, catalogue, figure, render

CLAIMS_PLOTS = [
    "curves-learning_rate-train_loss",
    "curves-learning_rate-test_acc",
    "curves-learning_rate-val_acc",
    "lr-learning_rate",
    "curves-initialization-train_loss",
    "curves-initialization-test_acc",
    "init-initialization",
    "curves-regularization-train_loss",
    "curves-regularization-test_acc",
    "curves-regularization-val_acc",
    "regularization-regularization",
    "curves-cost-train_loss",
    "curves-cost-test_acc",
    "curves-cost-val_acc",
    "cost-cost",
    "curves-covariate_shift-train_loss",
    "curves-covariate_shift-test_acc",
    "curves-covariate_shift-val_acc",
    "ics-covariate_shift",
    "curves-small_batches-train_loss",
    "curves-small_batches-test_acc",
    "curves-small_batches-val_acc",
    "batch-small_batches",
    "curves-fig1-train_loss",
    "curves-fig1-test_acc",
    "activations-fig1",
]
ROOT = Path(__file__).resolve().parents[2]
GRID_PLOTS = ["curves-grid-train_loss", "curves-grid-test_acc", "batch-grid"]


def _all(synthetic_claims, synthetic_grid):
    """Every (report, name) pair of both synthetic reports."""
    return [(report, name) for report in (synthetic_claims, synthetic_grid) for name, _ in catalogue(report)]


def test_catalogue_lists_exactly_the_plots_the_data_allows(synthetic_claims, synthetic_grid):
    assert [name for name, _ in catalogue(synthetic_claims)] == CLAIMS_PLOTS
    assert [name for name, _ in catalogue(synthetic_grid)] == GRID_PLOTS
    assert all(title.startswith(name.split("-")[1]) for name, title in catalogue(synthetic_claims))


def test_catalogue_of_a_study_with_no_runs_done_keeps_the_grid_plots_and_drops_the_curves(synthetic_claims):
    report = copy.deepcopy(synthetic_claims)
    for cell in report["cells"]:
        cell.update(summary={}, curves={}, n=0)
    assert [name for name, _ in catalogue(report)] == [
        "lr-learning_rate",
        "init-initialization",
        "regularization-regularization",
        "cost-cost",
        "batch-small_batches",
    ]
    assert render(report, "lr-learning_rate", "png").startswith(b"\x89PNG")


def test_the_activations_plot_shows_the_last_hidden_layer(synthetic_claims):
    fig = figure(synthetic_claims, "activations-fig1")
    assert "h3" in fig.axes[0].get_ylabel()
    assert len(fig.axes) == 2


def test_every_plot_renders_as_a_png_matplotlib_can_read(synthetic_claims, synthetic_grid):
    for report, name in _all(synthetic_claims, synthetic_grid):
        data = render(report, name, "png")
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), name
        image = imread(io.BytesIO(data), format="png")
        assert image.shape[0] >= 300 and image.shape[1] == 700, name


def test_every_plot_renders_as_svg_that_parses(synthetic_claims, synthetic_grid):
    for report, name in _all(synthetic_claims, synthetic_grid):
        root = ET.fromstring(render(report, name, "svg"))
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_identical_reports_give_identical_bytes(synthetic_claims, fmt):
    for name in ["lr-learning_rate", "ics-covariate_shift", "cost-cost"]:
        assert render(synthetic_claims, name, fmt) == render(copy.deepcopy(synthetic_claims), name, fmt), name


def test_different_data_gives_a_different_plot(synthetic_claims):
    report = copy.deepcopy(synthetic_claims)
    report["cells"][0]["summary"]["test_acc_at_best_val"]["mean"] = 0.2
    assert render(report, "lr-learning_rate", "png") != render(synthetic_claims, "lr-learning_rate", "png")


def test_an_unknown_name_raises(synthetic_claims, synthetic_grid):
    for report, name in [(synthetic_claims, "lr-nope"), (synthetic_grid, "lr-grid"), (synthetic_claims, "")]:
        with pytest.raises(UnknownPlot):
            render(report, name, "png")
    with pytest.raises(ValueError):
        render(synthetic_claims, "lr-learning_rate", "pdf")


def test_sweeps_have_a_log_x_axis_with_the_grid_values_as_ticks(synthetic_claims):
    for name in ["lr-learning_rate", "init-initialization"]:
        ax = figure(synthetic_claims, name).axes[0]
        assert ax.get_xscale() == "log", name
        assert "log scale" in ax.get_xlabel()
    ticks = [label.get_text() for label in figure(synthetic_claims, "lr-learning_rate").axes[0].get_xticklabels()]
    assert ticks == ["0.003", "0.01", "0.03", "0.1", "0.3", "1", "3"]


def test_the_lr_plot_has_a_line_per_norm_and_marks_diverged_cells(synthetic_claims):
    fig = figure(synthetic_claims, "lr-learning_rate")
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels[:2] == ["norm=none", "norm=batchnorm"]
    assert any("diverged" in label for label in labels)
    notes = [text.get_text() for text in fig.axes[0].texts]
    assert "3/3" in notes and "1/3" in notes
    assert "best val" in fig.axes[0].get_ylabel()


def test_curves_name_cells_by_their_values_and_note_diverged_runs(synthetic_claims):
    fig = figure(synthetic_claims, "curves-learning_rate-train_loss")
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "norm=batchnorm lr=0.1" in labels
    assert "norm=none lr=1 (1/3 diverged)" in labels
    assert fig.axes[0].get_yscale() == "log"
    assert figure(synthetic_claims, "curves-learning_rate-test_acc").axes[0].get_yscale() == "linear"


def test_ics_has_a_panel_per_layer_from_zero(synthetic_claims):
    axes = [ax for ax in figure(synthetic_claims, "ics-covariate_shift").axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["layer h1", "layer h2", "layer h3", "layer out"]
    assert all(ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0 for ax in axes)


def test_colour_follows_the_norm_and_many_cells_stay_apart(synthetic_claims):
    section = synthetic_claims["sections"][0]
    cells = [cell for cell in synthetic_claims["cells"] if cell["section"] == "learning_rate"]
    styles = cell_styles(section, cells)
    assert len({(style.colour, style.linestyle) for style in styles}) == len(cells) == 14
    assert styles[0].colour == norm_colour("none") and styles[7].colour == norm_colour("batchnorm")
    assert norm_colour("batchnorm") != norm_colour("torch_batchnorm") != norm_colour("none")


def test_rendering_from_many_threads_at_once_gives_the_same_bytes(synthetic_claims):
    names = ["lr-learning_rate", "curves-learning_rate-train_loss", "cost-cost", "activations-fig1"] * 2
    alone = {name: render(synthetic_claims, name, "png") for name in names}
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda name: render(synthetic_claims, name, "png"), names))
    assert together == [alone[name] for name in names]


def test_rendering_never_touches_pyplot(synthetic_grid):
    code = (
        "import sys, json; from analysis.plots import render; "
        f"render(json.loads({json.dumps(json.dumps(synthetic_grid))}), 'curves-grid-test_acc', 'svg'); "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_a_batch_sweep_over_processes_says_each_ones_share(synthetic_claims, synthetic_grid):
    ticks = [label.get_text() for label in figure(synthetic_claims, "batch-small_batches").axes[0].get_xticklabels()]
    assert ticks == ["4\n(2 per process)", "64\n(32 per process)"]
    single = [label.get_text() for label in figure(synthetic_grid, "batch-grid").axes[0].get_xticklabels()]
    assert single == ["32", "64"]
