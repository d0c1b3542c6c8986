"""Internal covariate shift (Santurkar et al. 2018, section 2.2), measured beside training without changing it.

ICS of weight layer i at step t is ||G - G'|| where G is the gradient of W_i on the step's batch and G' the gradient
of W_i on the same batch (same dropout masks, same buffers) once every layer feeding it took the step's update.
"""

from dataclasses import dataclass

import torch
from torch import fx, nn
from torch.func import functional_call

from worker.engine.init import WEIGHTED_LAYERS
from worker.engine.reporter import MetricPoint

HEAD = "out"  # the classifier head feeds no activation site


@dataclass(frozen=True)
class Layer:
    """One weight to measure: its metric name, its parameter's name, the parameters of the modules feeding it."""

    name: str
    weight: str
    below: frozenset[str]


class _ContainerTracer(fx.Tracer):
    """Traces through containers only: every module without children (bn's included) stays one call."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return next(m.children(), None) is None


def weight_layers(model: nn.Module) -> list[Layer]:
    """Every Linear/Conv weight in forward order; below it are the modules it depends on in the traced graph."""
    calls = [node for node in _ContainerTracer().trace(model).nodes if node.op == "call_module"]
    ancestors = _ancestors(calls)
    weights = [node for node in calls if isinstance(model.get_submodule(node.target), WEIGHTED_LAYERS)]
    names = _names(weights, _first_sites(model, calls, ancestors, weights))
    return [
        Layer(name, f"{node.target}.weight", _parameters(model, ancestors[node]))
        for node, name in zip(weights, names, strict=True)
    ]


def _ancestors(calls: list[fx.Node]) -> dict[fx.Node, set[fx.Node]]:
    """For each module call, the module calls whose output reaches its input."""
    reach: dict[fx.Node, set[fx.Node]] = {}

    def upstream(node: fx.Node) -> set[fx.Node]:
        if node not in reach:
            parents = node.all_input_nodes
            reach[node] = {p for p in parents if p.op == "call_module"}.union(*(upstream(p) for p in parents))
        return reach[node]

    return {node: upstream(node) for node in calls}


def _first_sites(
    model: nn.Module, calls: list[fx.Node], ancestors: dict[fx.Node, set[fx.Node]], weights: list[fx.Node]
) -> list[str | None]:
    """The activation site each weight's output reaches first (None for the head, which feeds none)."""
    names = {id(module): name for name, module in model.activation_sites}
    sites = [(node, names.get(id(model.get_submodule(node.target)))) for node in calls]
    return [next((name for site, name in sites if name and weight in ancestors[site]), None) for weight in weights]


def _names(weights: list[fx.Node], sites: list[str | None]) -> list[str]:
    """Site names when each layer feeds a site of its own (MLP, CNN), else module paths (ResNet); the head is `out`.

    A residual block's branch and projection feed the same site, hence the paths, dots as underscores.
    """
    named = [site for site in sites if site is not None]
    unique = len(set(named)) == len(named)
    return [
        HEAD if site is None else site if unique else node.target.replace(".", "_")
        for node, site in zip(weights, sites, strict=True)
    ]


def _parameters(model: nn.Module, calls: set[fx.Node]) -> frozenset[str]:
    """The names (as in model.named_parameters) of the parameters of these module calls."""
    return frozenset(
        f"{node.target}.{name}" for node in calls for name, _ in model.get_submodule(node.target).named_parameters()
    )


class Probe:
    """One step's state before its update: RNG and buffers (taken before the forward), then parameters and gradients.

    Everything is a copy, and measure() restores the RNG, so the run's trajectory is exactly as without it.
    """

    def __init__(self, model: nn.Module, layers: list[Layer]) -> None:
        self.model, self.layers = model, layers
        self.rng = torch.get_rng_state()
        self.buffers = {name: buffer.clone() for name, buffer in model.named_buffers()}
        self.params: dict[str, torch.Tensor] = {}
        self.grads: dict[str, torch.Tensor] = {}

    def record(self) -> None:
        """Call after backward, before clipping and the optimizer step: G is the unclipped gradient."""
        self.params = {name: param.detach().clone() for name, param in self.model.named_parameters()}
        current = dict(self.model.named_parameters())
        self.grads = {layer.weight: current[layer.weight].grad.detach().clone() for layer in self.layers}

    def measure(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, tuple[float, float]]:
        """(||G - G'||_2, cos(G, G')) per layer name, after the optimizer step; torch's RNG is left as it was."""
        rng = torch.get_rng_state()
        try:
            return {layer.name: _compare(self.grads[layer.weight], self._shifted(layer, x, y)) for layer in self.layers}
        finally:
            torch.set_rng_state(rng)

    def points(self, x: torch.Tensor, y: torch.Tensor, step: int) -> list[MetricPoint]:
        """ics/<layer>/l2 and ics/<layer>/cos at `step`."""
        return [
            MetricPoint(f"ics/{name}/{key}", step, value)
            for name, values in self.measure(x, y).items()
            for key, value in zip(("l2", "cos"), values, strict=True)
        ]

    def _shifted(self, layer: Layer, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """G': the old W_i's gradient with the layers below updated, the rest old, the step's buffers and RNG."""
        current = {name: param.detach() for name, param in self.model.named_parameters()}
        params = {name: current[name] if name in layer.below else old for name, old in self.params.items()}
        weight = params[layer.weight] = params[layer.weight].detach().requires_grad_()
        buffers = {name: buffer.clone() for name, buffer in self.buffers.items()}  # BN updates them in place
        torch.set_rng_state(self.rng)
        logits = functional_call(self.model, {**params, **buffers}, (x,))
        (gradient,) = torch.autograd.grad(nn.functional.cross_entropy(logits, y), weight)
        return gradient


def _compare(gradient: torch.Tensor, shifted: torch.Tensor) -> tuple[float, float]:
    """L2 distance and cosine in float64; a zero gradient's cosine is 0 (not NaN, which would read as divergence)."""
    g, h = gradient.double().flatten(), shifted.double().flatten()
    return torch.linalg.vector_norm(g - h).item(), nn.functional.cosine_similarity(g, h, dim=0).item()
