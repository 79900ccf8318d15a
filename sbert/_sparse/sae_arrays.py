"""The SparseAutoEncoder without torch: its settings check (both backends') and, for a CSR model on ONNX
Runtime, the module itself in numpy: the k-sparse code of the dense embeddings the graph gives, computed as
the torch module computes it in inference (:mod:`.sparse_auto_encoder`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import is_positive_int
from .._errors import InputError, ModelLoadError
from .._format.layout import read_json
from .._modules.renamed_dimension import RenamedDimensionMethods

CONFIG_KEYS = ("input_dim", "hidden_dim", "k", "k_aux", "normalize", "dead_threshold")
DEFAULTS = {"hidden_dim": 512, "k": 8, "k_aux": 512, "normalize": False, "dead_threshold": 30}  # the class's
# The tied weight under both of its state-dict names (a file may hold either, or both).
TIED_NAMES = ("encoder.weight", "decoder.linear.weight")
_LN_EPS = 1e-5  # the torch module's LN default


def check_settings(
    input_dim: Any, hidden_dim: Any, k: Any, k_aux: Any, normalize: Any, dead_threshold: Any
) -> None:
    for name, value in (("input_dim", input_dim), ("hidden_dim", hidden_dim), ("k", k)):
        if not is_positive_int(value):
            raise InputError(f"SparseAutoEncoder: {name} must be a positive integer, got {value!r}.")
    if k > hidden_dim:
        raise InputError(
            f"SparseAutoEncoder: k={k} active latents out of hidden_dim={hidden_dim}; use k <= hidden_dim."
        )
    for name, value in (("k_aux", k_aux), ("dead_threshold", dead_threshold)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"SparseAutoEncoder: {name} must be a non-negative integer, got {value!r}.")
    if not isinstance(normalize, bool):
        raise InputError(f"SparseAutoEncoder: normalize must be True or False, got {normalize!r}.")


def check_count(count: Any, name: str, hidden_dim: int) -> None:
    """``count`` latents kept per row (``name``: the setting that asks) must be 1 to ``hidden_dim``."""
    if not is_positive_int(count) or count > hidden_dim:
        raise InputError(
            f"SparseAutoEncoder keeps {name}={count} latents, but it has hidden_dim={hidden_dim}: "
            f"use a positive value up to {hidden_dim} (or a larger hidden_dim)."
        )


class OnnxSparseAutoEncoder(RenamedDimensionMethods):
    """A saved SparseAutoEncoder (its ``config.json`` and ``model.safetensors``) in numpy, for inference:
    ``codes`` maps ``(B, input_dim)`` embeddings to their ``k``-sparse ``(B, hidden_dim)`` codes."""

    stands_for = "SparseAutoEncoder"

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file

        config = read_json(folder / "config.json")
        settings = {key: config.get(key, DEFAULTS.get(key)) for key in CONFIG_KEYS}
        try:
            check_settings(**settings)
        except InputError as e:
            raise ModelLoadError(f"{folder / 'config.json'}: {e}") from e
        for key, value in settings.items():
            setattr(self, key, value)
        path = folder / "model.safetensors"
        if not path.is_file():
            raise ModelLoadError(
                f"{folder} has no model.safetensors: sbert reads a SparseAutoEncoder's weights on "
                "backend='onnx' from safetensors only. Load the model with backend='torch' "
                "(allow_pickle=True for a pickled file you trust)."
            )
        try:
            tensors = load_file(str(path))
        except Exception as e:  # safetensors raises its own error types for a corrupt file
            raise ModelLoadError(f"{path} could not be read ({type(e).__name__}: {e})") from e
        weight = next((tensors[name] for name in TIED_NAMES if name in tensors), None)
        shapes = {
            "weight": (self.hidden_dim, self.input_dim),
            "pre_bias": (self.input_dim,),
            "latent_bias": (self.hidden_dim,),
        }
        found = {
            "weight": weight,
            "pre_bias": tensors.get("pre_bias"),
            "latent_bias": tensors.get("latent_bias"),
        }
        for name, array in found.items():
            if array is None or array.shape != shapes[name]:
                got = "missing" if array is None else f"shape {tuple(array.shape)}"
                raise ModelLoadError(f"{path}: {name} must have shape {shapes[name]}, {got}.")
        self._tensors = tensors  # saved back as loaded
        self._weight_t = np.ascontiguousarray(weight.astype(np.float32).T)  # (input_dim, hidden_dim)
        self._pre_bias = found["pre_bias"].astype(np.float32)
        self._latent_bias = found["latent_bias"].astype(np.float32)

    def codes(self, embeddings: np.ndarray, k: int | None = None) -> np.ndarray:
        """The ``k`` (default: the module's) largest latents of each row, ReLU'd, the rest zero."""
        k = self.k if k is None else k
        check_count(k, "max_active_dims" if k != self.k else "k", self.hidden_dim)
        x = np.asarray(embeddings, dtype=np.float32)
        if self.normalize:  # the torch module's LN: standardized by the unbiased std
            centered = x - x.mean(axis=-1, keepdims=True)
            x = centered / (centered.std(axis=-1, ddof=1, keepdims=True) + _LN_EPS)
        latents = (x - self._pre_bias) @ self._weight_t + self._latent_bias
        picked = np.argpartition(-latents, k - 1, axis=-1)[:, :k]
        code = np.zeros_like(latents)
        np.put_along_axis(code, picked, np.maximum(np.take_along_axis(latents, picked, axis=-1), 0), axis=-1)
        return code

    def get_embedding_dimension(self) -> int:
        """The width of the sparse embeddings: ``hidden_dim`` (only ``k`` of them are non-zero)."""
        return self.hidden_dim

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in CONFIG_KEYS}

    def save(self, folder: Path) -> None:
        """Its settings and the weights it was loaded with, as the torch module saves them."""
        from safetensors.numpy import save_file

        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.get_config_dict(), indent=4), encoding="utf-8")
        save_file(self._tensors, str(folder / "model.safetensors"))

    def __repr__(self) -> str:
        return f"SparseAutoEncoder({self.get_config_dict()})"
