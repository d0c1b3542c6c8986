"""The compose test's machinery (tests/deploy/test_compose_stack.py): the images built with Podman, and the stack of
docker-compose.yml, unchanged, brought up by podman-compose under a project of its own and torn down whatever happens.

Run by `deploy/podman-test`, which installs Podman and builds the Debian base image first. The stack runs on the
project's own Podman network, as under Docker: service names resolve (aardvark-dns), ports are published on the
host, so the host's own PostgreSQL and Redis (5432, 6379) are never in the way.
"""

import graphlib
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.deploy.compose_files import COMPOSE, ENV_EXAMPLE, ROOT, services
from tests.net import free_port

STANDINS = Path(__file__).resolve().parent / "standins"
BASE_IMAGE = "localhost/debian-base:bookworm"
IMAGE_TAG = "compose-test"  # BNLAB_IMAGE_TAG: never replaces an operator's bnlab:latest
# Docker Hub's images, built here from Debian's packages under the names docker-compose.yml uses (no registry).
STANDIN_IMAGES = {"postgres": "localhost/postgres:15-bookworm", "redis": "localhost/redis:7-bookworm"}
# Where the host's pip settings are mounted during `podman build` (build time only: none of them stays in an image).
BUILD_CA, BUILD_WHEELS = "/run/host-ca.crt", "/run/host-wheels"
T = TypeVar("T")


def podman(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """One podman command; a failure shows its output."""
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def until(check: Callable[[], T], what: str, timeout: float) -> T:
    """Poll `check` until it gives something truthy (errors count as not yet); fail naming `what`."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as error:
            result, last = None, error
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"no {what} within {timeout} s (last error: {last!r})")


def host_pip_setting(name: str) -> str | None:
    """A pip setting of this machine (PIP_CERT, then pip's config files): the image's build needs the same."""
    value = os.environ.get("PIP_" + name.upper().replace("-", "_"))
    if value is None:
        result = subprocess.run([sys.executable, "-m", "pip", "config", "get", f"global.{name}"],
                                capture_output=True, text=True)  # fmt: skip
        value = result.stdout.strip() if result.returncode == 0 else None
    return value or None


def pip_build_options() -> list[str]:
    """Mounts and build args that give the build's pip this machine's CA bundle and local torch wheel, if any."""
    options = []
    cert = host_pip_setting("cert")
    if cert and Path(cert).is_file():
        options += ["-v", f"{cert}:{BUILD_CA}:ro", "--build-arg", f"PIP_CERT={BUILD_CA}"]
    wheels = host_pip_setting("find-links")
    if wheels and Path(wheels).is_dir():
        # The CPU torch wheel lies there: no extra index (download.pytorch.org may be out of reach).
        options += ["-v", f"{wheels}:{BUILD_WHEELS}:ro", "--build-arg", f"PIP_FIND_LINKS={BUILD_WHEELS}",
                    "--build-arg", "PIP_EXTRA_INDEX_URL="]  # fmt: skip
    return options


def build_images() -> str:
    """The stand-ins and bnlab's image from the repo's Dockerfile, on the local Debian base; the bnlab tag."""
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        pytest.fail(f"no {BASE_IMAGE}: run deploy/podman-test, which builds it with debootstrap")
    base = ["--network", "host", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}"]
    for name, tag in STANDIN_IMAGES.items():
        podman("build", *base, "-t", tag, str(STANDINS / name))
    image = f"localhost/bnlab:{IMAGE_TAG}"
    podman("build", *base, *pip_build_options(), "-t", image, str(ROOT), timeout=1800)
    return image


def depends_on(service: dict) -> dict[str, str]:
    """A service's dependencies with their conditions (the short list form means service_started)."""
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: dep.get("condition", "service_started") for name, dep in deps.items()}


@dataclass
class Stack:
    """docker-compose.yml's services under one podman-compose project, run from a folder with the test's .env."""

    project: str
    workdir: Path
    port: int

    @property
    def url(self) -> str:
        """The API at the port the compose file publishes (BNLAB_PORT)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        """The filter that finds this project's containers, volumes and network (podman-compose labels them)."""
        return f"label=io.podman.compose.project={self.project}"

    def compose(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """One podman-compose command of this project; a failure shows its output."""
        command = [str(Path(sys.executable).parent / "podman-compose"), "-p", self.project, *args]
        result = subprocess.run(command, cwd=self.workdir, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return result

    def up(self) -> None:
        """`up -d`, one service at a time in depends_on order, each after its dependencies' conditions hold.

        podman-compose leaves the order to Podman, and Podman 4.3 cannot keep it: it ignores service_healthy
        (podman wait has no --condition=healthy before 4.6, and without systemd no timer runs the healthchecks)
        and its --requires fails to start a service whose dependency has completed (migrate) while that one's
        dependency runs (postgres). So each service starts with --no-deps once the test has seen its conditions.
        """
        graph = {name: depends_on(service) for name, service in services().items()}
        for name in graphlib.TopologicalSorter(graph).static_order():
            for dep, condition in graph[name].items():
                self.wait_for_condition(dep, condition)
            self.compose("up", "-d", "--no-deps", name)

    def wait_for_condition(self, service: str, condition: str) -> None:
        """Block until `service`'s container meets a compose depends_on condition."""
        (container,) = self.containers(service)
        if condition == "service_healthy":
            until(lambda: podman("healthcheck", "run", container, check=False).returncode == 0,
                  f"healthy {service}", timeout=180)  # fmt: skip
        elif condition == "service_completed_successfully":
            code = podman("wait", container, timeout=300).stdout.strip()
            assert code == "0", f"{service} exited {code}:\n{self.logs(container)}"
        else:
            until(lambda: self.state(container) == "running", f"running {service}", timeout=60)

    def containers(self, service: str) -> list[str]:
        """The names of a service's containers (one per replica), in replica order."""
        service_label = f"label=io.podman.compose.service={service}"
        names = podman("ps", "-a", "--format", "{{.Names}}", "--filter", self.label, "--filter", service_label)
        return sorted(names.stdout.split())

    def state(self, container: str) -> str:
        """running, exited, created...: Podman's word for the container now."""
        return podman("inspect", "--format", "{{.State.Status}}", container).stdout.strip()

    def hostname(self, container: str) -> str:
        """The container's hostname: the first half of a worker's identity (hostname:pid)."""
        return podman("inspect", "--format", "{{.Config.Hostname}}", container).stdout.strip()

    def logs(self, container: str) -> str:
        """Everything the container wrote, across its restarts."""
        result = podman("logs", container)
        return result.stdout + result.stderr

    def psql(self, sql: str) -> str:
        """A query's rows (unaligned) in the stack's own database, through its postgres container."""
        (container,) = self.containers("postgres")
        return podman("exec", container, "psql", "-U", "bnlab", "-d", "bnlab", "-At", "-c", sql).stdout.strip()

    def down(self) -> None:
        """`down -v`, then whatever it missed (it knows one replica per service): containers, pod, volumes, network."""
        self.compose("down", "-v", check=False)
        leftovers = podman("ps", "-aq", "--filter", self.label, check=False).stdout.split()
        if leftovers:
            podman("rm", "-f", "-t", "10", *leftovers, check=False)
        podman("pod", "rm", "-f", "--ignore", f"pod_{self.project}", check=False)
        for kind in ("volume", "network"):
            names = podman(kind, "ls", "-q", "--filter", self.label, check=False).stdout.split()
            if names:
                podman(kind, "rm", "-f", *names, check=False)


def write_env(workdir: Path, port: int) -> None:
    """The operator's `cp .env.example .env` with a random password, this test's port and image, a short lease."""
    settings = {
        "POSTGRES_PASSWORD": secrets.token_hex(24),
        "BNLAB_PORT": str(port),
        "BNLAB_IMAGE_TAG": IMAGE_TAG,
        "BNLAB_LEASE_S": "15",  # a worker lost for good: its job back in the queue within seconds
    }
    lines = ENV_EXAMPLE.read_text().splitlines()
    kept = [line for line in lines if line.split("=", 1)[0] not in settings]
    (workdir / ".env").write_text("\n".join([*kept, *(f"{key}={value}" for key, value in settings.items())]) + "\n")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole stack up and ready (/readyz), from a copy of docker-compose.yml beside the test's own .env.

    A copy, not the repo's folder: the compose file reads `.env` beside it, and an operator's .env there stays
    untouched. The images are built first; everything but the images is removed at the end.
    """
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run deploy/podman-test")
    build_images()
    workdir = tmp_path_factory.mktemp("compose")
    shutil.copyfile(COMPOSE, workdir / COMPOSE.name)
    port = free_port()
    write_env(workdir, port)
    deployed = Stack(project=f"bnlab-test-{secrets.token_hex(3)}", workdir=workdir, port=port)
    try:
        deployed.up()
        until(lambda: httpx.get(f"{deployed.url}/readyz", timeout=5).status_code == 200, "ready API", timeout=180)
        yield deployed
    finally:
        deployed.down()
