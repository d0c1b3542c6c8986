"""Timing helpers both sides of benchmarks/service_speed.py share: stdlib only, so that the MLflow venv imports them.

The bnlab side runs in .venv, the MLflow side in .venv-mlflow (benchmarks/mlflow_side.py); both time their calls
with these functions, so that a percentile or a rate means the same on both rows of the table.
"""

import json
import math
import sys
import threading
import time
from collections.abc import Callable


def percentile(samples: list[float], q: float) -> float:
    """The nearest-rank q-th percentile (q in 0..100): a value that was measured, never an interpolation."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def call_ms(call: Callable[[], object]) -> float:
    """Milliseconds one call took."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1e3


def repeated_ms(call: Callable[[], object], repeats: int) -> list[float]:
    """Milliseconds of each of `repeats` calls made one after the other."""
    return [call_ms(call) for _ in range(repeats)]


def concurrent_ms(make_client: Callable[[], Callable[[], object]], clients: int, calls_each: int) -> list[float]:
    """Milliseconds of every call made by `clients` threads at once, each with its own client, `calls_each` each.

    The clients are made first and start together (a barrier), so that every timed call meets the full load.
    """
    callers = [make_client() for _ in range(clients)]
    barrier, samples, failures = threading.Barrier(clients), [], []

    def client(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            mine = repeated_ms(call, calls_each)
        except Exception as error:  # reported after the join: a failed call must fail the benchmark
            failures.append(error)
            return
        samples.extend(mine)

    threads = [threading.Thread(target=client, args=(call,)) for call in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return samples


def answer(result: dict, stream=None) -> None:
    """One JSON line on `stream` (stdout by default): how a side's subprocess hands its figures back."""
    stream = stream or sys.stdout
    stream.write(json.dumps(result) + "\n")
    stream.flush()
