"""The job spec: the canonical example, defaults, strictness, limits and cross-field rules, no torch."""

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from contracts.limits import LIMITS
from contracts.spec import BATCH_STAT_NORMS, CANONICAL_EXAMPLE, JobSpec


def rejected(data: dict) -> str:
    """Validate `data`, expect a rejection, and return its messages (without the echoed input) in one string."""
    with pytest.raises(ValidationError) as error:
        JobSpec.model_validate(data)
    return "\n".join(e["msg"] for e in error.value.errors())


def contains(whole: dict, part: dict) -> bool:
    """Every key of `part` is in `whole` with the same value (recursively for nested dicts)."""
    return all(
        contains(whole[key], value) if isinstance(value, dict) else whole.get(key) == value
        for key, value in part.items()
    )


def test_canonical_example_validates_as_written():
    spec = JobSpec.model_validate(CANONICAL_EXAMPLE)
    assert contains(spec.model_dump(mode="json"), CANONICAL_EXAMPLE)
    assert JobSpec.model_validate_json(json.dumps(CANONICAL_EXAMPLE)) == spec


def test_empty_spec_takes_the_defaults():
    assert JobSpec.model_validate({}) == JobSpec()
    assert JobSpec().model.norm == "batchnorm" and JobSpec().dataset.name == "mnist1d"


@pytest.mark.parametrize(
    "data",
    [
        {"epochs": 3},
        {"model": {"hiden": [4]}},
        {"model": {"norm_options": {"virtual_batch": 4}}},
        {"training": {"lr": 0.1}},
    ],
    ids=["top", "model", "norm_options", "training"],
)
def test_unknown_fields_are_rejected(data):
    with pytest.raises(ValidationError) as error:
        JobSpec.model_validate(data)
    assert [e["type"] for e in error.value.errors()] == ["extra_forbidden"]


@pytest.mark.parametrize(
    ("json_text", "field"),
    [
        ('{"optimizer": {"lr": NaN}}', "lr"),
        ('{"schedule": {"min_lr": Infinity}}', "min_lr"),
        ('{"training": {"grad_clip": 1e999}}', "grad_clip"),
    ],
)
def test_nan_and_inf_are_rejected(json_text, field):
    """min_lr and grad_clip have no upper bound, so only the finiteness check stops an infinity."""
    with pytest.raises(ValidationError) as error:
        JobSpec.model_validate_json(json_text)
    assert [(e["loc"][-1], e["type"]) for e in error.value.errors()] == [(field, "finite_number")]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"model": {"hidden": [LIMITS["max_width"] + 1]}}, "model.hidden"),
        ({"model": {"arch": "cnn", "channels": [LIMITS["max_width"] + 1]}}, "model.channels"),
        ({"model": {"hidden": [4] * (LIMITS["max_layers"] + 1)}}, "model.hidden"),
        ({"model": {"arch": "resnet", "stages": [4] * 4, "blocks": 5}}, "model.blocks"),
        ({"model": {"hidden": [4000, 4000, 4000]}}, "model.hidden"),  # ~32M parameters, each width allowed
        ({"training": {"steps": LIMITS["max_steps"] + 1}}, "training.steps"),
        ({"training": {"batch_size": LIMITS["max_batch_size"] + 1}}, "training.batch_size"),
        ({"training": {"eval_size": LIMITS["max_eval_size"] + 1}}, "training.eval_size"),
    ],
    ids=["width", "channels", "layers", "resnet-layers", "params", "steps", "batch_size", "eval_size"],
)
def test_each_limit_names_the_field_to_change(data, field):
    assert field in rejected(data)


@pytest.mark.parametrize("norm", BATCH_STAT_NORMS)
def test_batch_of_one_is_rejected_with_batch_statistics(norm):
    message = rejected({"model": {"norm": norm}, "training": {"batch_size": 1}})
    assert "more than one value per channel" in message and "training.batch_size" in message


@pytest.mark.parametrize("norm", ["layernorm", "groupnorm", "none"])
def test_batch_of_one_is_accepted_without_batch_statistics(norm):
    model = {"norm": norm, "norm_options": {"groups": 4}}
    assert JobSpec.model_validate({"model": model, "training": {"batch_size": 1}}).training.batch_size == 1


@pytest.mark.parametrize("dataset", ["spirals", "blobs"])
@pytest.mark.parametrize("arch", ["cnn", "resnet"])
def test_convolutions_on_points_are_rejected(arch, dataset):
    assert "model.arch 'mlp'" in rejected({"dataset": {"name": dataset}, "model": {"arch": arch}})


def test_groupnorm_groups_must_divide_every_width():
    model = {"norm": "groupnorm", "hidden": [16, 12], "norm_options": {"groups": 8}}
    assert "norm_options.groups" in rejected({"model": model})
    assert JobSpec.model_validate({"model": {**model, "hidden": [16, 8]}}).model.hidden == [16, 8]


def test_ghost_virtual_batch_larger_than_the_batch_is_rejected():
    model = {"norm": "ghost_batchnorm", "norm_options": {"virtual_batch_size": 64}}
    assert "virtual_batch_size" in rejected({"model": model, "training": {"batch_size": 32}})


def test_ghost_needs_a_float_momentum():
    model = {"norm": "ghost_batchnorm", "norm_options": {"momentum": None, "virtual_batch_size": 8}}
    assert "momentum" in rejected({"model": model})
    assert JobSpec.model_validate({"model": {"norm_options": {"momentum": None}}}).model.norm_options.momentum is None


@pytest.mark.parametrize("optimizer", [{"nesterov": True}, {"name": "adam", "nesterov": True, "momentum": 0.9}])
def test_nesterov_needs_sgd_with_momentum(optimizer):
    assert "nesterov" in rejected({"optimizer": optimizer})


def test_json_schema_carries_the_canonical_example():
    assert JobSpec.model_json_schema()["examples"] == [CANONICAL_EXAMPLE]


def test_spec_is_imported_and_validated_without_torch():
    """The API process never loads torch, so the parameter limit is counted, not built (this model has ~0.5 G)."""
    code = (
        "import sys; from contracts.spec import JobSpec\n"
        "try: JobSpec(dataset={'name': 'cifar10'}, model={'hidden': [4096] * 32})\n"
        "except ValueError as error: print('parameters' in str(error), 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False"]


def test_every_field_is_described_for_the_api_docs():
    schema = JobSpec.model_json_schema()
    models = [("JobSpec", schema), *schema["$defs"].items()]
    missing = [f"{name}.{field}" for name, model in models for field, prop in model["properties"].items()
               if "description" not in prop]  # fmt: skip
    assert missing == []


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"name": "a\x00b"}, "name", "control characters"),
        ({"name": "tab\there"}, "name", "control characters"),
        ({"name": "half \ud800 of one"}, "name", "string"),  # pydantic's own check catches it here
        ({"tags": ["ok", "\udfff"]}, "tags", "lone surrogates"),
        ({"tags": ["\x7f"]}, "tags", "control characters"),
    ],
)
def test_names_and_tags_must_be_printable_text(data, field, words):
    with pytest.raises(ValidationError) as error:
        JobSpec.model_validate(data)
    [problem] = error.value.errors()
    assert problem["loc"][0] == field and words in problem["msg"]


def test_names_and_tags_may_be_any_other_text():
    text = "BN \u00e9t\u00e9 \u4e2d\u6587 \U0001f9ea \u200b"  # accents, CJK, an emoji (a pair in UTF-16), zero width
    spec = JobSpec.model_validate({"name": text, "tags": [text]})
    assert (spec.name, spec.tags) == (text, [text])
    assert spec.model_dump_json().encode("utf-8")


@pytest.mark.parametrize("split", [-0.1, 1.0, 1.5])
def test_validation_split_is_a_fraction_below_one(split):
    with pytest.raises(ValidationError) as error:
        JobSpec.model_validate({"training": {"validation_split": split}})
    assert [e["loc"] for e in error.value.errors()] == [("training", "validation_split")]


def test_the_claims_measurements_are_off_by_default_and_accepted():
    assert (JobSpec().training.validation_split, JobSpec().training.track_ics) == (0.0, False)
    assert JobSpec().training.measure_inference is False
    training = {"validation_split": 0.2, "track_ics": True, "measure_inference": True}
    assert JobSpec.model_validate({"training": training}).training.model_dump(include=set(training)) == training


def test_the_target_says_which_accuracy_it_is_judged_by():
    properties = JobSpec.model_json_schema()["$defs"]["TrainingSpec"]["properties"]
    assert all("validation" in properties[name]["description"] for name in ("target_accuracy", "early_stop"))


def test_one_process_on_the_cpu_is_the_default():
    training = JobSpec().training
    assert (training.processes, training.device) == (1, "cpu")


@pytest.mark.parametrize(("batch_size", "processes"), [(60, 7), (64, 3), (10, 4)])
def test_the_batch_must_split_evenly_over_the_processes(batch_size, processes):
    message = rejected({"training": {"batch_size": batch_size, "processes": processes}})
    assert f"training.batch_size ({batch_size}) must be divisible by training.processes ({processes})" in message


@pytest.mark.parametrize("norm", ["batchnorm", "torch_batchnorm", "batch_renorm"])
def test_per_process_statistics_need_two_examples_in_each_process(norm):
    message = rejected({"model": {"norm": norm}, "training": {"batch_size": 4, "processes": 4}})
    assert "each process's 1 example(s)" in message and "sync_batchnorm" in message
    synchronized = {"model": {"norm": "sync_batchnorm"}, "training": {"batch_size": 4, "processes": 4}}
    assert JobSpec.model_validate(synchronized).training.processes == 4


def test_ghost_virtual_batches_fit_in_each_process_share():
    model = {"norm": "ghost_batchnorm", "norm_options": {"virtual_batch_size": 32}}
    message = rejected({"model": model, "training": {"batch_size": 60, "processes": 2}})
    assert "virtual_batch_size must not exceed training.batch_size / processes (30)" in message
    model["norm_options"]["virtual_batch_size"] = 30
    assert JobSpec.model_validate({"model": model, "training": {"batch_size": 60, "processes": 2}})


def test_internal_covariate_shift_is_measured_in_one_process():
    assert "set training.processes to 1" in rejected({"training": {"track_ics": True, "processes": 2}})


@pytest.mark.parametrize("device", ["gpu", "cuda:0", ""])
def test_the_device_is_cpu_cuda_or_auto(device):
    assert "'cpu', 'cuda' or 'auto'" in rejected({"training": {"device": device}})
