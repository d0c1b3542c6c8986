"""Files a user hands to a command (job specs, study files): read and checked, each problem one line to act on."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from contracts.spec import JobSpec

SPEC_HINT = "; `bnlab spec example > spec.json` writes one to start from"
SpecFile = Annotated[
    Path,
    typer.Argument(metavar="SPEC", help="job spec JSON file (`bnlab spec example` writes one)", show_default=False),
]


def read_text(path: Path, kind: str, hint: str = "") -> str:
    """The file's text, or the command ends saying why it cannot be read."""
    try:
        return path.read_text()
    except FileNotFoundError:
        sys.exit(f"error: no {kind} file at {path}{hint}")
    except UnicodeDecodeError:
        sys.exit(f"error: the {kind} file {path} is not UTF-8 text")
    except OSError as error:
        sys.exit(f"error: cannot read the {kind} file {path}: {error.strerror}")


def load_spec(path: Path, name: str | None = None) -> JobSpec:
    """A valid job spec from the file (its name replaced by `name`); problems end the command saying what to change."""
    text = read_text(path, "spec", SPEC_HINT)
    try:
        spec = JobSpec.model_validate_json(text)
        return spec if name is None else JobSpec.model_validate({**spec.model_dump(), "name": name})
    except ValidationError as error:
        lines = [f"  {'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in error.errors()]
        sys.exit(f"error: {path} is not a valid job spec:\n" + "\n".join(lines))


def load_object(path: Path, kind: str) -> dict[str, Any]:
    """A JSON object from the file (the API checks its fields)."""
    try:
        value = json.loads(read_text(path, kind))
    except json.JSONDecodeError as error:
        sys.exit(f"error: the {kind} file {path} is not JSON: {error}")
    if not isinstance(value, dict):
        sys.exit(f"error: the {kind} file {path} must hold a JSON object")
    return value
