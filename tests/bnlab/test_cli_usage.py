"""Usage mistakes end with one `error: ...` line naming the help to read, never a traceback; --help lists all."""

from importlib.metadata import version

import pytest

from tests.bnlab.conftest import bnlab

COMMANDS = ["serve", "api", "worker", "migrate", "keys", "train", "spec", "submit", "watch", "compare", "jobs", "study"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "Missing command. (`bnlab --help`"),
        (["trian"], "No such command 'trian'. Did you mean 'train'?"),
        (["train"], "Missing argument 'SPEC'. (`bnlab train --help`"),
        (["keys", "create"], "Missing option '--name'. (`bnlab keys create --help`"),
        (["serve", "--workers", "0"], "Invalid value for '--workers'"),
        (["jobs", "--limit", "many"], "Invalid value for '--limit'"),
    ],
)
def test_a_usage_mistake_is_one_line(env, args, says):
    result = bnlab(*args, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert says in result.stderr


def test_help_lists_every_command(env):
    result = bnlab("--help", env={**env, "COLUMNS": "200"})
    assert result.returncode == 0
    assert all(f" {command} " in result.stdout for command in COMMANDS)


def test_version_prints_the_installed_version(env):
    result = bnlab("--version", env=env)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"bnlab {version('bnlab')}\n", "")


def test_version_comes_before_any_command(env):
    result = bnlab("--version", "train", env=env)  # eager: the command is neither run nor checked
    assert (result.returncode, result.stdout) == (0, f"bnlab {version('bnlab')}\n")
