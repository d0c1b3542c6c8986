"""What every family loader returns, and the one error they raise."""

from typing import NamedTuple

import numpy as np


class DatasetError(ValueError):
    """A dataset that cannot be loaded; the message names the expected path and format."""


class Split(NamedTuple):
    """Arrays as stored (any numeric dtype), examples first, each example already in the model's input shape."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
