"""The HTTP routes, one module per resource; each module exposes a `router`."""
