"""The exported script's model section: its own dropout and starting weights, then the dense or convolutional layers.

Filled in by `core.export.script` like `core.export.templates`; braces the script itself needs are doubled. The
random parts draw as the dashboard does (core.models): the weights from a generator seeded INIT_SEED, layer by
layer with PyTorch's default distributions, and the dropout masks from the run's generator, seeded SEED.
"""

DRAWS = '''

# --- the model (Model page) -----------------------------------------------------------------------------


class Dropout(nn.Module):
    """Dropout whose masks come from its own generator (train() hands it the run's), so a seed fixes them."""

    def __init__(self, p):
        super().__init__()
        self.p, self.generator = p, torch.Generator().manual_seed(0)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x  # evaluation: every unit kept
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator).div_(1 - self.p)
        return x * keep  # training: each unit zeroed with probability p, the rest scaled by 1 / (1 - p)


def init_weights(model):
    """The starting weights, drawn layer by layer from a generator seeded INIT_SEED, as in the dashboard:
    PyTorch's default distributions (kaiming-uniform weights, biases uniform in +-1/sqrt(fan_in))."""
    generator = torch.Generator().manual_seed(INIT_SEED)
    for layer in model.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(layer.weight[0].numel())  # fan_in: inputs of one unit (or one filter)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return model
'''

DENSE_MODEL = '''

HIDDEN = {hidden}  # units per hidden layer; () is logistic regression
ACTIVATION = {activation}
DROPOUT = {dropout}
{first_layer}

def build_model():
    """Dense layers, each followed by the activation; the last layer gives the logits (OUTPUTS of them)."""
    layers, width = [{first_module}], {width}
    for units in HIDDEN:
        layers += [nn.Linear(width, units), ACTIVATION()]
        if DROPOUT > 0:
            layers.append(Dropout(DROPOUT))
        width = units
    layers.append(nn.Linear(width, OUTPUTS))
    return init_weights(nn.Sequential(*layers))
'''

FEATURE_LAYER = '''FEATURES = {features}  # the input features (Model page): x, y, x², y², x·y, sin x, sin y


class InputFeatures(nn.Module):
    """A fixed first layer with no weights: raw (x, y) -> the chosen features."""

    FUNCTIONS = {{"x": lambda x, y: x, "y": lambda x, y: y, "xx": lambda x, y: x * x, "yy": lambda x, y: y * y,
                 "xy": lambda x, y: x * y, "sinx": lambda x, y: torch.sin(x), "siny": lambda x, y: torch.sin(y)}}

    def forward(self, X):
        if FEATURES == ("x", "y"):
            return X
        return torch.stack([self.FUNCTIONS[name](X[:, 0], X[:, 1]) for name in FEATURES], dim=1)
'''

CONV_MODEL = '''

ACTIVATION = {activation}
DROPOUT = {dropout}


def build_model():
    """{what}"""
    act = ACTIVATION
    return init_weights(nn.Sequential(
{layers}
    ))
'''

CONV_LAYERS = {
    "cnn": ("A small CNN: two 3x3 convolutions with pooling, then a dense layer of 128.",
            "        nn.Conv2d(1, {w}, 3, padding=1), act(), nn.MaxPool2d(2),  # (B, 1, 28, 28) -> (B, {w}, 14, 14)\n"
            "        nn.Conv2d({w}, {w2}, 3, padding=1), act(), nn.MaxPool2d(2),  # -> (B, {w2}, 7, 7)\n"
            "        nn.Flatten(), Dropout(DROPOUT), nn.Linear({w2} * 7 * 7, 128), act(),\n"
            "        nn.Linear(128, OUTPUTS),"),
    "lenet": ("LeNet-5: two 5x5 convolutions with average pooling, then dense layers of 120 and 84.",
              "        nn.Conv2d(1, 6, 5, padding=2), act(), nn.AvgPool2d(2),  # (B, 1, 28, 28) -> (B, 6, 14, 14)\n"
              "        nn.Conv2d(6, 16, 5), act(), nn.AvgPool2d(2),  # -> (B, 16, 5, 5)\n"
              "        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), act(), Dropout(DROPOUT),\n"
              "        nn.Linear(120, 84), act(), nn.Linear(84, OUTPUTS),"),
}

SINE = '''

class Sine(nn.Module):
    """The sine activation: sin(x), unit by unit."""

    def forward(self, x):
        return torch.sin(x)
'''

HEAD_AND_LOSS = '''

# --- the output and the loss (Model and Train pages) ----------------------------------------------------

HEAD = {head}  # "softmax": one logit per class; "sigmoid" (two classes): one logit z, p(class 1) = sigmoid(z)
OUTPUTS = 1 if HEAD == "sigmoid" else len(CLASS_NAMES)
LOSS = {loss}  # "cross_entropy" (binary cross-entropy with a sigmoid head) or "mse": mean squared error


def loss_of(out, y):
    """The mean loss of the model's outputs `out` against the labels y."""
    if HEAD == "sigmoid":
        z, target = out[:, 0], y.float()
        if LOSS == "mse":
            return ((torch.sigmoid(z) - target) ** 2).mean()
        return nn.functional.binary_cross_entropy_with_logits(z, target)
    if LOSS == "mse":  # the probabilities against the one-hot labels
        return ((torch.softmax(out, dim=1) - nn.functional.one_hot(y, OUTPUTS).float()) ** 2).mean()
    return nn.functional.cross_entropy(out, y)


def predict(out):
    """The labels: z > 0 (a probability above 1/2) with a sigmoid head, else the largest logit."""
    return (out[:, 0] > 0).long() if HEAD == "sigmoid" else out.argmax(1)
'''

AUGMENT = '''

# --- augmentation of the training images (Train page) ---------------------------------------------------

AUGMENT = {strengths}  # shift in pixels, rotate in degrees, scale in percent: the largest random amounts
warps = torch.Generator().manual_seed(SEED + 19019)  # the augmentation's own stream, apart from the batch order


def augment(images):
    """Every image shifted, rotated and scaled at random within AUGMENT, in one affine warp (B, 1, 28, 28)."""
    u = torch.rand((len(images), 4), generator=warps) * 2 - 1  # four numbers in [-1, 1] per image
    angle = u[:, 0] * math.radians(AUGMENT.get("rotate", 0.0))
    zoom = 1 + u[:, 1] * AUGMENT.get("scale", 0.0) / 100
    shift = AUGMENT.get("shift", 0.0) * 2 / 28  # pixels -> the grid's [-1, 1] units
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, u[:, 2] * shift], 1), torch.stack([sin, cos, u[:, 3] * shift], 1)], 1)
    grid = nn.functional.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    return nn.functional.grid_sample(images, grid, padding_mode="border", align_corners=False)  # edges: background
'''

NO_AUGMENT = '''
AUGMENT = {}  # no augmentation (it is for digit images)
'''  # written as it is: no slots to fill
