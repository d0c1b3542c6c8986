"""The Dockerfile, checked on every run without building it (tests/deploy/test_compose_stack.py builds it): it
installs bnlab with the README's own command, runs unprivileged, and bakes in no secret and no CUDA."""

import json
import re

from tests.deploy.compose_files import ROOT, assert_bnlab_command, dockerfile_steps, readme_blocks

SECRET = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY\b", re.I)


def steps(instruction: str) -> list[str]:
    """The arguments of every `instruction` line of the Dockerfile, in order."""
    return [arguments for name, arguments in dockerfile_steps() if name == instruction]


def test_the_image_installs_bnlab_with_the_readmes_own_command():
    first = readme_blocks()[0].strip()
    install, serve = first.rsplit(" && ", 1)
    assert serve == ".venv/bin/bnlab serve"
    assert install in steps("RUN"), f"the Dockerfile does not run the README's install command: {install}"
    assert "-c constraints.txt" in install  # so the image gets the torch that constraints.txt pins, the CPU build
    assert re.search(r"^torch==2\.13\.0$", (ROOT / "constraints.txt").read_text(), re.M)


def test_the_image_takes_the_cpu_build_of_torch_and_a_debian_base_set_by_a_build_argument():
    args = dict(arguments.partition("=")[::2] for arguments in steps("ARG"))
    assert args["BASE_IMAGE"] == "debian:bookworm-slim"  # bookworm's python3 is 3.11, as pyproject requires
    assert args["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert steps("FROM") == ["${BASE_IMAGE} AS build", "${BASE_IMAGE}"]  # the build tools stay in the first stage


def test_the_image_runs_unprivileged_a_real_entry_point_and_keeps_no_secret():
    assert steps("USER") == ["bnlab"]
    names = [name for name, _ in dockerfile_steps()]
    assert "RUN" not in names[names.index("USER") :] and "COPY" not in names[names.index("USER") :]
    assert_bnlab_command(json.loads(steps("CMD")[0]))
    baked = [arguments for arguments in steps("ENV") + steps("ARG") if SECRET.search(arguments)]
    assert baked == [], f"the image would carry a secret: {baked}"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignored), "the build context must leave out secrets and local builds"
