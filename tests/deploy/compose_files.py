"""The deployment files as the checks read them: the compose file's services, the Dockerfile's steps, the README's
commands."""

import os
import re
import shlex
from pathlib import Path

import yaml

from tests.bnlab.conftest import bnlab

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
README = ROOT / "README.md"
ENV_EXAMPLE = ROOT / ".env.example"


def services() -> dict[str, dict]:
    """docker-compose.yml's services, anchors and merge keys resolved as Compose resolves them."""
    return yaml.safe_load(COMPOSE.read_text())["services"]


def bnlab_services() -> dict[str, dict]:
    """The services that run the project's own image (built from the Dockerfile)."""
    return {name: service for name, service in services().items() if "build" in service}


def dockerfile_steps() -> list[tuple[str, str]]:
    """(instruction, arguments) of each Dockerfile line, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [tuple(line.split(None, 1)) for line in lines]


def readme_blocks() -> list[str]:
    """The README's bash code blocks, in order."""
    return re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)


def compose_commands() -> list[list[str]]:
    """Every `docker compose run|exec ... SERVICE COMMAND...` the README gives, as argv from SERVICE on."""
    found = []
    for command in re.findall(r"docker compose (?:run|exec) ([^`\n&|<>#]+)", README.read_text()):
        words = shlex.split(command)
        service = next(index for index, word in enumerate(words) if not word.startswith("-"))  # after --rm, -T
        found.append(words[service:])
    return found


def interpolated() -> set[str]:
    """The variables the compose file takes from the environment (`${NAME}`, `${NAME:-default}`, `${NAME:?why}`)."""
    return set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))


def env_example_names() -> set[str]:
    """The variables .env.example documents, set or commented out."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), flags=re.M))


def assert_bnlab_command(argv: list[str]) -> None:
    """`argv` is a command of the installed `bnlab` entry point, its options as they stand: with --help appended
    the real console script parses them all (an unknown command or option exits 2) and runs nothing."""
    assert argv[0] == "bnlab", f"{argv} does not start with the bnlab entry point"
    result = bnlab(*argv[1:], "--help", env=os.environ)
    assert result.returncode == 0, f"{argv}: {result.stderr.strip()}"
