"""Datasets: generated 2-D point clouds, your own points and handwritten digits, as in-memory numpy arrays.

`make_dataset(DataConfig)` is the front door. The types live in `core.data.dataset`, the point clouds and the
three-way split in `core.data.points`, the digit loaders in `core.data.mnist`.
"""

from __future__ import annotations

from core.config import OWN_POINTS, POINT_DATASETS, DataConfig, validate_config
from core.data.dataset import Dataset
from core.data.mnist import full_mnist, load_mnist, make_digits
from core.data.noise import with_label_noise
from core.data.points import make_points, own_points

# The full-MNIST loader make_dataset uses (torchvision); a test without network swaps it for one that finds none.
_mnist_full = full_mnist


def make_dataset(config: DataConfig = DataConfig()) -> Dataset:  # noqa: B008 - a frozen dataclass
    """Build the dataset that `config` describes (label noise, if any, flips training labels only)."""
    validate_config(config)
    if config.name == OWN_POINTS:
        data = own_points(config)
    elif config.name in POINT_DATASETS:
        data = make_points(config)
    elif config.name == "digits":
        data = make_digits(config)
    else:
        data = load_mnist(config, full=_mnist_full)
    return with_label_noise(data, config.label_noise, config.seed)
