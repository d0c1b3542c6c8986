"""bn's batch norm against torch's native kernel, same process, same shapes: time ratios, targets and memory.

For each float32 shape and thread count: a training forward+backward and an eval forward, eager and
(at 1 thread) under torch.compile, bn and torch.nn.BatchNorm* timed alternately; the bytes autograd
saves for backward; and ghost BN, batch renorm and SyncBatchNorm (one process) against plain bn.
Times are CPU time at 1 thread (robust to other load on the machine), wall time at more. Lower
ratios are better; 1.00 is parity. Each row says whether it meets the issue's target.
`--reference` adds bn's tensor-op reference path, so the kernels' gain shows in the same run.
"""

import argparse
import statistics
import time

import torch

import bn
from bn import kernels

SHAPES = [(60, 100), (100, 100), (256, 1024), (100, 25, 40), (64, 16, 32, 32), (128, 64, 16, 16), (64, 128, 32, 32)]
LARGE = 2**18  # values from which a shape counts as large (the tighter training target)
TARGETS = {"train": (1.3, 1.1), "eval": (1.1, 1.1), "compiled": (1.0, 1.0), "variant": (1.2, 1.2)}


def layer_for(shape, library, **kwargs):
    """A BatchNorm1d/2d of `library` (bn or torch.nn) for `shape`."""
    cls = library.BatchNorm1d if len(shape) < 4 else library.BatchNorm2d
    return cls(shape[1], **kwargs)


def variants(shape):
    """bn's variants at `shape`, each named, to time against plain bn."""
    two_d = len(shape) == 4
    ghost = (bn.GhostBatchNorm2d if two_d else bn.GhostBatchNorm1d)(shape[1], virtual_batch_size=max(shape[0] // 4, 2))
    renorm = (bn.BatchRenorm2d if two_d else bn.BatchRenorm1d)(shape[1])
    return {"ghost (4 virtual)": ghost, "renorm": renorm, "sync (1 process)": bn.SyncBatchNorm(shape[1])}


def train_step(layer, x, grad):
    """One training forward and backward, the unit being timed."""
    layer(x).backward(grad)


def eval_step(layer, x, _grad):
    """One eval forward without autograd."""
    with torch.no_grad():
        layer(x)


def sample(step, layer, x, grad, inner, clock):
    """Mean seconds of `inner` calls by `clock`."""
    start = clock()
    for _ in range(inner):
        step(layer, x, grad)
    return (clock() - start) / inner


def interleaved(step, layers, x, grad, repeats, clock):
    """Median seconds per call of each layer, the layers timed in turn so that drift hits all alike."""
    per_call = min(sample(step, layer, x, grad, 1, time.perf_counter) for layer in layers for _ in range(3))
    inner = max(1, int(0.02 / max(per_call, 1e-7)))
    times = [[] for _ in layers]
    for _ in range(repeats):
        for index, layer in enumerate(layers):
            times[index].append(sample(step, layer, x, grad, inner, clock))
    return [statistics.median(values) for values in times]


def saved_bytes(layer, x):
    """Bytes of the distinct tensors autograd keeps for backward in one training forward."""
    seen = {}

    def pack(tensor):
        seen[(tensor.data_ptr(), tensor.dtype, tuple(tensor.shape))] = tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x)
    return sum(seen.values())


def verdict(kind, shape, ratio):
    """'ok' or 'MISS' against the target for this kind of row and size of shape; a context row has none."""
    if kind not in TARGETS:
        return "(torch's own, no target)"
    small, large = TARGETS[kind]
    limit = large if torch.Size(shape).numel() >= LARGE else small
    return f"<= {limit:.2f} {'ok' if ratio <= limit else 'MISS'}"


class Table:
    """Rows printed as they are measured, each with its ratio and verdict."""

    def __init__(self):
        print(f"{'threads':>7} {'shape':<18} {'row':<29} {'bn us':>10} {'base us':>10} {'ratio':>7}  target")

    def row(self, threads, shape, name, ours, base, kind):
        ratio = ours / base
        print(
            f"{threads:>7} {shape!s:<18} {name:<29} {ours * 1e6:10.1f} {base * 1e6:10.1f} {ratio:7.2f}  "
            f"{verdict(kind, shape, ratio)}"
        )


def time_shape(table, shape, threads, args):
    """Every row for one shape at one thread count."""
    clock = time.process_time if threads == 1 else time.perf_counter
    ours, native = layer_for(shape, bn), layer_for(shape, torch.nn)
    x, grad = torch.randn(shape).requires_grad_(True), torch.randn(shape)
    for name, step, kind in (("train fwd+bwd", train_step, "train"), ("eval fwd", eval_step, "eval")):
        ours.train(kind == "train"), native.train(kind == "train")
        t_ours, t_native = interleaved(step, [ours, native], x, grad, args.repeats, clock)
        table.row(threads, shape, name, t_ours, t_native, kind)
        if args.reference:
            with kernels.reference_only():
                (t_reference,) = interleaved(step, [ours], x, grad, args.repeats, clock)
            table.row(threads, shape, f"{name} (reference)", t_reference, t_native, kind)
        if args.compile and threads == 1:
            compiled_ours, compiled_native = torch.compile(ours), torch.compile(native)
            t_compiled, t_native_compiled = interleaved(
                step, [compiled_ours, compiled_native], x, grad, args.repeats, clock
            )
            table.row(threads, shape, f"{name} compiled", t_compiled, t_native, "compiled")
            table.row(threads, shape, f"{name} torch compiled", t_native_compiled, t_native, "context")
    ours.train(), native.train()
    for name, layer in variants(shape).items():
        t_variant, t_plain = interleaved(train_step, [layer, ours], x, grad, args.repeats, clock)
        table.row(threads, shape, f"train {name}", t_variant, t_plain, "variant")


def print_memory():
    """Bytes saved for backward, bn against native, at every shape."""
    print(f"\n{'shape':<18} {'bn saved MB':>12} {'native saved MB':>16} {'bn/native':>10}")
    for shape in SHAPES:
        x = torch.randn(shape).requires_grad_(True)
        ours, native = saved_bytes(layer_for(shape, bn), x), saved_bytes(layer_for(shape, torch.nn), x)
        print(f"{shape!s:<18} {ours / 2**20:12.2f} {native / 2**20:16.2f} {ours / native:10.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timing samples per cell (median taken)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True, help="torch.compile rows")
    parser.add_argument("--reference", action="store_true", help="also time bn's tensor-op reference path")
    parser.add_argument("--shapes", help="only these shape indices, e.g. 0,1 (default: all)")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, float32, bn kernels {'on' if kernels.ops() else 'OFF'}")
    print("base: torch's native BatchNorm (same mode, eager for compiled rows); plain bn for the variant rows")
    table = Table()
    shapes = SHAPES if not args.shapes else [SHAPES[int(i)] for i in args.shapes.split(",")]
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for shape in shapes:
            time_shape(table, shape, threads, args)
    print_memory()


if __name__ == "__main__":
    main()
