"""Inside a digit model: first-layer weights, feature maps, attributions (Captum) and embeddings of the test set."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from torch import nn

from core.config import IMAGE_SHAPE
from core.data.pixels import normalize_pixels, to_pixels
from core.insight.maps import NAME_OF_ACTIVATION, one_blas_thread
from core.models import eval_mode

ATTRIBUTION_METHODS = ("integrated_gradients", "saliency")
EMBEDDING_METHODS = ("pca", "tsne")
IG_STEPS = 32  # Integrated Gradients' path steps: enough for a stable map, well inside 300 ms for the presets
BLACK = float(normalize_pixels(np.zeros(1))[0])  # a black pixel as a model sees it: MNIST's background


@dataclass(frozen=True, eq=False)
class WeightTiles:
    """A first layer's weights as pictures: one 28x28 tile per dense unit, or one small tile per conv filter."""

    tiles: np.ndarray  # (n, h, w) float32, signed
    kind: str  # "dense" | "conv"
    layer: str  # e.g. "Linear 784 → 128" or "Conv2d 1 → 32, 3×3"


@dataclass(frozen=True, eq=False)
class FeatureMaps:
    """One conv layer's activation maps for one input, taken after its activation function."""

    name: str  # e.g. "Conv 1 · relu"
    maps: np.ndarray  # (channels, h, w) float32

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of the layer's output."""
        return tuple(self.maps.shape)


@dataclass(frozen=True, eq=False)
class Attribution:
    """How much each input pixel pushed the model towards class `target`."""

    values: np.ndarray  # (28, 28) float32: signed for integrated gradients, >= 0 for saliency
    target: int
    method: str  # one of ATTRIBUTION_METHODS
    probability: float  # the model's probability for `target` on this input


@dataclass(frozen=True, eq=False)
class Embedding:
    """Inputs placed in 2-D by their last hidden layer's activations, with the model's predictions."""

    points: np.ndarray  # (n, 2) float32
    predicted: np.ndarray  # (n,) int
    method: str  # one of EMBEDDING_METHODS


def _as_image(image: np.ndarray) -> torch.Tensor:
    """A normalised (28, 28) or (1, 28, 28) image -> a (1, 1, 28, 28) tensor."""
    image = np.asarray(image, dtype=np.float32)
    if image.shape == IMAGE_SHAPE[1:]:
        image = image[None]
    if image.shape != IMAGE_SHAPE:
        raise ValueError(f"image must be one normalised digit of shape (28, 28) or (1, 28, 28). Got {image.shape}.")
    return torch.as_tensor(image[None].copy())


def _first_weighted(model: nn.Module) -> nn.Linear | nn.Conv2d:
    layers = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    if not layers:
        raise ValueError("This model has no Linear or Conv2d layer to draw.")
    return layers[0]


def first_layer_tiles(model: nn.Module) -> WeightTiles:
    """An image model's first-layer weights: 28x28 per dense unit (MLP, logistic regression) or each conv filter."""
    layer = _first_weighted(model)
    weight = layer.weight.detach().cpu().float().numpy()
    if isinstance(layer, nn.Conv2d):
        if layer.in_channels != 1:
            raise ValueError(f"Filter tiles need a first conv on one channel. Got {layer.in_channels} channels.")
        kh, kw = layer.kernel_size
        return WeightTiles(weight[:, 0].copy(), "conv", f"Conv2d 1 → {layer.out_channels}, {kh}×{kw}")
    if layer.in_features != int(np.prod(IMAGE_SHAPE)):
        raise ValueError(f"Weight tiles are for image models (784 inputs); this model's first layer takes "
                         f"{layer.in_features}. Use neuron maps for 2-D data.")
    return WeightTiles(weight.reshape(-1, *IMAGE_SHAPE[1:]).copy(), "dense",
                       f"Linear {layer.in_features} → {layer.out_features}")


def feature_maps(model: nn.Module, image: np.ndarray) -> tuple[FeatureMaps, ...]:
    """The output of every conv layer (after its activation) for one normalised image, in order."""
    layers = list(model) if isinstance(model, nn.Sequential) else []
    if not any(isinstance(m, nn.Conv2d) for m in layers):
        raise ValueError("Feature maps need a convolutional model (cnn or lenet); this one has no Conv2d layer.")
    x = _as_image(image).to(next(model.parameters()).device)
    out, conv = [], 0
    with eval_mode(model):
        for i, layer in enumerate(layers):
            x = layer(x)
            following = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(layer, nn.Conv2d):
                conv += 1
                if type(following) in NAME_OF_ACTIVATION:
                    continue  # record it after its activation
                out.append(FeatureMaps(f"Conv {conv}", x[0].cpu().numpy().copy()))
            elif i > 0 and type(layer) in NAME_OF_ACTIVATION and isinstance(layers[i - 1], nn.Conv2d):
                out.append(FeatureMaps(f"Conv {conv} · {NAME_OF_ACTIVATION[type(layer)]}", x[0].cpu().numpy().copy()))
    return tuple(out)


@contextmanager
def _eval_with_grad(model: nn.Module) -> Iterator[nn.Module]:
    """Dropout off but gradients on (attributions differentiate the model); the train flag is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(False), torch.enable_grad():
            yield model
    finally:
        model.train(was_training)


def attribute_image(model: nn.Module, image: np.ndarray, *, target: int, method: str = "integrated_gradients",
                    n_steps: int = IG_STEPS) -> Attribution:
    """Which pixels of one normalised image moved the model towards class `target` (Captum)."""
    from captum.attr import IntegratedGradients, Saliency  # imported on first use: captum pulls in matplotlib

    if method not in ATTRIBUTION_METHODS:
        raise ValueError(f"method must be one of {', '.join(ATTRIBUTION_METHODS)}. Got {method!r} instead.")
    n_classes = [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features
    if not 0 <= int(target) < n_classes:
        raise ValueError(f"target must be a class of this model, 0 to {n_classes - 1}. Got {target} instead.")
    if n_steps < 2:
        raise ValueError(f"n_steps must be at least 2. Got {n_steps} instead.")
    with _eval_with_grad(model):
        x = _as_image(image).to(next(model.parameters()).device).requires_grad_()  # never an inference tensor
        if method == "saliency":
            values = Saliency(model).attribute(x, target=int(target), abs=True)
        else:
            values = IntegratedGradients(model).attribute(x, baselines=BLACK, target=int(target), n_steps=n_steps,
                                                          internal_batch_size=n_steps)
        with torch.no_grad():
            probability = torch.softmax(model(x), dim=1)[0, int(target)].item()
    return Attribution(values.detach()[0, 0].cpu().numpy().copy(), int(target), method, probability)


def last_hidden(model: nn.Module, X: np.ndarray, *, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The input of the model's last Linear layer (n, units) for inputs X, and the predicted classes (n,)."""
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    captured: list[torch.Tensor] = []
    hook = head.register_forward_pre_hook(lambda _module, args: captured.append(args[0].reshape(len(args[0]), -1)))
    device, predicted = next(model.parameters()).device, []
    try:
        with eval_mode(model):
            for start in range(0, len(X), batch_size):
                batch = torch.as_tensor(np.asarray(X[start: start + batch_size], dtype=np.float32), device=device)
                predicted.append(model(batch).argmax(dim=1).cpu().numpy())
    finally:
        hook.remove()
    if not captured:
        raise ValueError("X is empty: give at least one input to embed.")
    return torch.cat(captured).cpu().numpy(), np.concatenate(predicted)


def pca_points(activations: np.ndarray) -> np.ndarray:
    """(n, units) activations -> (n, 2) on their first two principal components (fast: for at once)."""
    activations = _check_rows(activations)
    with one_blas_thread():
        return PCA(n_components=2, svd_solver="covariance_eigh").fit_transform(activations).astype(np.float32)


def tsne_points(activations: np.ndarray, *, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """(n, units) activations -> (n, 2) by t-SNE (seconds for thousands of rows: run it in a job slot)."""
    activations = _check_rows(activations)
    perplexity = min(perplexity, (len(activations) - 1) / 3)  # t-SNE needs perplexity < n_samples
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(activations).astype(np.float32)


def _check_rows(activations: np.ndarray) -> np.ndarray:
    activations = np.asarray(activations, dtype=np.float32)
    if activations.ndim != 2 or len(activations) < 4 or activations.shape[1] < 2:
        raise ValueError(f"An embedding needs (n_samples >= 4, units >= 2) activations. Got {activations.shape}.")
    return activations


def embed(model: nn.Module, X: np.ndarray, *, method: str = "pca", seed: int = 0) -> Embedding:
    """Inputs X placed in 2-D from the model's last hidden layer, by PCA or t-SNE, with the predicted classes."""
    if method not in EMBEDDING_METHODS:
        raise ValueError(f"method must be one of {', '.join(EMBEDDING_METHODS)}. Got {method!r} instead.")
    activations, predicted = last_hidden(model, X)
    points = pca_points(activations) if method == "pca" else tsne_points(activations, seed=seed)
    return Embedding(points, predicted, method)


def digit_png(image: np.ndarray, *, side: int = 112) -> bytes:
    """One normalised (28, 28) or (1, 28, 28) model input as PNG bytes, white ink on black, `side` px square:
    a test digit to open on the Predict page, which reads uploads."""
    pixels = to_pixels(_as_image(image)[0, 0].numpy())
    picture = Image.fromarray((255 * pixels).round().astype(np.uint8)).resize((side, side), Image.Resampling.NEAREST)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
