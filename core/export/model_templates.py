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
ACTIVATION = nn.{activation}
DROPOUT = {dropout}
{first_layer}

def build_model():
    """Dense layers, each followed by the activation; the last layer gives one score (logit) per class."""
    layers, width = [{first_module}], {width}
    for units in HIDDEN:
        layers += [nn.Linear(width, units), ACTIVATION()]
        if DROPOUT > 0:
            layers.append(Dropout(DROPOUT))
        width = units
    layers.append(nn.Linear(width, len(CLASS_NAMES)))
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

ACTIVATION = nn.{activation}
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
            "        nn.Linear(128, len(CLASS_NAMES)),"),
    "lenet": ("LeNet-5: two 5x5 convolutions with average pooling, then dense layers of 120 and 84.",
              "        nn.Conv2d(1, 6, 5, padding=2), act(), nn.AvgPool2d(2),  # (B, 1, 28, 28) -> (B, 6, 14, 14)\n"
              "        nn.Conv2d(6, 16, 5), act(), nn.AvgPool2d(2),  # -> (B, 16, 5, 5)\n"
              "        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), act(), Dropout(DROPOUT),\n"
              "        nn.Linear(120, 84), act(), nn.Linear(84, len(CLASS_NAMES)),"),
}
