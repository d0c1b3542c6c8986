"""Studies expand into validated specs: grid order, seeds, names, errors that name the cell and the field."""

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.presets import CLAIM_SECTIONS, SEEDS, preset_plan
from contracts.study import MAX_STUDY_JOBS, GridStudy, PresetStudy, StudyInvalid, StudyRequest, grid_plan

REQUEST = TypeAdapter(StudyRequest)


def grid(**body) -> GridStudy:
    """A grid study from keyword fields."""
    return GridStudy.model_validate(body)


def test_a_grid_expands_first_axis_slowest_with_one_spec_per_seed():
    plan = grid(
        name="lr",
        base={"training": {"steps": 50}},
        grid={"model.norm": ["none", "batchnorm"], "optimizer.lr": [0.1, 1.0]},
        seeds=[3, 4],
        tags=["mine"],
    ).model_dump()
    made = grid_plan(GridStudy.model_validate(plan))
    assert [cell.values for cell in made.cells] == [
        {"model.norm": "none", "optimizer.lr": 0.1},
        {"model.norm": "none", "optimizer.lr": 1.0},
        {"model.norm": "batchnorm", "optimizer.lr": 0.1},
        {"model.norm": "batchnorm", "optimizer.lr": 1.0},
    ]
    assert made.jobs == 8
    spec = made.cells[2].specs[1]
    assert (spec.model.norm, spec.optimizer.lr, spec.training.seed, spec.training.steps) == ("batchnorm", 0.1, 4, 50)
    assert spec.name == "lr norm=batchnorm lr=0.1 seed=4" and spec.tags == ["mine"]


def test_a_dotted_path_creates_the_sections_it_crosses():
    made = grid_plan(grid(grid={"model.init.scale": [0.5]}))
    assert made.cells[0].specs[0].model.init.scale == 0.5


def test_an_invalid_cell_is_named_with_its_field():
    study = grid(grid={"model.norm": ["none", "groupnorm"]}, base={"model": {"hidden": [100]}})
    with pytest.raises(StudyInvalid) as raised:
        grid_plan(study)
    assert raised.value.cell == {"model.norm": "groupnorm"}
    assert "groups" in raised.value.message


def test_an_unknown_path_is_named():
    with pytest.raises(StudyInvalid) as raised:
        grid_plan(grid(grid={"model.nrm": ["none"]}))
    assert raised.value.field == "model.nrm"


def test_a_path_through_a_value_that_is_not_an_object_fails():
    with pytest.raises(StudyInvalid, match=r"model\.norm is not an object"):
        grid_plan(grid(base={"model": {"norm": "none"}}, grid={"model.norm.kind": ["x"]}))


def test_a_study_past_the_cap_is_refused_before_expanding():
    values = list(range(1, MAX_STUDY_JOBS + 2))
    with pytest.raises(StudyInvalid, match=f"{MAX_STUDY_JOBS + 1} jobs; at most {MAX_STUDY_JOBS}"):
        grid_plan(grid(grid={"training.steps": values}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"grid": {"optimizer.lr": []}}, "has no values"),
        ({"grid": {"training.seed": [1, 2]}}, "list the seeds there"),
        ({"seeds": [1, 1]}, "distinct"),
        ({"seeds": []}, "at least 1"),
        ({"grdi": {}}, "Extra inputs"),
    ],
)
def test_bad_grid_bodies_are_rejected(body, message):
    with pytest.raises(ValidationError, match=message):
        REQUEST.validate_python(body)


def test_a_baseline_must_name_an_axis_and_one_of_its_values():
    with pytest.raises(StudyInvalid, match="not an axis"):
        grid_plan(grid(grid={"model.norm": ["none"]}, baseline={"optimizer.lr": 1}))
    with pytest.raises(StudyInvalid, match="not one of"):
        grid_plan(grid(grid={"model.norm": ["none"]}, baseline={"model.norm": "batchnorm"}))


def test_a_body_with_a_preset_is_a_preset_study():
    assert isinstance(REQUEST.validate_python({"preset": "claims", "scale": 0.5}), PresetStudy)
    with pytest.raises(ValidationError, match="'claims' or 'paper-fig1'"):
        REQUEST.validate_python({"preset": "nope"})


def test_the_claims_preset_covers_every_claim_with_three_seeds_and_validation():
    made = preset_plan(PresetStudy(preset="claims"))
    sections = {section.name for section in made.sections}
    assert sections == {name for names in CLAIM_SECTIONS.values() for name in names}
    assert made.seeds == SEEDS and made.jobs <= MAX_STUDY_JOBS
    for cell in made.cells:
        assert cell.values["model.norm"] in (
            "none",
            "batchnorm",
            "torch_batchnorm",
            "sync_batchnorm",
            "ghost_batchnorm",
        )
        if cell.section != "cost":
            assert cell.specs[0].training.validation_split > 0
    lrs = {cell.values["optimizer.lr"] for cell in made.cells if cell.section == "learning_rate"}
    assert max(lrs) / min(lrs) >= 100  # at least two decades
    datasets = {cell.specs[0].dataset.name for cell in made.cells}
    assert datasets == {"mnist1d", "digits"}


def test_scale_multiplies_the_steps():
    small, large = (preset_plan(PresetStudy(preset="paper-fig1", scale=scale)) for scale in (0.1, 2.0))
    assert small.cells[0].specs[0].training.steps == 300
    assert large.cells[0].specs[0].training.steps == 6000
    assert large.cells[0].specs[0].training.track_activations
    assert small.name == "Ioffe & Szegedy 2015, Figure 1 (scale 0.1)"


def test_small_batches_trains_every_norm_over_two_processes_at_a_tiny_and_a_large_share():
    made = preset_plan(PresetStudy(preset="claims"))
    cells = [cell for cell in made.cells if cell.section == "small_batches"]
    shares = {
        (cell.values["model.norm"], spec.training.batch_size // spec.training.processes)
        for cell in cells
        for spec in cell.specs
    }
    norms = {"none", "batchnorm", "sync_batchnorm", "ghost_batchnorm"}
    assert shares == {(norm, share) for norm in norms for share in (2, 32)}
    assert {spec.model.norm_options.virtual_batch_size for cell in cells for spec in cell.specs} == {2}
    assert all(spec.training.processes == 2 and not spec.training.track_ics for cell in cells for spec in cell.specs)
