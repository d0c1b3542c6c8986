"""MLflow's side of benchmarks/service_speed.py, driven from bnlab's venv: its client's figures come back as JSON lines
from processes of MLflow's venv (benchmarks/mlflow_side.py) and from engine runners (benchmarks/mlflow_runner.py)."""

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def side(python: str, uri: str, command: str, **options: object) -> dict:
    """Run `mlflow_side.py URI COMMAND --option value ...` in MLflow's venv; its figures."""
    flags = [item for name, value in options.items() for item in (f"--{name.replace('_', '-')}", str(value))]
    done = subprocess.run(
        [python, str(HERE / "mlflow_side.py"), uri, command, *flags], stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


class Runner:
    """A process of bnlab's venv that trains specs with the bare engine, logging through MLflow's client."""

    def __init__(self, python: str, uri: str, data_dir: Path) -> None:
        """Start it and wait until its engine and its MLflow client are both loaded."""
        command = [sys.executable, str(HERE / "mlflow_runner.py"), python, uri, str(data_dir)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.receive()

    def send(self, specs: list[dict]) -> None:
        """Give it specs to train one after the other (answered by `receive`)."""
        self.process.stdin.write(json.dumps({"specs": specs}) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict:
        """Its next answer; a runner that died fails the benchmark."""
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the MLflow runner exited ({self.process.wait()})")
        return json.loads(line)

    def examples_per_s(self, spec: dict) -> float:
        """Train one spec; its examples/s over the engine's loop."""
        self.send([spec])
        return self.receive()["examples_per_s"][0]

    def close(self) -> None:
        """Close its stdin: it exits."""
        self.process.stdin.close()
        self.process.wait()
