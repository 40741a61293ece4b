"""The ground floor: every setting as a frozen dataclass, the names on offer, and their validators.

`DataConfig` (what data to make), `ModelConfig` (what network to build), `TrainConfig` (how to train it),
`RunOptions` (how a run is carried out) and `Settings` (all three, as a link carries them). Plain values only:
hashable, pickleable, usable as cache keys. Imports nothing from the project; everything else imports this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

# Activation names: core.models maps each to its torch module (tested to match).
ACTIVATION_NAMES = ("relu", "leaky_relu", "tanh", "sigmoid", "softplus", "selu", "gelu", "silu", "elu", "sine",
                    "linear")

POINT_DATASETS = ("circles", "moons", "blobs", "xor", "spiral", "gaussians")


IMAGE_DATASETS = ("mnist", "digits")


DATASETS = POINT_DATASETS + IMAGE_DATASETS


OWN_POINTS = "csv"  # your own points, drawn or imported: they travel in DataConfig.points


class DataError(ValueError):
    """A dataset cannot be made or found; the message says what to do."""


@dataclass(frozen=True)
class DataConfig:
    """Everything that defines a dataset; hashable, so it can key a cache."""

    name: str = "circles"
    n_samples: int = 500
    noise: float = 0.1
    factor: float = 0.5  # circles: inner radius / outer radius
    n_classes: int = 3  # blobs: 2-6 classes; spiral: 2-3 arms
    test_fraction: float = 0.2
    val_fraction: float = 0.15  # share of the training part held out for validation (curves, early stopping)
    seed: int = 0
    label_noise: float = 0.0  # share of the TRAINING labels flipped to another class (seeded); val and test stay clean
    train_size: int | None = None  # images: stratified subset of the training part, after validation is taken
    data_dir: str | None = None  # MNIST folder; None -> $NNLAB_DATA_DIR or ./data
    download: bool = True
    # name "csv": the points themselves, (x, y, class index) in their own units, and one name per class
    points: tuple[tuple[float, float, int], ...] = field(default=(), repr=False)
    class_names: tuple[str, ...] = ()


def check_range(name: str, value: float, low: float, high: float) -> None:
    """Raise DataError unless low <= value <= high, naming the setting."""
    if not low <= value <= high:
        raise DataError(f"{name} must be between {low} and {high}. Got {value} instead.")


def validate_config(config: DataConfig) -> None:
    """Raise DataError naming the first out-of-range field of `config`."""
    if config.name == OWN_POINTS:
        _check_own_points(config)
    elif config.name not in DATASETS:
        raise DataError(f"Unknown dataset {config.name!r}; choose one of {', '.join(DATASETS)}.")
    check_range("test_fraction", config.test_fraction, 0.05, 0.5)
    check_range("val_fraction", config.val_fraction, 0.0, 0.5)
    check_range("label_noise", config.label_noise, 0.0, 0.5)
    if config.name in POINT_DATASETS:
        check_range("n_samples", config.n_samples, 100, 5000)
        check_range("noise", config.noise, 0.0, 0.5)
        check_range("factor", config.factor, 0.1, 0.9)
        if config.name == "blobs":
            check_range("n_classes", config.n_classes, 2, 6)
        if config.name == "spiral":
            check_range("n_classes", config.n_classes, 2, 3)
    if config.train_size is not None and config.train_size < 10:
        raise DataError(f"train_size must be at least 10. Got {config.train_size} instead.")


def _check_own_points(config: DataConfig) -> None:
    if not 2 <= len(config.class_names) <= 6:
        raise DataError(f"Your own points need 2 to 6 class names. Got {len(config.class_names)} instead.")
    if any(len(p) != 3 or not 0 <= p[2] < len(config.class_names) for p in config.points):
        raise DataError("Each of your points needs an x, a y and the index of one of its classes.")



MODEL_KINDS = ("logreg", "mlp", "cnn", "lenet")


IMAGE_ONLY_KINDS = ("cnn", "lenet")


MAX_HIDDEN_LAYERS = 6


MAX_UNITS = 1024
DEAD_TOL = 1e-6  # a unit whose output never exceeds this over the points is dead (Inside, the lessons, diagnoses)


IMAGE_SHAPE = (1, 28, 28)  # every image model takes one 28x28 channel


POINT_SHAPE = (2,)  # every 2-D model takes the raw coordinates (x, y)


FEATURE_LABELS = {"x": "x", "y": "y", "xx": "x²", "yy": "y²", "xy": "x·y", "sinx": "sin x", "siny": "sin y"}


DEFAULT_FEATURES = ("x", "y")


# The output: one logit per class and softmax, or (two classes only) one logit z and the sigmoid, trained with BCE.
HEADS = ("softmax", "sigmoid")


class ModelError(ValueError):
    """A model configuration (or a saved model) that cannot be built; the message says why."""


@dataclass(frozen=True)
class ModelConfig:
    """A whole model description: architecture plus the data shape it was built for."""

    kind: str = "mlp"
    hidden: tuple[int, ...] = (8, 8)  # mlp only: units per hidden layer
    activation: str = "relu"
    dropout: float = 0.0
    width: int = 32  # cnn only: channels of the first conv (the second has twice as many)
    input_shape: tuple[int, ...] = (2,)
    n_classes: int = 2
    features: tuple[str, ...] = DEFAULT_FEATURES  # 2-D data only: what the fixed first layer computes from (x, y)
    head: str = "softmax"  # "sigmoid": two classes only, one output unit

    @property
    def takes_images(self) -> bool:
        """True for a model of 28x28 digits, False for one of 2-D points."""
        return tuple(self.input_shape) == IMAGE_SHAPE


def validate_model_config(config: ModelConfig) -> None:
    """Raise ModelError naming the first field of `config` that cannot be built."""
    if config.kind not in MODEL_KINDS:
        raise ModelError(f"Unknown model kind {config.kind!r}; choose one of {', '.join(MODEL_KINDS)}.")
    if config.activation not in ACTIVATION_NAMES:
        raise ModelError(f"Unknown activation {config.activation!r}; choose one of {', '.join(ACTIVATION_NAMES)}.")
    if not 0.0 <= config.dropout <= 0.5:
        raise ModelError(f"dropout must be between 0 and 0.5. Got {config.dropout} instead.")
    if config.n_classes < 2:
        raise ModelError(f"A classifier needs at least 2 classes. Got {config.n_classes} instead.")
    if config.head not in HEADS:
        raise ModelError(f"Unknown head {config.head!r}; choose one of {', '.join(HEADS)}.")
    if config.head == "sigmoid" and config.n_classes != 2:
        raise ModelError(f"A sigmoid head gives one probability, so it is for 2 classes; this data has "
                         f"{config.n_classes}. Use head=softmax.")
    if config.kind == "mlp":
        if not 1 <= len(config.hidden) <= MAX_HIDDEN_LAYERS:
            raise ModelError(f"An MLP needs 1 to {MAX_HIDDEN_LAYERS} hidden layers. Got {len(config.hidden)}.")
        if any(not 1 <= u <= MAX_UNITS for u in config.hidden):
            raise ModelError(f"Hidden layers need 1 to {MAX_UNITS} units each. Got {list(config.hidden)}.")
    if config.kind in IMAGE_ONLY_KINDS:
        if not config.takes_images:
            raise ModelError(f"A {config.kind} needs 28x28 images; this data has shape {config.input_shape}.")
        if not 4 <= config.width <= 128:
            raise ModelError(f"CNN width must be between 4 and 128. Got {config.width} instead.")
    validate_features(config)


def validate_features(config: ModelConfig) -> None:
    """Features: a non-empty subset of FEATURES, and only for models of 2-D points."""
    features = tuple(config.features)
    if not features:
        raise ModelError(f"Choose at least one input feature from {', '.join(FEATURE_LABELS)}.")
    unknown = [f for f in features if f not in FEATURE_LABELS]
    if unknown:
        raise ModelError(f"Unknown input features {[str(f)[:20] for f in unknown[:5]]}; choose from "
                         f"{', '.join(FEATURE_LABELS)}.")
    if len(set(features)) != len(features):
        raise ModelError(f"Each input feature can be chosen once. Got {list(features)}.")
    if features != DEFAULT_FEATURES and tuple(config.input_shape) != POINT_SHAPE:
        raise ModelError(f"Input features are for 2-D points only; a model of shape {tuple(config.input_shape)} "
                         f"takes its inputs as they are. Use features={DEFAULT_FEATURES} (got {list(features)}).")



OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")


LOSSES = ("cross_entropy", "mse")  # mse: mean squared error between the probabilities and the one-hot labels


# Augmentation of digit images (training batches only): name -> (default strength, (low, high), unit). A choice is
# the name alone (its default strength) or the name and a strength, e.g. "rotate15".
AUGMENTATIONS: dict[str, tuple[float, tuple[float, float], str]] = {
    "shift": (2.0, (0.5, 6.0), "pixels"), "rotate": (10.0, (1.0, 45.0), "degrees"),
    "scale": (10.0, (1.0, 30.0), "percent"),
}


DEVICES = ("auto", "cpu", "cuda")  # auto: CUDA for digit images when there is a GPU (and $NNLAB_DEVICE allows)


SCHEDULES = ("none", "step", "cosine", "onecycle")


class TrainError(ValueError):
    """Training cannot start with these settings or this data; the message says why."""


@dataclass(frozen=True)
class TrainConfig:
    """The hyperparameters of a run; hashable and pickleable. batch_size 0 means full batch."""

    optimizer: str = "adam"
    lr: float = 0.03
    momentum: float = 0.9  # sgd and rmsprop
    batch_size: int = 32
    epochs: int = 50  # the ceiling: with patience the stopping rule may end the run sooner
    weight_decay: float = 0.0  # L2 for sgd/adam/rmsprop; decoupled decay for adamw
    l1: float = 0.0  # L1 penalty on the weights, added to the loss
    schedule: str = "none"
    patience: int = 0  # the stopping rule (core.training.stopping): epochs without progress; 0 turns it off
    seed: int = 0  # the shuffle order and dropout masks
    init_seed: int = 0  # the starting weights: "Reset" keeps them, "New weights" draws another
    loss: str = "cross_entropy"
    augment: tuple[str, ...] = ()  # digits only: e.g. ("shift", "rotate15"); see AUGMENTATIONS


@dataclass(frozen=True)
class RunOptions:
    """How a run is carried out, as opposed to what is trained: none of it changes the maths."""

    threads: int | None = None  # torch intra-op threads (process-wide); None leaves it alone
    channels_last: bool = True  # images only: NHWC memory format, ~1.3-1.8x faster CNNs (see bench)
    step_every: int = 50  # call on_step every N optimizer steps
    reference_lr: float | None = None  # the model's usual rate with this optimizer (core.training.reference): a far
    # smaller one is named as a cause
    device: str = "auto"  # one of DEVICES


def validate_train_config(config: TrainConfig) -> None:
    """Raise TrainError naming the first setting that is out of range."""
    checks = [
        (config.optimizer in OPTIMIZERS,
         f"optimizer must be one of {', '.join(OPTIMIZERS)}. Got {config.optimizer!r} instead."),
        (config.schedule in SCHEDULES,
         f"schedule must be one of {', '.join(SCHEDULES)}. Got {config.schedule!r} instead."),
        (1e-5 <= config.lr <= 10, f"learning rate must be between 1e-5 and 10. Got {config.lr} instead."),
        (config.batch_size >= 0, f"batch size must be 0 (the full batch) or more. Got {config.batch_size} instead."),
        (1 <= config.epochs <= 10_000, f"epochs must be between 1 and 10,000. Got {config.epochs} instead."),
        (0 <= config.weight_decay <= 1, f"weight decay must be between 0 and 1. Got {config.weight_decay} instead."),
        (0 <= config.l1 <= 1, f"the L1 rate must be between 0 and 1. Got {config.l1} instead."),
        (0 <= config.momentum < 1, f"momentum must be in [0, 1). Got {config.momentum} instead."),
        (config.patience >= 0, f"patience must be 0 (off) or more. Got {config.patience} instead."),
        (config.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}. Got {config.loss!r} instead."),
    ]
    for ok, message in checks:
        if not ok:
            raise TrainError(message)
    augment_strengths(config.augment)


def augment_strengths(augment: tuple[str, ...]) -> dict[str, float]:
    """{"shift": 2.0, ...} for the chosen augmentations ("shift", "rotate15", ...); TrainError for a bad one."""
    out: dict[str, float] = {}
    for item in augment:
        name = next((n for n in AUGMENTATIONS if str(item).startswith(n)), None)
        default, (low, high), unit = AUGMENTATIONS.get(name, (0.0, (0.0, 0.0), ""))
        try:
            strength = float(item[len(name):]) if name and item != name else default
        except ValueError:
            name = None
        if name is None or name in out:
            raise TrainError(f"augment takes each of {', '.join(AUGMENTATIONS)} at most once, alone or with a "
                             f"strength (e.g. rotate15). Got {list(augment)[:5]}.")
        if not low <= strength <= high:
            raise TrainError(f"{name} strength must be between {low:g} and {high:g} {unit}. Got {strength:g}.")
        out[name] = strength
    return out



@dataclass(frozen=True)
class Settings:
    """Everything a link reproduces: the data, the model, the training settings and the page."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    page: str | None = None


def data_shape(config: DataConfig) -> tuple[tuple[int, ...], int]:
    """(input_shape, n_classes) of the dataset `config` makes, without making it."""
    if config.name in IMAGE_DATASETS:
        return IMAGE_SHAPE, 10
    if config.name == OWN_POINTS:
        return POINT_SHAPE, len(config.class_names) or 2
    return POINT_SHAPE, config.n_classes if config.name in ("blobs", "spiral") else 2


def reshaped(model: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> ModelConfig:
    """`model` for these inputs and classes; a sigmoid head falls back to softmax past two classes."""
    head = model.head if n_classes == 2 else "softmax"
    return replace(model, input_shape=tuple(input_shape), n_classes=n_classes, head=head)


def shaped(model: ModelConfig, data: DataConfig) -> ModelConfig:
    """`model` fitted to the inputs and classes of `data`."""
    return reshaped(model, *data_shape(data))



# --- the dashboard's limits: one table for the page's controls, links, the board and model files ----------------
# (low, high) of every setting a control, a link or a file can set on the shared server. The engine's validators
# above allow more (the command line may train 2,000 epochs on its owner's machine); the dashboard clamps to these
# and says so. Settings with no control yet keep their validator's range.
DASHBOARD_LIMITS: dict[type, dict[str, tuple[float, float]]] = {
    DataConfig: {"n_samples": (100, 5000), "noise": (0.0, 0.5), "factor": (0.1, 0.9), "test_fraction": (0.05, 0.5),
                 "val_fraction": (0.0, 0.5), "seed": (0, 10_000), "train_size": (500, 60_000),
                 "label_noise": (0.0, 0.5)},
    ModelConfig: {"dropout": (0.0, 0.5), "width": (4, 64)},
    TrainConfig: {"lr": (1e-5, 10.0), "batch_size": (0, 512), "epochs": (1, 3000), "weight_decay": (0.0, 0.1),
                  "l1": (0.0, 0.1), "patience": (0, 20), "seed": (0, 10_000), "init_seed": (0, 10_000),
                  "momentum": (0.0, 0.99)},
}
UNIT_LIMITS = (1, MAX_UNITS)  # every hidden layer's units
LAYER_LIMITS = (1, MAX_HIDDEN_LAYERS)
LIMIT_UNITS = {"epochs": "epochs", "n_samples": "points", "train_size": "images", "patience": "epochs"}


TrainImages = Callable[[DataConfig], "int | None"]  # how many training images a dataset has before any subset


def _limits(config, train_images: TrainImages | None) -> dict[str, tuple[float, float]]:
    """The limits of `config`'s fields; a subset of images at most the training images its data has, when known."""
    limits = DASHBOARD_LIMITS[type(config)]
    if (not isinstance(config, DataConfig) or config.name not in IMAGE_DATASETS or config.train_size is None
            or train_images is None):
        return limits
    available = train_images(config)
    if not available:  # the data cannot be loaded here: its loading says why
        return limits
    low, high = limits["train_size"]
    return {**limits, "train_size": (min(low, available), min(high, available))}


def _number(value: float) -> str:
    """A limit's value as a person writes it: 99999999 (never 1e+08), 0.0001."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _clamped(config, notes: list[str], label: Callable[[type, str], str], train_images: TrainImages | None):
    """`config` with each limited field moved inside its range; a note for each field that moved."""
    changes, limits = {}, _limits(config, train_images)
    for name, (low, high) in limits.items():
        value = getattr(config, name)
        if value is None or low <= value <= high:
            continue
        changes[name] = type(value)(min(max(value, low), high))
        unit = LIMIT_UNITS.get(name, "")
        counted = limits[name] != DASHBOARD_LIMITS[type(config)][name] and changes[name] == high  # the data's own
        notes.append(f"{label(type(config), name)}={_number(value)} limited to {_number(changes[name])}"
                     f"{' ' + unit if unit else ''}{', all the training images there are' if counted else ''}.")
    return replace(config, **changes) if changes else config


def within_limits(settings: Settings, *, label: Callable[[type, str], str] = lambda cls, name: name,
                  train_images: TrainImages | None = None) -> tuple[Settings, tuple[str, ...]]:
    """`settings` inside the dashboard's limits, and one plain line for every value that had to move (each
    setting named by `label(config class, field)`, e.g. its URL name). `train_images`, where given, counts the
    training images of the data, so that a subset is limited to those there are (the 10k MNIST test split
    leaves 6,800 of them), not only to the dashboard's 60,000."""
    notes: list[str] = []
    data, model, train = (_clamped(c, notes, label, train_images)
                          for c in (settings.data, settings.model, settings.train))
    return replace(settings, data=data, model=model, train=train), tuple(notes)
