"""Dense: a linear projection of the sentence embedding, with an activation."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._errors import InputError, ModelLoadError
from .._format.layout import dense_activation_name, read_json, saved_dense_activation
from .._format.usage_code import dense_usage
from .base import Module
from .loading import st_loading

_LOGGER = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"

# Activations by the import path sentence-transformers writes (the model card's code for each:
# sbert._format.usage_code.ACTIVATION_CODE). A fixed table, never an import of whatever string a config file
# holds.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "torch.nn.modules.activation.Tanh": nn.Tanh,
    "torch.nn.modules.linear.Identity": nn.Identity,
    "torch.nn.modules.activation.ReLU": nn.ReLU,
    "torch.nn.modules.activation.GELU": nn.GELU,
    "torch.nn.modules.activation.Sigmoid": nn.Sigmoid,
    "torch.nn.modules.activation.SiLU": nn.SiLU,
    # the rest of torch's element-wise activations that sentence-transformers rebuilds with no arguments
    "torch.nn.modules.activation.ELU": nn.ELU,
    "torch.nn.modules.activation.CELU": nn.CELU,
    "torch.nn.modules.activation.SELU": nn.SELU,
    "torch.nn.modules.activation.LeakyReLU": nn.LeakyReLU,
    "torch.nn.modules.activation.ReLU6": nn.ReLU6,
    "torch.nn.modules.activation.Softplus": nn.Softplus,
    "torch.nn.modules.activation.Softsign": nn.Softsign,
    "torch.nn.modules.activation.Mish": nn.Mish,
    "torch.nn.modules.activation.Hardtanh": nn.Hardtanh,
    "torch.nn.modules.activation.Hardswish": nn.Hardswish,
    "torch.nn.modules.activation.Hardsigmoid": nn.Hardsigmoid,
    "torch.nn.modules.activation.LogSigmoid": nn.LogSigmoid,
    "torch.nn.modules.activation.Tanhshrink": nn.Tanhshrink,
    "torch.nn.modules.activation.Softshrink": nn.Softshrink,
    "torch.nn.modules.activation.Hardshrink": nn.Hardshrink,
}
_SHORT_NAMES = {cls.__name__.lower(): path for path, cls in ACTIVATIONS.items()}
# The same activations passed as plain functions (``activation_function=torch.tanh``), as
# sentence-transformers allows.
_FUNCTIONS = {
    torch.tanh: "tanh",
    nn.functional.tanh: "tanh",
    torch.relu: "relu",
    nn.functional.relu: "relu",
    nn.functional.gelu: "gelu",
    torch.sigmoid: "sigmoid",
    nn.functional.sigmoid: "sigmoid",
    nn.functional.silu: "silu",
}


def activation_path(activation: Any) -> str:
    """Full import path for an activation given as a module, a function of :data:`_FUNCTIONS`, a full path or
    a short name ('tanh')."""
    if activation is None:
        return "torch.nn.modules.linear.Identity"
    if isinstance(activation, nn.Module):
        activation = f"{type(activation).__module__}.{type(activation).__name__}"
    elif callable(activation):
        if activation not in _FUNCTIONS:
            raise InputError(
                f"Unsupported activation function {activation!r}: a Dense layer's activation must be one it "
                f"can save and load safely, one of {sorted(_SHORT_NAMES)} (as a name, an nn.Module or the "
                "torch function)."
            )
        activation = _FUNCTIONS[activation]
    activation = dense_activation_name(activation)
    if activation in ACTIVATIONS:
        return activation
    if activation.lower() in _SHORT_NAMES:
        return _SHORT_NAMES[activation.lower()]
    raise InputError(f"Unknown activation {activation!r}; supported: {sorted(_SHORT_NAMES)}")


# sentence-transformers' Dense options and their defaults: config.json holds them only when they differ, so
# releases older than these options still read sbert's files (sentence-transformers 6 omits use_residual).
OPTIONAL_CONFIG = {
    "module_input_name": "sentence_embedding",
    "module_output_name": None,
    "use_residual": False,
}
KNOWN_CONFIG = ("in_features", "out_features", "bias", "activation_function", *OPTIONAL_CONFIG)


class Dense(Module):
    """``activation(W x + b)`` on the sentence embedding (B, in_features) -> (B, out_features).

    As in sentence-transformers, ``module_input_name`` names the feature it reads (``"token_embeddings"``
    projects every token), ``module_output_name`` the one it writes (default: the same), and
    ``use_residual=True`` adds the input back (through a bias-free projection when the widths differ).
    """

    config_keys = list(KNOWN_CONFIG)  # sentence-transformers' names of its settings, a list as there

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation_function: Any = "tanh",
        init_weight: torch.Tensor | None = None,
        init_bias: torch.Tensor | None = None,
        module_input_name: str = "sentence_embedding",
        module_output_name: str | None = None,
        use_residual: bool = False,
    ) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.bias = bool(bias)
        self.activation_name = activation_path(activation_function)
        self.activation_function = ACTIVATIONS[self.activation_name]()
        self.linear = nn.Linear(self.in_features, self.out_features, bias=self.bias)
        self.module_input_name = str(module_input_name)
        self.module_output_name = self.module_input_name if module_output_name is None else module_output_name
        self.use_residual = bool(use_residual)
        if self.use_residual and self.in_features != self.out_features:
            self.residual = nn.Linear(self.in_features, self.out_features, bias=False)
        with torch.no_grad():  # sentence-transformers' initial values, e.g. a projection computed elsewhere
            for name, value, target in (
                ("init_weight", init_weight, "weight"),
                ("init_bias", init_bias, "bias"),
            ):
                if value is None:
                    continue
                parameter = getattr(self.linear, target)
                if parameter is None:
                    raise InputError(f"{name} needs bias=True")
                value = torch.as_tensor(value)
                if value.shape != parameter.shape:
                    raise InputError(
                        f"{name} must have shape {tuple(parameter.shape)}, got {tuple(value.shape)}"
                    )
                parameter.copy_(value)

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        # in the weights' dtype: a pipeline cast whole (model.half()) gets the Transformer's fp32 outputs; a
        # dynamically quantized linear (torch.ao's quantize_dynamic; weight() a method) takes them as they are
        weight = self.linear.weight
        x = features[self.module_input_name]
        x = x.to(weight.dtype) if isinstance(weight, torch.Tensor) else x
        out = self.activation_function(self.linear(x))
        if self.use_residual:
            out = out + (x if self.in_features == self.out_features else self.residual(x))
        features[self.module_output_name] = out
        return features

    @property
    def input_width(self) -> int:
        return self.in_features

    def get_embedding_dimension(self) -> int:
        return self.out_features

    def usage_code(self, index: int) -> dict[str, str] | None:
        """This module's part of the model card's plain-transformers example (see sbert._format.card); None
        for a Dense on another feature than the sentence embedding, or with a residual."""
        features = (self.module_input_name, self.module_output_name)
        options = {"bias": self.bias, "activation": self.activation_name, "residual": self.use_residual}
        return dense_usage(index, features=features, weights_file=WEIGHTS_FILE, **options)

    def get_config_dict(self) -> dict[str, Any]:
        """As sentence-transformers 6 reports (and prints) it: both feature names, ``use_residual`` only
        when set."""
        config = {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias,
            "activation_function": self.activation_name,
            "module_input_name": self.module_input_name,
            "module_output_name": self.module_output_name,
        }
        return config | ({"use_residual": True} if self.use_residual else {})

    def saved_config(self) -> dict[str, Any]:
        """config.json: the options at their defaults left out (``OPTIONAL_CONFIG``)."""
        defaults = {**OPTIONAL_CONFIG, "module_output_name": self.module_input_name}
        return {k: v for k, v in self.get_config_dict().items() if k not in defaults or v != defaults[k]}

    def __repr__(self) -> str:
        return f"Dense({self.get_config_dict()})"

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        from safetensors.torch import save_file

        folder = Path(folder)
        (folder / CONFIG_FILE).write_text(json.dumps(self.saved_config(), indent=2))
        save_file(
            {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}, folder / WEIGHTS_FILE
        )

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, *, allow_pickle: bool = False, **options: Any) -> Dense:
        folder = Path(folder)
        module = cls.from_config(folder)
        weights = _read_dense_weights(folder, allow_pickle=allow_pickle)
        try:
            module.load_state_dict(weights)
        except RuntimeError as e:
            raise ModelLoadError(f"{folder}: Dense weights do not fit {module.get_config_dict()}: {e}") from e
        return module

    @classmethod
    def from_config(cls, folder: Path) -> Dense:
        """The module ``folder``'s config describes, its weights freshly initialized (not read)."""
        config = read_json(folder / CONFIG_FILE)
        unknown = sorted(set(config) - set(KNOWN_CONFIG))
        if unknown:  # a newer or another library's option: loaded without it and logged (no warning, which
            # -W error would turn into a failed load), in sentence-transformers' words
            _LOGGER.warning(
                f"Ignoring unrecognized {cls.__name__} config key(s) {unknown} from {str(folder)!r}: "
                f"not constructor parameters of {cls.__name__}."
            )
        try:
            module = cls(
                config["in_features"],
                config["out_features"],
                bias=config.get("bias", True),
                activation_function=saved_dense_activation(config),
                **{k: config[k] for k in OPTIONAL_CONFIG if k in config},
            )
        except (KeyError, TypeError, ValueError) as e:  # InputError is a ValueError
            raise ModelLoadError(f"{folder / CONFIG_FILE}: invalid Dense config ({e})") from e
        return module


def _read_dense_weights(folder: Path, *, allow_pickle: bool) -> dict[str, torch.Tensor]:
    from .._format.weights import check_safetensors_file

    safe = folder / WEIGHTS_FILE
    if safe.is_file():
        from safetensors.torch import load_file

        check_safetensors_file(safe)
        return load_file(safe)
    pickled = folder / "pytorch_model.bin"
    if pickled.is_file():
        if not allow_pickle:
            raise ModelLoadError(
                f"{pickled} is a pickle file, which can run arbitrary code when loaded; "
                "pass allow_pickle=True if you trust it."
            )
        return torch.load(pickled, map_location="cpu", weights_only=True)
    raise ModelLoadError(f"No weights for the Dense module in {folder}: expected {WEIGHTS_FILE}.")
