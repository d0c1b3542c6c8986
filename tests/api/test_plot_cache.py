"""The plot cache draws a plot once per report content, draws again when the report changed, stays bounded."""

import pytest

from api import plot_cache
from api.plot_cache import PlotCache, fingerprint


@pytest.fixture
def drawn(monkeypatch) -> list[tuple]:
    """Every render the cache asks for, answered with bytes naming what was drawn."""
    calls: list[tuple] = []

    def render(report, name, fmt):
        calls.append((report["cells"], name, fmt))
        return f"{name}.{fmt}:{report['cells']}".encode()

    monkeypatch.setattr(plot_cache, "render", render)
    return calls


def test_an_identical_report_is_drawn_once(drawn):
    cache = PlotCache()
    first = cache.image({"cells": [1], "plots": ["a"]}, "lr", "png")
    again = cache.image({"cells": [1], "plots": ["other urls"]}, "lr", "png")
    assert first == again == b"lr.png:[1]" and len(drawn) == 1
    cache.image({"cells": [1]}, "lr", "svg")
    cache.image({"cells": [2]}, "lr", "png")
    assert len(drawn) == 3


def test_the_oldest_plots_leave_first(drawn):
    cache = PlotCache(size=2)
    for name in ("a", "b", "c"):
        cache.image({"cells": []}, name, "png")
    cache.image({"cells": []}, "c", "png")
    cache.image({"cells": []}, "a", "png")
    assert [call[1] for call in drawn] == ["a", "b", "c", "a"]


def test_the_fingerprint_ignores_key_order_and_plot_urls():
    assert fingerprint({"a": 1, "b": [2], "plots": [1]}) == fingerprint({"b": [2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
