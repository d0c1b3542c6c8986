"""Rendered plots kept by the content of the report they draw, so the page and repeated requests draw each once.

Drawing a plot takes matplotlib a good fraction of a second and a claims report has about thirty; a finished
study's report never changes, so its plots are drawn once per API process. A report that changed (a partial
study) has another fingerprint, hence fresh plots. The oldest entries go first past `size`.
"""

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Literal

from analysis.plots import render

Format = Literal["png", "svg"]


def fingerprint(report: dict[str, Any]) -> str:
    """A digest of everything a plot can depend on (the report without its list of plot URLs)."""
    content = {key: value for key, value in report.items() if key != "plots"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


class PlotCache:
    """A bounded, thread-safe map (report fingerprint, plot name, format) -> image bytes."""

    def __init__(self, size: int = 512):
        self.size, self._images, self._lock = size, OrderedDict[tuple[str, str, str], bytes](), threading.Lock()

    def image(self, report: dict[str, Any], name: str, fmt: Format, digest: str | None = None) -> bytes:
        """The plot, drawn now unless an identical report had it drawn before (UnknownPlot for a name not listed)."""
        key = (digest or fingerprint(report), name, fmt)
        with self._lock:
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
        image = render(report, name, fmt)  # outside the lock: other plots draw meanwhile
        with self._lock:
            self._images[key] = image
            while len(self._images) > self.size:
                self._images.popitem(last=False)
        return image
