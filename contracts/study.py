"""Studies: a grid over dotted spec paths and seeds, expanded into validated job specs before anything is stored.

A study is one or more sections, each a base spec and a grid; a cell is one combination of grid values,
trained once per seed. A user's grid study has the one section `grid`; the presets have several.
"""

import copy
import itertools
from dataclasses import dataclass, field
from math import prod
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from contracts.spec import MAX_SEED, JobSpec, Printable

MAX_STUDY_JOBS = 500
MAX_SEEDS = 20
SEED_PATH = "training.seed"
GRID_SECTION = "grid"

JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]
StudyTag = Annotated[Printable, Field(min_length=1, max_length=64)]


class StudyInvalid(ValueError):
    """A generated spec (or the grid itself) is invalid: names the cell and the field, so the user knows what to fix.

    An empty field is the spec as a whole (a rule across fields, whose message names them)."""

    def __init__(self, field: str, message: str, cell: dict[str, Any] | None = None):
        self.field, self.message, self.cell = field, message, cell
        where = f" in cell {cell}" if cell is not None else ""
        super().__init__(f"{field or 'spec'}: {message}{where}")


class _Strict(BaseModel):
    """Unknown fields are typos: rejected."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class GridStudy(_Strict):
    """A grid study: every combination of the grid's values, trained once per seed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "does BN allow higher learning rates?",
                    "base": {"dataset": {"name": "mnist1d"}, "training": {"steps": 500}},
                    "grid": {"model.norm": ["none", "batchnorm"], "optimizer.lr": [0.1, 1.0, 10.0]},
                    "seeds": [0, 1, 2],
                }
            ]
        }
    )

    name: Printable = Field("", max_length=200, description="a label for listings")
    tags: list[StudyTag] = Field([], max_length=16, description="added to the tags of every job of the study")
    base: dict[str, Any] = Field({}, description="a job spec (JSON) the grid varies; unset fields take defaults")
    grid: dict[str, list[JsonValue]] = Field(
        {}, description='dotted spec path -> the values it takes, e.g. {"optimizer.lr": [0.1, 1.0]}'
    )
    seeds: list[Annotated[int, Field(ge=0, le=MAX_SEED)]] = Field(
        [0], min_length=1, max_length=MAX_SEEDS, description="each cell is trained once per seed (training.seed)"
    )
    baseline: dict[str, JsonValue] | None = Field(
        None,
        description="grid values of the cells others are compared with, on the axes named here (the other axes "
        "match); default: the first value of the first axis",
    )

    @field_validator("grid")
    @classmethod
    def _axes_have_values(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in grid.items():
            if not values:
                raise ValueError(f"grid axis {path!r} has no values: give it at least one")
            if path == SEED_PATH:
                raise ValueError("training.seed is set by `seeds`: list the seeds there instead of in the grid")
        return grid

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct, got {seeds}")
        return seeds


class PresetStudy(_Strict):
    """A whole experiment by name: `claims` tests the seven claims about batch norm, `paper-fig1` redoes Figure 1."""

    preset: Literal["claims", "paper-fig1"] = Field(description="which experiment")
    scale: float = Field(1.0, ge=0.01, le=10, description="multiplies the training steps: < 1 is quicker, > 1 longer")
    name: Printable = Field("", max_length=200, description="a label for listings (default: the preset's)")
    tags: list[StudyTag] = Field([], max_length=16, description="added to the tags of every job of the study")


# pydantic puts the tag of a discriminated union into an error's location; names no field can have, so that
# an error report can drop them (body.preset rather than body.preset.preset).
GRID_KIND, PRESET_KIND = "grid study", "preset study"
STUDY_KINDS = (GRID_KIND, PRESET_KIND)


def _kind(body: Any) -> str:
    """A body naming a preset is a preset study; anything else a grid study."""
    return PRESET_KIND if isinstance(body, dict) and "preset" in body else GRID_KIND


StudyRequest = Annotated[
    Annotated[GridStudy, Tag(GRID_KIND)] | Annotated[PresetStudy, Tag(PRESET_KIND)], Discriminator(_kind)
]


@dataclass(frozen=True)
class Section:
    """A base spec and its grid; a preset's section also says which claim it serves."""

    name: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    baseline: dict[str, Any] | None = None


@dataclass(frozen=True)
class PlannedCell:
    """One combination of grid values, and its job spec for each seed."""

    section: str
    values: dict[str, Any]
    specs: list[JobSpec]


@dataclass(frozen=True)
class StudyPlan:
    """What a study will create, all of it validated."""

    name: str
    preset: str | None
    scale: float | None
    seeds: list[int]
    sections: list[Section]
    cells: list[PlannedCell] = field(default_factory=list)

    @property
    def jobs(self) -> int:
        return sum(len(cell.specs) for cell in self.cells)


def plan(sections: list[Section], seeds: list[int], name: str, tags: list[str], **labels: Any) -> StudyPlan:
    """Expand every section into cells and specs; StudyInvalid names the first bad cell and field."""
    total = sum(prod(len(values) for values in section.grid.values()) for section in sections) * len(seeds)
    if total > MAX_STUDY_JOBS:
        raise StudyInvalid("grid", f"the study would create {total} jobs; at most {MAX_STUDY_JOBS}: shrink the grid")
    cells = [cell for section in sections for cell in _cells(section, seeds, name, tags)]
    return StudyPlan(name, labels.get("preset"), labels.get("scale"), seeds, sections, cells)


def _cells(section: Section, seeds: list[int], study: str, tags: list[str]) -> list[PlannedCell]:
    """The section's grid combinations in order (first axis slowest), each validated for every seed."""
    paths = list(section.grid)
    cells = []
    for combination in itertools.product(*section.grid.values()):
        values = dict(zip(paths, combination, strict=True))
        specs = [_spec(section, values, seed, study, tags) for seed in seeds]
        cells.append(PlannedCell(section.name, values, specs))
    return cells


def _spec(section: Section, values: dict[str, Any], seed: int, study: str, tags: list[str]) -> JobSpec:
    """The base with the cell's values and the seed set; a job name that says which cell and seed it is."""
    body = copy.deepcopy(section.base)
    for path, value in {**values, SEED_PATH: seed}.items():
        _set(body, path, value, values)
    label = " ".join(f"{path.rsplit('.', 1)[-1]}={value}" for path, value in values.items())
    body["name"] = " ".join(part for part in (study, label, f"seed={seed}") if part)[:200]
    body["tags"] = list(dict.fromkeys([*body.get("tags", []), *tags]))
    try:
        return JobSpec.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise StudyInvalid(".".join(map(str, first["loc"])), message, values) from None


def _set(body: dict[str, Any], path: str, value: Any, cell: dict[str, Any]) -> None:
    """Assign `value` at the dotted path, creating the sections on the way; a path through a non-object fails."""
    *parents, leaf = path.split(".")
    node = body
    for index, key in enumerate(parents):
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            prefix = ".".join(parents[: index + 1])
            raise StudyInvalid(path, f"{prefix} is not an object, so it has no field {leaf!r}", cell)
    node[leaf] = value


def baseline_of(section: Section) -> dict[str, Any]:
    """The grid values of the baseline: as given, or the first value of the first axis."""
    if section.baseline is not None:
        return section.baseline
    first = next(iter(section.grid), None)
    return {} if first is None else {first: section.grid[first][0]}


def check_baseline(section: Section) -> None:
    """A baseline must name grid axes and values they take, or no cell could be compared with it."""
    for path, value in baseline_of(section).items():
        if path not in section.grid:
            raise StudyInvalid(f"baseline.{path}", f"is not an axis of the grid (axes: {', '.join(section.grid)})")
        if value not in section.grid[path]:
            raise StudyInvalid(f"baseline.{path}", f"{value!r} is not one of the grid's values {section.grid[path]}")


def grid_plan(request: GridStudy) -> StudyPlan:
    """A user's grid study: one section."""
    section = Section(GRID_SECTION, request.base, request.grid, request.baseline)
    check_baseline(section)
    return plan([section], request.seeds, request.name, request.tags)


__all__ = [
    "MAX_STUDY_JOBS",
    "STUDY_KINDS",
    "GridStudy",
    "PlannedCell",
    "PresetStudy",
    "Section",
    "StudyInvalid",
    "StudyPlan",
    "StudyRequest",
    "baseline_of",
    "grid_plan",
    "plan",
]
