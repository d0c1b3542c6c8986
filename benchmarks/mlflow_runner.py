"""The bare engine logging through MLflow's client, for benchmarks/service_speed.py's worker rows.

`mlflow_runner.py MLFLOW_PYTHON TRACKING_URI DATA_DIR` trains, for each JSON line {"specs": [...]} read on stdin,
those specs one after the other, each as an MLflow run: every evaluation's points in one log_batch, every
checkpoint (torch.save to a file) uploaded with log_artifact, both synchronous as bnlab's worker writes are. The
client lives in a process of MLflow's venv (benchmarks/mlflow_side.py log-server), asked and answered over a pipe:
a few tens of microseconds a call beside the milliseconds of the call itself. Answers one JSON line per request.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from load import answer

from contracts.spec import JobSpec
from worker.engine import MetricPoint, Reporter, train

HERE = Path(__file__).resolve().parent


class LogServer:
    """benchmarks/mlflow_side.py log-server in MLflow's venv: one request out, one answer back."""

    def __init__(self, python: str, uri: str) -> None:
        """Start it and wait until its client is up."""
        command = [python, str(HERE / "mlflow_side.py"), uri, "log-server"]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._answer()

    def ask(self, op: str, **fields: Any) -> dict:
        """Send one request and wait for its answer."""
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self) -> dict:
        """The next answer line; a log server that died fails the benchmark."""
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the MLflow log server exited ({self.process.wait()})")
        return json.loads(line)

    def close(self) -> None:
        """Close its stdin: it exits."""
        self.process.stdin.close()
        self.process.wait()


class MlflowReporter(Reporter):
    """The engine's reporter that writes through MLflow: points with log_batch, checkpoints with log_artifact."""

    def __init__(self, server: LogServer, folder: Path) -> None:
        self.server, self.folder = server, folder

    def log(self, points: list[MetricPoint]) -> None:
        """One evaluation's batch."""
        self.server.ask("log", points=[[point.name, point.step, point.value] for point in points])

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Serialized to a file, then uploaded as the run's artifact."""
        path = self.folder / f"checkpoint-{step}.pt"
        torch.save(state, path)
        self.server.ask("artifact", path=str(path))


def examples_per_s(server: LogServer, spec: JobSpec, data_dir: Path) -> float:
    """One MLflow run of `spec`: the engine's examples/s over its own loop, as bnlab's summary counts them."""
    server.ask("start", name=spec.name)
    with tempfile.TemporaryDirectory() as folder:
        summary = train(spec, MlflowReporter(server, Path(folder)), data_dir)
    server.ask("end")
    return summary.steps_done * spec.training.batch_size / summary.wall_time_s


def main() -> None:
    python, uri, data_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    server = LogServer(python, uri)
    answer({"ready": True})
    for line in sys.stdin:
        specs = [JobSpec.model_validate(raw) for raw in json.loads(line)["specs"]]
        answer({"examples_per_s": [examples_per_s(server, spec, data_dir) for spec in specs]})
    server.close()


if __name__ == "__main__":
    main()
