"""bn's batch norm against torch's native kernel, same process, same shapes: time ratios and memory.

For each float32 shape: a training forward+backward and an eval forward, eager and under
torch.compile (both sides compiled), and the bytes autograd saves for backward. Prints a table
with bn/native ratios; lower is better, 1.00 is parity.
"""

import argparse
import statistics
import time

import torch

import bn

SHAPES = [(256, 1024), (128, 64, 16, 16), (64, 128, 32, 32), (32, 256, 8, 8)]


def layer_pair(shape):
    """A bn layer and a torch layer for `shape`, same state."""
    ours = bn.BatchNorm1d(shape[1]) if len(shape) == 2 else bn.BatchNorm2d(shape[1])
    native = torch.nn.BatchNorm1d(shape[1]) if len(shape) == 2 else torch.nn.BatchNorm2d(shape[1])
    native.load_state_dict(ours.state_dict())
    return ours, native


def train_step(layer, x, grad):
    """One training forward and backward, the unit being timed."""
    layer(x).backward(grad)


def eval_step(layer, x, _grad):
    """One eval forward without autograd."""
    with torch.no_grad():
        layer(x)


def median_ms(step, layer, x, grad, repeats, inner):
    """Median over `repeats` of the mean time of `inner` calls, after warm-up."""
    for _ in range(3):
        step(layer, x, grad)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            step(layer, x, grad)
        samples.append((time.perf_counter() - start) / inner * 1e3)
    return statistics.median(samples)


def interleaved_ratio(step, ours, native, x, grad, repeats, inner):
    """bn and native timed alternately, so drift in the machine hits both alike."""
    times = {"bn": [], "native": []}
    for _ in range(repeats):
        times["bn"].append(median_ms(step, ours, x, grad, 1, inner))
        times["native"].append(median_ms(step, native, x, grad, 1, inner))
    t_ours, t_native = statistics.median(times["bn"]), statistics.median(times["native"])
    return t_ours, t_native, t_ours / t_native


def saved_bytes(layer, x):
    """Bytes of the distinct tensors autograd keeps for backward in one training forward."""
    seen = {}

    def pack(tensor):
        seen[(tensor.data_ptr(), tensor.dtype, tuple(tensor.shape))] = tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x)
    return sum(seen.values())


def rows_for_shape(shape, compiled, repeats):
    """Timing rows for one shape: train and eval, eager and (optionally) compiled."""
    ours, native = layer_pair(shape)
    x = torch.randn(shape).requires_grad_(True)
    grad = torch.randn(shape)
    inner = max(1, int(2e7 // x.numel()))
    modes = [("eager", ours, native)]
    if compiled:
        modes.append(("compiled", torch.compile(ours), torch.compile(native)))
    rows = []
    for mode, a, b in modes:
        for name, step in (("train fwd+bwd", train_step), ("eval fwd", eval_step)):
            a.train(name.startswith("train")), b.train(name.startswith("train"))
            rows.append((shape, mode, name, *interleaved_ratio(step, a, b, x, grad, repeats, inner)))
    return rows, saved_bytes(ours, x), saved_bytes(native, x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timing samples per cell (median taken)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32")
    print("bn/native: both sides in the same mode; bn/eager: bn against native eager (compiled rows)")
    print(f"{'shape':<20} {'mode':<9} {'step':<14} {'bn ms':>9} {'native ms':>10} {'bn/native':>10} {'bn/eager':>9}")
    memory = []
    for shape in SHAPES:
        rows, ours_bytes, native_bytes = rows_for_shape(shape, not args.no_compile, args.repeats)
        memory.append((shape, ours_bytes, native_bytes))
        native_eager = {name: t_native for _, mode, name, _, t_native, _ in rows if mode == "eager"}
        for shape_, mode, name, t_ours, t_native, ratio in rows:
            versus_eager = f"{t_ours / native_eager[name]:9.2f}" if mode == "compiled" else ""
            print(f"{shape_!s:<20} {mode:<9} {name:<14} {t_ours:9.3f} {t_native:10.3f} {ratio:10.2f} {versus_eager}")
    print(f"\n{'shape':<20} {'bn saved MB':>12} {'native saved MB':>16} {'bn/native':>10}")
    for shape, ours_bytes, native_bytes in memory:
        print(
            f"{shape!s:<20} {ours_bytes / 2**20:12.2f} {native_bytes / 2**20:16.2f} {ours_bytes / native_bytes:10.2f}"
        )


if __name__ == "__main__":
    main()
