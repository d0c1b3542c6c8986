"""The job spec: the one contract between the API and the engine (validated here, executed there).

Pure pydantic, no torch: the API validates with it, the engine trains from it, the database stores
it as JSON. Every field has a default except none; the canonical example is accepted as written.
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contracts.datasets import DATASETS
from contracts.limits import LIMITS, check_limits

NormKind = Literal[
    "none",
    "batchnorm",
    "torch_batchnorm",
    "sync_batchnorm",
    "ghost_batchnorm",
    "batch_renorm",
    "layernorm",
    "groupnorm",
]
# Norms whose training-mode output depends on the other examples of the batch.
BATCH_STAT_NORMS = ("batchnorm", "torch_batchnorm", "sync_batchnorm", "ghost_batchnorm", "batch_renorm")

CANONICAL_EXAMPLE = {
    "name": "fig1-sigmoid-bn",
    "tags": ["fig1"],
    "dataset": {"name": "mnist1d"},
    "model": {
        "arch": "mlp",
        "hidden": [100, 100, 100],
        "activation": "sigmoid",
        "norm": "batchnorm",
        "dropout": 0.0,
        "init": {"scheme": "normal", "std": 1.0},
    },
    "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.0, "weight_decay": 0.0},
    "training": {"steps": 3000, "batch_size": 60, "eval_every": 100, "seed": 0},
}

PositiveInt = Annotated[int, Field(ge=1)]
MAX_SEED = 2**31 - 1  # the jobs table keeps the seed in a 32-bit column


def _printable(text: str) -> str:
    """PostgreSQL cannot store NUL, a control character in a name or tag is always a mistake, and a lone surrogate
    (JSON's "\\ud800") is no character at all: UTF-8, hence the database, cannot hold it."""
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError("must not contain control characters (such as NUL or a newline)")
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise ValueError("must not contain lone surrogates (U+D800 to U+DFFF): send characters, not halves of one")
    return text


Printable = Annotated[str, AfterValidator(_printable)]


class _Strict(BaseModel):
    """Unknown fields are mistakes (a typo would silently train something else), so they are rejected."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)


class DatasetSpec(_Strict):
    """Which data to train on; synthetic sets are generated from `seed`."""

    name: Literal[tuple(DATASETS)] = Field("mnist1d", description="dataset: " + ", ".join(DATASETS))
    train_size: PositiveInt | None = Field(None, description="use only the first N training examples")
    test_size: PositiveInt | None = Field(None, description="use only the first N test examples")
    noise: float = Field(0.2, ge=0, le=10, description="spirals/blobs: noise level of the generated points")
    seed: int = Field(0, ge=0, description="spirals/blobs: seed of the generator")


class InitSpec(_Strict):
    """How Linear/Conv weights start; biases start at zero for every scheme but `default`."""

    scheme: Literal["default", "kaiming", "xavier", "normal", "uniform", "orthogonal"] = Field(
        "default", description="default = PyTorch's own initialization"
    )
    std: float = Field(1.0, gt=0, le=100, description="normal: standard deviation")
    a: float = Field(1.0, gt=0, le=100, description="uniform: weights drawn from U(-a, a)")
    scale: float = Field(1.0, gt=0, le=100, description="multiplies the initial weights (gain)")


class NormOptions(_Strict):
    """Knobs of the normalization layers; each kind reads the ones that concern it."""

    momentum: float | None = Field(0.1, ge=0, le=1, description="running-average momentum; null = cumulative")
    eps: float = Field(1e-5, gt=0, le=1, description="added to the variance inside the square root")
    position: Literal["before", "after"] = Field("before", description="norm before or after the activation")
    affine: bool = Field(True, description="learnable scale and shift")
    virtual_batch_size: int = Field(32, ge=2, description="ghost_batchnorm: samples per virtual batch")
    rmax: float = Field(3.0, ge=1, le=100, description="batch_renorm: r is clipped to [1/rmax, rmax]")
    dmax: float = Field(5.0, ge=0, le=100, description="batch_renorm: d is clipped to [-dmax, dmax]")
    warmup: int = Field(0, ge=0, description="batch_renorm: steps over which rmax/dmax ramp up from 1/0")
    groups: int = Field(8, ge=1, description="groupnorm: channel groups (must divide every width)")


class ModelSpec(_Strict):
    """The network; `norm` is the batch-norm switch."""

    arch: Literal["mlp", "cnn", "resnet"] = Field("mlp", description="network family")
    hidden: list[PositiveInt] = Field([100, 100, 100], description="mlp: hidden layer widths")
    channels: list[PositiveInt] = Field([32, 64], description="cnn: channels of each conv layer")
    kernel_size: int = Field(3, ge=1, le=15, description="cnn: convolution kernel size (odd keeps the size)")
    pool: Literal["max", "avg", "none"] = Field("max", description="cnn: 2x pooling after each conv layer")
    stages: list[PositiveInt] = Field([16, 32, 64], description="resnet: width of each stage")
    blocks: int = Field(2, ge=1, description="resnet: residual blocks per stage")
    activation: Literal["relu", "sigmoid", "tanh", "gelu", "leaky_relu", "elu", "identity"] = Field(
        "relu", description="the nonlinearity of every hidden layer"
    )
    norm: NormKind = Field(
        "batchnorm",
        description="none switches normalization off; with training.processes > 1, batchnorm normalizes each "
        "process's share of the batch by its own statistics (the usual DDP behaviour), sync_batchnorm by the "
        "statistics of the whole batch across the processes",
    )
    norm_options: NormOptions = Field(NormOptions(), description="knobs of the normalization layers")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout probability after each hidden block")
    init: InitSpec = Field(InitSpec(), description="how Linear/Conv weights are initialized")

    def widths(self) -> list[int]:
        """The widths the norm layers see, for the architecture in use."""
        return {"mlp": self.hidden, "cnn": self.channels, "resnet": self.stages}[self.arch]


class OptimizerSpec(_Strict):
    """The optimizer and its hyper-parameters."""

    name: Literal["sgd", "adam", "adamw", "rmsprop"] = Field("sgd", description="optimizer")
    lr: float = Field(0.1, gt=0, le=100, description="base learning rate")
    momentum: float = Field(0.0, ge=0, lt=1, description="sgd/rmsprop momentum")
    nesterov: bool = Field(False, description="sgd: Nesterov momentum (needs momentum > 0)")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 penalty (decoupled for adamw)")
    betas: tuple[float, float] = Field((0.9, 0.999), description="adam/adamw: moment decay rates")

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self):
        if self.nesterov and (self.name != "sgd" or self.momentum == 0):
            raise ValueError("nesterov needs optimizer.name 'sgd' and momentum > 0; set nesterov to false")
        if not all(0 <= beta < 1 for beta in self.betas):
            raise ValueError(f"betas must each be in [0, 1), got {list(self.betas)}")
        return self


class ScheduleSpec(_Strict):
    """How the learning rate moves: a linear warm-up, then constant, step decay or cosine."""

    name: Literal["constant", "step", "cosine"] = Field("constant", description="the decay after warm-up")
    warmup_steps: int = Field(0, ge=0, description="linear warm-up from 0 to lr over these steps")
    step_size: PositiveInt = Field(1000, description="step: multiply lr by gamma every step_size steps")
    gamma: float = Field(0.1, gt=0, le=1, description="step: decay factor")
    min_lr: float = Field(0.0, ge=0, description="cosine: the final learning rate")


class TrainingSpec(_Strict):
    """Length, batching, evaluation, checkpoints, reproducibility."""

    steps: PositiveInt = Field(1000, description="optimizer steps")
    batch_size: PositiveInt = Field(64, description="examples per optimizer step")
    eval_every: PositiveInt = Field(100, description="evaluate and record metrics every N steps")
    eval_size: PositiveInt | None = Field(None, description="evaluate on at most N test examples")
    checkpoint_every: int = Field(0, ge=0, description="save a resumable checkpoint every N steps; 0 = never")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seeds initialization, data order and dropout")
    grad_clip: float | None = Field(None, gt=0, description="clip the global gradient norm to this value")
    validation_split: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="hold out this fraction of the training examples (the last ones, after dataset.train_size; "
        "rounded to the nearest example) as a validation set that is never trained on and gives no "
        "standardization statistics; val_loss/val_acc are then logged at every evaluation; 0 = none",
    )
    target_accuracy: float | None = Field(
        None,
        gt=0,
        le=1,
        description="accuracy that counts as reached (steps_to_target): validation accuracy when "
        "validation_split > 0, else test accuracy",
    )
    early_stop: bool = Field(
        False,
        description="stop once target_accuracy is reached (by validation accuracy when validation_split > 0, "
        "else by test accuracy)",
    )
    track_activations: bool = Field(False, description="record percentiles of each nonlinearity's input")
    track_ics: bool = Field(
        False,
        description="at every evaluation step, record each weight layer's internal covariate shift (Santurkar et "
        "al. 2018, section 2.2): the L2 distance and cosine between its gradient and its gradient on the same "
        "batch after the layers below it took the step's update; the training itself is unchanged",
    )
    measure_inference: bool = Field(
        False,
        description="at the end of a finite run, time the eval-mode forward pass over the evaluation inputs "
        "(CPU microseconds per example), and again with batch norm folded into the layers when bn.fold can",
    )
    threads: int = Field(1, ge=1, le=64, description="torch CPU threads (results are reproducible per count)")
    processes: int = Field(
        1,
        ge=1,
        le=16,
        description="train as this many ranks of one torch.distributed group (DistributedDataParallel), each on "
        "batch_size / processes examples of every batch; each rank uses `threads` threads",
    )
    device: Literal["cpu", "cuda", "auto"] = Field(
        "cpu",
        description="where the job trains: cpu, cuda (a worker with a GPU), or auto (cuda when the worker has it)",
    )


class JobSpec(_Strict):
    """A training job: data, model, optimizer, schedule and training loop."""

    model_config = ConfigDict(json_schema_extra={"examples": [CANONICAL_EXAMPLE]})

    name: Printable = Field("", max_length=200, description="a label for listings and comparisons")
    tags: list[Annotated[Printable, Field(min_length=1, max_length=64)]] = Field(
        [], max_length=32, description="labels to filter jobs by (GET /v1/jobs?tag=...)"
    )
    dataset: DatasetSpec = Field(DatasetSpec(), description="the data")
    model: ModelSpec = Field(ModelSpec(), description="the network and its normalization")
    optimizer: OptimizerSpec = Field(OptimizerSpec(), description="optimizer and learning rate")
    schedule: ScheduleSpec = Field(ScheduleSpec(), description="learning-rate schedule")
    training: TrainingSpec = Field(TrainingSpec(), description="loop length, evaluation, checkpoints, seed")

    @model_validator(mode="after")
    def _fits_together(self):
        check_consistency(self)
        check_limits(self)
        return self


def check_consistency(spec: JobSpec) -> None:
    """Cross-field rules: each message names the field to change."""
    info, model = DATASETS[spec.dataset.name], spec.model
    if info.is_vector and model.arch != "mlp":
        raise ValueError(f"dataset {spec.dataset.name} holds 2-D points, not signals or images: use model.arch 'mlp'")
    if model.norm in BATCH_STAT_NORMS and spec.training.batch_size < 2:
        raise ValueError(
            f"norm {model.norm} normalizes with batch statistics, which need more than one value per channel: "
            "use training.batch_size >= 2, or norm 'layernorm', 'groupnorm' or 'none'"
        )
    check_processes(spec)
    if model.norm == "groupnorm":
        bad = [width for width in model.widths() if width % model.norm_options.groups]
        if bad:
            raise ValueError(f"norm_options.groups={model.norm_options.groups} must divide every width; {bad} do not")
    if model.norm == "ghost_batchnorm":
        per_rank = spec.training.batch_size // spec.training.processes
        if model.norm_options.virtual_batch_size > per_rank:
            where = "training.batch_size" if spec.training.processes == 1 else "training.batch_size / processes"
            raise ValueError(f"norm_options.virtual_batch_size must not exceed {where} ({per_rank})")
        if model.norm_options.momentum is None:
            raise ValueError("ghost_batchnorm updates its running averages per virtual batch: set a float momentum")


def check_processes(spec: JobSpec) -> None:
    """A batch splits evenly over the ranks, and each rank still has a batch its norm can normalize."""
    training, norm = spec.training, spec.model.norm
    if training.batch_size % training.processes:
        raise ValueError(
            f"training.batch_size ({training.batch_size}) must be divisible by training.processes "
            f"({training.processes}): each process trains on an equal share of every batch"
        )
    per_rank = training.batch_size // training.processes
    if training.processes > 1 and norm in ("batchnorm", "torch_batchnorm", "batch_renorm") and per_rank < 2:
        raise ValueError(
            f"norm {norm} normalizes each process's {per_rank} example(s) by their own statistics, which needs 2 "
            "or more: raise training.batch_size, lower training.processes, or use norm 'sync_batchnorm'"
        )
    if training.processes > 1 and training.track_ics:
        raise ValueError("training.track_ics is measured in one process: set training.processes to 1")


__all__ = ["BATCH_STAT_NORMS", "CANONICAL_EXAMPLE", "LIMITS", "JobSpec"]
