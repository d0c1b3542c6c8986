"""The `bnlab` command (Typer): every subcommand reads the same settings (BNLAB_* variables).

A mistake of the user's (a wrong option, a bad spec, an API that refuses or cannot be reached) ends the command with
one `error: ...` line on stderr and a non-zero status, never a traceback; a traceback means a bug.
"""

import sys
from importlib.metadata import version
from typing import Annotated

import typer

from bnlab import cli_client, cli_keys, cli_service, cli_study, cli_train
from bnlab.client_errors import ClientError

# Typer raises Click's usage errors, whose class it does not export: BadParameter's base is UsageError in every
# Typer, those that import Click and those that vendor it.
UsageError = typer.BadParameter.__base__

app = typer.Typer(
    name="bnlab",
    help="Batch-normalization experiments as a service: run it, train locally, or use it as a client.",
    add_completion=False,
    pretty_exceptions_enable=False,
)
for commands in (cli_service.commands, cli_keys.commands, cli_train.commands, cli_client.commands):
    app.add_typer(commands)
app.add_typer(cli_study.commands, name="study", rich_help_panel=cli_client.PANEL)


def show_version(wanted: bool) -> None:
    """`--version`: the installed bnlab's version, the one the API reports in its schema too."""
    if wanted:
        print(f"bnlab {version('bnlab')}")
        raise typer.Exit()


@app.callback()
def options(
    _version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Print bnlab's version and exit.")
    ] = False,
) -> None:
    """The options of `bnlab` itself, before any command."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script (and of tests, with `argv`)."""
    try:
        sys.exit(app(args=argv, prog_name="bnlab", standalone_mode=False))
    except UsageError as error:
        command = error.ctx.command_path if error.ctx else "bnlab"
        print(f"error: {error.format_message()} (`{command} --help` shows the usage)", file=sys.stderr)
        sys.exit(error.exit_code)
    except ClientError as error:
        sys.exit(f"error: {error}")
