"""The `bnlab` command: every subcommand reads the same settings (BNLAB_* variables)."""

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from bnlab import cli_keys, cli_service
from contracts.settings import Settings
from contracts.spec import CANONICAL_EXAMPLE, JobSpec


def load_spec(path: Path) -> JobSpec:
    """Read and validate a spec file; problems end the command with a message saying what to change."""
    try:
        return JobSpec.model_validate_json(path.read_text())
    except FileNotFoundError:
        sys.exit(f"error: no spec file at {path}; `bnlab spec example > spec.json` writes one to start from")
    except ValidationError as error:
        lines = [f"  {'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in error.errors()]
        sys.exit(f"error: {path} is not a valid job spec:\n" + "\n".join(lines))


def cmd_train(args: argparse.Namespace) -> None:
    """Train locally, no service: progress bar, metrics in --out, the summary as JSON on stdout."""
    spec = load_spec(args.spec)
    from bnlab.local_run import run_locally  # torch loads only once the spec is known to be valid

    out = args.out or Path("bnlab-runs") / (spec.name or args.spec.stem)
    try:
        summary = run_locally(spec, out, Settings().data_dir, args.resume)
    except ValueError as error:  # data that cannot be loaded or batched, a checkpoint of another spec
        sys.exit(f"error: {error}")
    print(json.dumps(summary.to_dict(), indent=2))


def cmd_spec_example(_: argparse.Namespace) -> None:
    """The canonical spec, ready to edit."""
    print(json.dumps(CANONICAL_EXAMPLE, indent=2))


def build_parser() -> argparse.ArgumentParser:
    """Subcommands and their options."""
    parser = argparse.ArgumentParser(prog="bnlab", description="Batch-normalization experiments as a service.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a spec locally (no service)")
    train.add_argument("spec", type=Path, help="job spec JSON file")
    train.add_argument("--out", type=Path, help="output folder (default bnlab-runs/<spec name>)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if present")
    train.set_defaults(func=cmd_train)
    spec = commands.add_parser("spec", help="job spec helpers").add_subparsers(dest="spec_command", required=True)
    spec.add_parser("example", help="print the canonical spec").set_defaults(func=cmd_spec_example)
    cli_keys.add_parsers(commands)
    cli_service.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    args.func(args)
