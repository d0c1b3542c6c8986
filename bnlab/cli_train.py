"""`bnlab train` and `bnlab spec example`: a spec trained in this process, no service; the spec to start from."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bnlab import run_folder
from bnlab.inputs import SpecFile, load_spec
from contracts.settings import Settings
from contracts.spec import CANONICAL_EXAMPLE

PANEL = "Local runs (no service)"

commands = typer.Typer()
spec_commands = typer.Typer(help="Job spec helpers.")
commands.add_typer(spec_commands, name="spec", rich_help_panel=PANEL)


@commands.command(rich_help_panel=PANEL)
def train(
    spec_file: SpecFile,
    out: Annotated[
        Path | None, typer.Option(help="output folder (default bnlab-runs/<spec name>)", show_default=False)
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue from OUT/checkpoint.pt if present")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="start afresh in OUT, replacing the finished run there")
    ] = False,
) -> None:
    """Train a spec locally: a progress bar, the metrics in OUT, the summary as JSON on stdout."""
    spec = load_spec(spec_file)
    out = out or Path("bnlab-runs") / (spec.name or spec_file.stem)
    run_folder.prepare(out, resume, force)
    from bnlab.local_run import run_locally  # torch loads only once the spec is known to be valid

    try:
        summary = run_locally(spec, out, Settings().data_dir, resume)
    except ValueError as error:  # data that cannot be loaded or batched, a checkpoint of another spec
        sys.exit(f"error: {error}")
    print(json.dumps(summary.to_dict(), indent=2))


@spec_commands.command()
def example() -> None:
    """Print the canonical spec, ready to edit."""
    print(json.dumps(CANONICAL_EXAMPLE, indent=2))
