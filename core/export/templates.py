"""The exported script's text, in pieces: the header, one data section per kind of data, the loop (the model's
pieces are in `core.export.model_templates`).

`core.export.script.export_script` fills the `{...}` slots with Python literals (`repr` of plain values only) and
joins the pieces; nothing here runs. Braces that the script itself needs are doubled (`{{`, `}}`).
"""

HEADER = '''"""NN Lab run, exported: {title}.

Run it with `python {filename}`; it prints the accuracy on the test split, as the Evaluate page does.
Needs torch, torchvision, scikit-learn and numpy.
"""

import math

import numpy as np
import torch
from sklearn import datasets
from sklearn.model_selection import train_test_split
from torch import nn

CLASS_NAMES = {class_names}
DATA_SEED = {data_seed}  # the generated points and the splits ("Seed" on the Data page)
SEED = {seed}  # the shuffle order and dropout ("Shuffle seed" on the Train page)
INIT_SEED = {init_seed}  # the starting weights ("New weights" draws another)
TEST_FRACTION = {test_fraction}
VAL_FRACTION = {val_fraction}  # held out from the training part: curves and early stopping use it
LABEL_NOISE = {label_noise}  # the share of the training labels flipped to a wrong class on purpose (Data page)
DEVICE = {device}  # where the model trains ("Device" on the Train page)


def split(X, y):
    """Train / validation / test, stratified, as on the Data page."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_FRACTION, stratify=y,
                                                        random_state=DATA_SEED)
    if VAL_FRACTION == 0:
        return X_train, y_train, X_train[:0], y_train[:0], X_test, y_test
    X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, test_size=VAL_FRACTION, stratify=y_train,
                                                      random_state=DATA_SEED)
    return X_train, y_train, X_val, y_val, X_test, y_test


def flip_labels(y):
    """Label noise: LABEL_NOISE of the training labels, chosen at random, moved to another class at random."""
    count = round(LABEL_NOISE * len(y))
    if count == 0:
        return y
    rng = np.random.default_rng([DATA_SEED, 19])  # a stream of its own, seeded from the data seed
    chosen = rng.choice(len(y), size=count, replace=False)
    y = y.copy()
    y[chosen] = (y[chosen] + rng.integers(1, len(CLASS_NAMES), size=count)) % len(CLASS_NAMES)
    return y
'''

POINTS = {
    "circles": "X, y = datasets.make_circles(n_samples=N, noise=NOISE, factor={factor}, random_state=DATA_SEED)",
    "moons": "X, y = datasets.make_moons(n_samples=N, noise=NOISE, random_state=DATA_SEED)",
    "blobs": ("X, y = datasets.make_blobs(n_samples=N, centers={n_classes}, cluster_std=0.5 + 4 * NOISE, "
              "random_state=DATA_SEED)\n"
              "    X = (X - X.mean(axis=0)) / X.std(axis=0)  # every dataset on a similar scale"),
    "xor": ("rng = np.random.default_rng(DATA_SEED)\n    X = rng.uniform(-1.0, 1.0, size=(N, 2))\n"
            "    X += np.sign(X) * 0.05  # off the axes, so the quadrants stay apart before noise\n"
            "    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)\n    X = X + rng.normal(scale=NOISE, size=X.shape)"),
    "spiral": ("rng = np.random.default_rng(DATA_SEED)\n"
               "    arms = {n_classes}\n    per_arm = np.full(arms, N // arms)\n"
               "    per_arm[: N % arms] += 1\n    parts, labels = [], []\n"
               "    for arm, count in enumerate(per_arm):\n"
               "        t = np.sqrt(rng.uniform(0.0, 1.0, count)) * 2.5 * np.pi + 0.3\n"
               "        angle, r = t + 2 * np.pi * arm / arms, t / (2.5 * np.pi)\n"
               "        pts = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)\n"
               "        parts.append(pts + rng.normal(scale=NOISE * 0.5, size=pts.shape))\n"
               "        labels.append(np.full(count, arm))\n    X, y = np.concatenate(parts), np.concatenate(labels)"),
    "gaussians": ("rng = np.random.default_rng(DATA_SEED)\n    half = N // 2\n"
                  "    X = np.concatenate([rng.normal(-1.0, "
                  "0.5 + 2 * NOISE, (half, 2)), rng.normal(1.0, 0.5 + 2 * NOISE, (N - half, 2))])\n"
                  "    y = np.repeat([0, 1], [half, N - half])"),
}

POINTS_WHAT = {"circles": "Two circles", "moons": "Two half-moons", "blobs": "Gaussian blobs", "xor": "XOR",
               "spiral": "Spiral arms", "gaussians": "Two Gaussian clouds"}  # load_data's docstring

POINTS_DATA = '''

N, NOISE = {n_samples}, {noise}


def load_data():
    """{what}, split three ways (Data page)."""
    {generate}
    return split(X.astype(np.float32), y.astype(np.int64))
'''

CSV_DATA = '''

POINTS = {points}  # your own points: x, y, class index


def load_data():
    """Your own points, split three ways and standardised with the training split's mean and spread."""
    data = np.array(POINTS, dtype=np.float64)
    X, y = data[:, :2], data[:, 2].astype(np.int64)
    X_train, y_train, X_val, y_val, X_test, y_test = split(X, y)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scale = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return scale(X_train), y_train, scale(X_val), y_val, scale(X_test), y_test
'''

MNIST_DATA = '''

import gzip  # noqa: E402
from pathlib import Path  # noqa: E402

DATA_DIR = Path({data_dir})  # the folder with the MNIST files
TRAIN_SIZE = {train_size}  # a stratified subset of the training part, or None for all of it


def read_idx(path):
    """An IDX file (the format MNIST is published in), gzipped or not."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(raw[3]))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3]).reshape(shape)


def find(stem):
    for folder in (DATA_DIR, DATA_DIR / "MNIST" / "raw"):
        for suffix in ("", ".gz"):
            if (folder / (stem + suffix)).is_file():
                return folder / (stem + suffix)
    return None


def load_data():
    """Real MNIST: the official 60,000/10,000 split when all four files are there, else the 10,000 test
    digits split 80/20; validation is taken from the training part (Data page)."""
    train_images, train_labels = find("train-images-idx3-ubyte"), find("train-labels-idx1-ubyte")
    images, labels = read_idx(find("t10k-images-idx3-ubyte")), read_idx(find("t10k-labels-idx1-ubyte"))
    if train_images and train_labels:
        X_train, y_train = read_idx(train_images), read_idx(train_labels)
        X_test, y_test = images, labels
    else:
        X_train, X_test, y_train, y_test = train_test_split(images, labels, test_size=TEST_FRACTION, stratify=labels,
                                                            random_state=DATA_SEED)
    X_val, y_val = X_train[:0], y_train[:0]
    if VAL_FRACTION:
        X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, test_size=VAL_FRACTION, stratify=y_train,
                                                          random_state=DATA_SEED)
    if TRAIN_SIZE is not None and TRAIN_SIZE < len(y_train):
        X_train, _, y_train, _ = train_test_split(X_train, y_train, train_size=TRAIN_SIZE, stratify=y_train,
                                                  random_state=DATA_SEED)
    norm = lambda a: ((a.astype(np.float32)[:, None] / 255.0 - 0.1307) / 0.3081)  # noqa: E731  (n, 1, 28, 28)
    as_int = lambda a: a.astype(np.int64)  # noqa: E731
    return norm(X_train), as_int(y_train), norm(X_val), as_int(y_val), norm(X_test), as_int(y_test)
'''

TRAINING = '''

# --- training (Train page) ------------------------------------------------------------------------------

OPTIMIZER, LR, MOMENTUM = {optimizer}, {lr}, {momentum}
BATCH_SIZE = {batch_size}  # 0: the whole training split at once
EPOCHS, WEIGHT_DECAY, L1, SCHEDULE, PATIENCE = {epochs}, {weight_decay}, {l1}, {schedule}, {patience}
# The stopping rule (PATIENCE 0: none, train all EPOCHS). A new low of the validation loss counts when it beats the
# last by MIN_DROP x the chance loss; the run stops after PATIENCE epochs without one (or two fifths of the epochs
# the last one took, if longer). Until the loss is under LEARNED x chance, the training loss's new lows count too,
# and the run waits PATIENCE epochs per hidden layer past the first while the gradient reaches the first layer (a
# deep network's plateau at the start; a layer of dead ReLUs passes back none, and such a run stops after PATIENCE).
MIN_DROP, SEARCH_DROP, LEARNED, PATIENCE_SHARE = {min_drop}, {search_drop}, {learned}, {patience_share}


def make_optimizer(model):
    params = list(model.parameters())
    if OPTIMIZER == "sgd":
        return torch.optim.SGD(params, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    if OPTIMIZER == "rmsprop":
        return torch.optim.RMSprop(params, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    kind = torch.optim.AdamW if OPTIMIZER == "adamw" else torch.optim.Adam
    return kind(params, lr=LR, weight_decay=WEIGHT_DECAY)


def make_schedule(optimizer, total_steps):
    if SCHEDULE == "step":  # x0.1 after each third of the run
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, total_steps // 3), gamma=0.1)
    if SCHEDULE == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if SCHEDULE == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=total_steps)
    return None


def evaluate(model, X, y):
    """(mean loss, accuracy) with dropout off and no gradients."""
    if len(y) == 0:
        return float("nan"), float("nan")
    model.eval()
    with torch.no_grad():
        out = model(X)
        loss = loss_of(out, y).item()
        accuracy = (predict(out) == y).float().mean().item()
    model.train()
    return loss, accuracy


def chance_loss(y):
    """The loss of always answering the class frequencies p: -sum p log p (mse: (1 - sum p^2) / classes)."""
    p = torch.bincount(y).double() / len(y)
    if LOSS == "mse":
        return float((1 - (p * p).sum()) / len(p))
    p = p[p > 0]
    return float(-(p * p.log()).sum())


class Stopping:
    """Fed each epoch's losses: keeps the best weights, says when the run has stopped improving."""

    def __init__(self, chance):
        self.chance, self.best_loss, self.best_state = chance, float("inf"), None
        self.mark, self.search_mark, self.progress_epoch, self.learned = float("inf"), float("inf"), 0, False

    def update(self, model, epoch, train_loss, val_loss):
        loss = train_loss if math.isnan(val_loss) else val_loss  # no validation split: the training loss
        if loss < self.best_loss:
            self.best_loss, self.best_state = loss, {{k: v.detach().clone() for k, v in model.state_dict().items()}}
        progress = loss < self.mark - MIN_DROP * self.chance
        if progress:
            self.mark = loss
        self.learned = self.learned or loss < LEARNED * self.chance
        if train_loss < self.search_mark - SEARCH_DROP * self.chance:
            self.search_mark = train_loss
            progress = progress or not self.learned
        if progress:
            self.progress_epoch = epoch
        waited = epoch - self.progress_epoch
        return waited >= max(PATIENCE, int(self.progress_epoch * PATIENCE_SHARE)) and (
            self.learned or waited >= PATIENCE * plateau_layers(model))


def plateau_layers(model):
    """The hidden layers past the first (at least 1) while the last step's gradient from the data reaches the first
    weighted layer, else 1. With an L1 penalty, which reaches the weights on its own, the layer's bias is read."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    first = layers[0] if layers else None
    grad = None if first is None else first.bias.grad if L1 and first.bias is not None else first.weight.grad
    return max(1, len(layers) - 2) if grad is not None and bool(grad.any()) else 1


def train(model, X, y, X_val, y_val):
    """Shuffled batches every epoch; the validation split draws the curves and decides when to stop."""
    n = len(y)
    batch = n if BATCH_SIZE == 0 else min(BATCH_SIZE, n)
    optimizer = make_optimizer(model)
    schedule = make_schedule(optimizer, EPOCHS * -(-n // batch))
    shuffle = torch.Generator().manual_seed(SEED)  # the run's own generators, both seeded SEED: the batch order
    masks = torch.Generator(device=DEVICE).manual_seed(SEED)  # and the dropout masks
    for layer in model.modules():
        if isinstance(layer, Dropout):
            layer.generator = masks
    stopping = Stopping(chance_loss(y))
    model.train()
    for epoch in range(1, EPOCHS + 1):
        order = torch.randperm(n, generator=shuffle).to(DEVICE)
        X_epoch, y_epoch = X[order], y[order]
        loss_sum = 0.0
        for start in range(0, n, batch):
            xb = X_epoch[start: start + batch]
            loss = loss_of(model(augment(xb) if AUGMENT else xb), y_epoch[start: start + batch])
            loss_sum += loss.item() * len(xb)  # the epoch's training loss, as the dashboard's curve shows it
            if L1:  # the L1 penalty: rate x the sum of |w| over the weights (not the biases)
                loss = loss + L1 * sum(p.abs().sum() for name, p in model.named_parameters() if name.endswith("weight"))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
        val_loss, val_acc = evaluate(model, X_val, y_val)
        if epoch == 1 or epoch == EPOCHS or epoch % max(1, EPOCHS // 10) == 0:
            print(f"epoch {{epoch}}: validation loss {{val_loss:.4f}}, validation accuracy {{val_acc:.2%}}")
        if PATIENCE and stopping.update(model, epoch, loss_sum / n, val_loss):
            print(f"stopped at epoch {{epoch}}: the loss has stopped improving")
            break
    if stopping.best_state is not None:  # the weights of the epoch with the lowest validation loss
        model.load_state_dict(stopping.best_state)


if __name__ == "__main__":
    X_train, y_train, X_val, y_val, X_test, y_test = load_data()
    y_train = flip_labels(y_train)  # label noise: the training labels only; validation and test stay true
    X_train, y_train, X_val, y_val, X_test, y_test = (torch.as_tensor(a).to(DEVICE) for a in (
        X_train, y_train, X_val, y_val, X_test, y_test))
    print(f"{{len(y_train):,}} training, {{len(y_val):,}} validation and {{len(y_test):,}} test points")
    model = build_model().to(DEVICE)
    train(model, X_train, y_train, X_val, y_val)
    _, accuracy = evaluate(model, X_test, y_test)  # the test split, used once, at the end (Evaluate page)
    print(f"test accuracy: {{accuracy:.4f}} on {{len(y_test):,}} points")
'''
