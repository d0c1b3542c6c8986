r"""Fold eval-mode batch norm into the Linear or Conv layer that feeds it.

In eval mode a BN is a fixed affine map per channel c:

    y_c = (x_c - mean_c) / sqrt(var_c + eps) * gamma_c + beta_c = s_c * x_c + (beta_c - s_c * mean_c),
    s_c = gamma_c / sqrt(var_c + eps)

(gamma = 1, beta = 0 without affine parameters). When x = W x_in + b comes from a Linear, weight (C_out, C_in),
or a ConvNd, weight (C_out, C_in / groups, *kernel), with c indexing the output channels (dim 0 of the weight
and dim 1 of the output), the two compose into one layer of the same shape:

    W'_c = s_c * W_c,    b'_c = (b_c - mean_c) * s_c + beta_c

and the BN becomes nn.Identity.
"""

import copy
import logging
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from typing import NamedTuple

import torch
from torch import Tensor, fx, nn

from bn._kinds import is_batchnorm

__all__ = ["FoldReport", "fold"]

logger = logging.getLogger(__name__)

# Exact classes: a subclass (parametrized, weight-standardized, quantized) may not compute W x + b.
FOLDABLE_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_LAYER_NAMES = "/".join(kind.__name__ for kind in FOLDABLE_LAYERS)


@dataclass
class FoldReport:
    """What fold did: the (layer, bn) pairs it folded, and for every other BN why it stayed."""

    folded: list[tuple[str, str]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"fold: {len(self.folded)} folded, {len(self.skipped)} kept"]
        lines += [f"  folded {bn} into {layer}" for layer, bn in self.folded]
        lines += [f"  kept {bn or '(root)'}: {reason}" for bn, reason in self.skipped.items()]
        return "\n".join(lines)


class _Link(NamedTuple):
    """A BN's name, the module whose output is its only input (None if no module), and why they cannot fold."""

    bn: str
    source: str | None
    problem: str | None


class _Tracer(fx.Tracer):
    """fx's tracer with every BN as a leaf: bn's classes live outside torch.nn, so fx would trace into them."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return is_batchnorm(m) or super().is_leaf_module(m, module_qualified_name)


def fold(module: nn.Module) -> nn.Module:
    """An eval-mode deep copy of `module`, of the same class, with each BN folded into the layer feeding it.

    A BN folds when its only input is the output of a Linear/Conv1d/Conv2d/Conv3d that nothing else uses,
    each called once. The data flow comes from torch.fx symbolic tracing of the copy; a module whose forward
    cannot be traced (data-dependent control flow) is read as an nn.Sequential (each child feeds the next)
    and its children are tried in turn. A Linear's output is taken to be (N, C_out): a Linear applied to
    (N, L, C_in) and followed by a BatchNorm1d(L) with L == C_out would fold wrongly.

    The copy carries a `fold_report` (FoldReport), which is also logged at INFO. Outputs match the unfolded
    eval model up to float rounding; the original module is left untouched.
    """
    model = copy.deepcopy(module).eval()
    links = {link.bn: link for link in _links(model)}
    names = [name for name, child in model.named_modules() if is_batchnorm(child)]
    shared = _shared_ids(model)
    problems = {name: _problem(model, links.get(name), shared) for name in dict.fromkeys([*names, *links])}
    report = FoldReport()
    for bn_name, problem in problems.items():
        if problem is None:
            layer_name = links[bn_name].source
            _fold_pair(model.get_submodule(layer_name), model.get_submodule(bn_name))
            model.set_submodule(bn_name, nn.Identity())
            report.folded.append((layer_name, bn_name))
        else:
            report.skipped[bn_name] = problem
    model.fold_report = report
    logger.info("%s", report)
    return model


def _links(module: nn.Module, prefix: str = "") -> list[_Link]:
    """Where each BN inside `module` gets its input: the fx graph if it traces, else nn.Sequential order."""
    if is_batchnorm(module) or not any(is_batchnorm(child) for child in module.modules()):
        return []
    try:
        graph = _Tracer().trace(module)
    except Exception as error:  # tracing runs arbitrary user code, which may fail in any way
        logger.debug("fold: cannot trace %s (%s); reading it as a sequence", prefix or "the model", error)
        nested = (_links(child, f"{prefix}{name}.") for name, child in module.named_children())
        return _sequential_links(module, prefix) + list(chain.from_iterable(nested))
    return _graph_links(graph, module, prefix)


def _graph_links(graph: fx.Graph, root: nn.Module, prefix: str) -> list[_Link]:
    """One link per BN call in the traced graph, with what feeds it and how often each module runs."""
    calls = Counter(node.target for node in graph.nodes if node.op == "call_module")
    return [
        _graph_link(node, calls, prefix)
        for node in graph.nodes
        if node.op == "call_module" and is_batchnorm(root.get_submodule(node.target))
    ]


def _graph_link(node: fx.Node, calls: Counter, prefix: str) -> _Link:
    """Foldable only if the BN and its source each run once and the BN is the source's only user."""
    bn = prefix + node.target
    if calls[node.target] > 1:
        return _Link(bn, None, f"called {calls[node.target]} times in forward")
    inputs = [*node.args, *node.kwargs.values()]
    if len(inputs) != 1:
        return _Link(bn, None, f"called with {len(inputs)} arguments")
    source = inputs[0]
    if not isinstance(source, fx.Node) or source.op != "call_module":
        return _Link(bn, None, f"its input comes from {_describe(source)}, not a {_LAYER_NAMES}")
    name = prefix + source.target
    if calls[source.target] > 1:
        return _Link(bn, name, f"{name} is called {calls[source.target]} times in forward")
    if len(source.users) > 1:
        return _Link(bn, name, f"the output of {name} is also used elsewhere")
    return _Link(bn, name, None)


def _describe(value: object) -> str:
    """A short phrase for a graph value that is not a module call, e.g. `call_function relu`."""
    if not isinstance(value, fx.Node):
        return f"the constant {value!r}"
    return f"{value.op} {getattr(value.target, '__name__', value.target)}"


def _sequential_links(module: nn.Module, prefix: str) -> list[_Link]:
    """In a plain nn.Sequential each child's output goes to the next child only."""
    if type(module).forward is not nn.Sequential.forward:
        return []
    links, previous = [], None
    for name, child in module._modules.items():  # not named_children(): that drops repeated modules
        if is_batchnorm(child):
            if previous is None:
                links.append(_Link(prefix + name, None, "first in its nn.Sequential, so its input comes from outside"))
            else:
                links.append(_Link(prefix + name, prefix + previous, None))
        previous = name
    return links


def _shared_ids(model: nn.Module) -> set[int]:
    """Modules and parameters reachable under more than one name: folding one use would change another."""
    named = chain(model.named_modules(remove_duplicate=False), model.named_parameters(remove_duplicate=False))
    counts = Counter(id(item) for _, item in named)
    return {key for key, count in counts.items() if count > 1}


def _problem(model: nn.Module, link: _Link | None, shared: set[int]) -> str | None:
    """Why this BN cannot fold (the first reason found), or None if it can."""
    if link is None:
        return "not called as a module by a traceable forward or an nn.Sequential"
    bn = model.get_submodule(link.bn)
    if bn.running_mean is None or bn.running_var is None:
        return "track_running_stats=False: eval mode normalizes with batch statistics, which no weight can absorb"
    if _hooked(bn):
        return "has forward hooks, which replacing it would drop"
    if link.source is None:
        return link.problem
    layer = model.get_submodule(link.source)
    if type(layer) not in FOLDABLE_LAYERS:
        return f"its input comes from {link.source} ({type(layer).__name__}), not a {_LAYER_NAMES}"
    return link.problem or _layer_problem(link.source, layer, bn, shared)


def _layer_problem(name: str, layer: nn.Module, bn: nn.Module, shared: set[int]) -> str | None:
    """Checks on the layer itself: hooks (e.g. weight_norm), sharing, channel count."""
    if _hooked(layer):
        return f"{name} has forward hooks, which could recompute or observe its weight"
    if id(layer) in shared or any(id(param) in shared for param in layer.parameters()):
        return f"{name} or its parameters are shared with another part of the model"
    if layer.weight.shape[0] != bn.num_features:
        return f"{name} has {layer.weight.shape[0]} output channels but the BN has {bn.num_features} features"
    return None


def _hooked(module: nn.Module) -> bool:
    """Forward hooks would be bypassed or see other values once the pair is folded."""
    return bool(module._forward_hooks or module._forward_pre_hooks)


@torch.no_grad()
def _fold_pair(layer: nn.Module, bn: nn.Module) -> None:
    """W' = W * s, b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps); in float64, then cast back."""
    weight = layer.weight
    scale = _per_channel(bn.weight, 1.0, weight) * torch.rsqrt(_per_channel(bn.running_var, 1.0, weight) + bn.eps)
    shift = _per_channel(layer.bias, 0.0, weight) - _per_channel(bn.running_mean, 0.0, weight)
    bias = shift * scale + _per_channel(bn.bias, 0.0, weight)
    scaled = weight.to(torch.float64) * scale.reshape(-1, *[1] * (weight.dim() - 1))
    layer.weight = nn.Parameter(scaled.to(weight.dtype), requires_grad=weight.requires_grad)
    layer.bias = nn.Parameter(bias.to(weight.dtype), requires_grad=weight.requires_grad)


def _per_channel(tensor: Tensor | None, fill: float, weight: Tensor) -> Tensor:
    """A float64 (C_out,) copy on the weight's device of an optional per-channel tensor, `fill` if absent."""
    if tensor is None:
        return torch.full((weight.shape[0],), fill, dtype=torch.float64, device=weight.device)
    return tensor.to(dtype=torch.float64, device=weight.device)
