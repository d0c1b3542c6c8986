"""docker-compose.yml, checked on every run without starting it (tests/deploy/test_compose_stack.py starts it):
valid against the Compose Specification, every command a real entry point of bnlab, every setting documented."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from contracts.settings import Settings
from tests.deploy.compose_files import (
    COMPOSE,
    ENV_EXAMPLE,
    assert_bnlab_command,
    bnlab_services,
    compose_commands,
    env_example_names,
    interpolated,
    services,
)

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def validate(compose_file: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with the Compose Specification's schema that it ships (no network needed)."""
    command = [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(compose_file)]
    return subprocess.run(command, capture_output=True, text=True)


def test_the_compose_file_follows_the_compose_specification():
    result = validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_compose_file(tmp_path):
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "when_it_feels_like_it"
    broken["services"]["worker"]["stop_grace_period"] = {"seconds": 60}
    (tmp_path / "docker-compose.yml").write_text(json.dumps(broken))
    result = validate(tmp_path / "docker-compose.yml")
    assert result.returncode == 1 and "when_it_feels_like_it" in result.stdout


@pytest.mark.parametrize("name", sorted(bnlab_services()))
def test_every_service_of_the_image_runs_a_real_entry_point(name):
    assert_bnlab_command(bnlab_services()[name]["command"])


@pytest.mark.parametrize(
    "argv",
    [["bnlab", "api", "--hots", "0.0.0.0"], ["bnlab", "wroker"], ["bnlab", "keys", "make", "--name", "x"], ["celery"]],
)
def test_the_entry_point_check_refuses_what_bnlab_would(argv):
    with pytest.raises(AssertionError):
        assert_bnlab_command(argv)


def test_every_command_the_readme_runs_in_a_container_names_a_service_and_a_real_command():
    commands = compose_commands()
    assert ["api", "bnlab", "keys", "create", "--name", "me"] in commands
    for service, *argv in commands:
        assert service in services(), f"the README runs a command in {service}, which the compose file lacks"
        if argv[0] == "bnlab":
            assert_bnlab_command(argv)


def test_the_services_start_in_order_and_say_when_they_are_healthy():
    every = services()
    assert every["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert every["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert every["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert every["migrate"]["restart"] == "no"
    assert "/readyz" in " ".join(every["api"]["healthcheck"]["test"])
    assert {"healthcheck", "volumes"} <= set(every["postgres"]) and {"healthcheck", "volumes"} <= set(every["redis"])
    assert "--appendonly" in every["redis"]["command"]
    assert every["worker"]["stop_signal"] == "SIGTERM"  # the signal a worker hands its jobs back on
    assert "ports" not in every["worker"] and "deploy" not in every["worker"]  # nothing that stops --scale worker=N


def test_every_setting_is_documented_and_none_is_written_into_the_compose_file():
    assert interpolated() <= env_example_names(), "a ${VARIABLE} of the compose file is missing from .env.example"
    fields = {f"BNLAB_{name.upper()}" for name in Settings.model_fields}
    settings = {name for name in env_example_names() if name.startswith("BNLAB_")}
    assert settings - {"BNLAB_PORT", "BNLAB_IMAGE_TAG"} <= fields, ".env.example names a setting bnlab does not have"
    assert "POSTGRES_PASSWORD=\n" in ENV_EXAMPLE.read_text()  # empty: each deployment makes its own
    assert "${POSTGRES_PASSWORD:?" in COMPOSE.read_text()  # no default password: compose refuses without one
