"""SparseAutoEncoder: CSR (Contrastive Sparse Representation), a dense sentence embedding ``(B, d)`` becomes a
``k``-sparse code over ``hidden_dim`` latents ``(B, h)``.

From "Beyond Matryoshka" (arXiv 2503.01776): subtract a learned bias, project with ``W`` (``h x d``) plus a
latent bias, keep the ``k`` largest pre-activations and ReLU them. The decoder is ``W`` transposed (tied), so
the file holds ``W`` once. In inference (``torch.inference_mode``) only the code is computed; otherwise the
forward also hands on what sentence-transformers' CSR losses read, under its feature keys: reconstructions
from the ``k`` and ``4k`` largest latents, and from the ``k_aux`` largest latents of the dead units (none of
their values above 1e-5 for more than ``dead_threshold`` training steps), which keeps those units learning.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._errors import InputError, ModelLoadError
from .._modules.base import Module
from .._modules.config_module import WEIGHTS_FILE, build_from_config, read_weights
from .._modules.loading import st_loading
from .sae_arrays import TIED_NAMES, check_count, check_settings

_ALIVE = 1e-5  # a latent above this counts as active for the dead-unit statistics


class TiedTranspose(nn.Module):
    """The decoder: the encoder's weight, transposed (no weights of its own)."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.linear.bias is not None:
            raise InputError("TiedTranspose does not support layers with bias: tie it to a bias-free Linear.")
        return F.linear(x, self.linear.weight.t())

    @property
    def weight(self) -> torch.Tensor:
        return self.linear.weight.t()

    @property
    def bias(self) -> torch.Tensor | None:
        return self.linear.bias


class SparseAutoEncoder(Module):
    """sentence-transformers' ``SparseAutoEncoder``: same settings, same files, same numbers.

    Args:
        input_dim: the width of the dense embeddings it takes (the Pooling's output).
        hidden_dim: the number of latents, the width of the sparse embeddings.
        k: how many latents stay active per embedding (``encode``'s ``max_active_dims`` overrides it).
        k_aux: how many dead latents the auxiliary reconstruction uses in training (0: none).
        normalize: standardize each embedding (zero mean, unit std) before encoding.
        dead_threshold: a latent inactive for more than this many training steps counts as dead.

    Example::

        transformer = Transformer("bert-base-uncased")
        pooling = Pooling(transformer.get_embedding_dimension(), "mean")
        csr = SparseAutoEncoder(input_dim=768, hidden_dim=4 * 768, k=256, k_aux=512)
        model = SparseEncoder(modules=[transformer, pooling, csr])
    """

    config_keys = ["input_dim", "hidden_dim", "k", "k_aux", "normalize", "dead_threshold"]
    forward_kwargs = {"max_active_dims"}  # what SparseEncoder.encode passes on

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int = 512,
        k: int = 8,
        k_aux: int = 512,
        normalize: bool = False,
        dead_threshold: int = 30,
    ) -> None:
        super().__init__()
        check_settings(input_dim, hidden_dim, k, k_aux, normalize, dead_threshold)
        self.input_dim, self.hidden_dim = input_dim, hidden_dim
        self.k, self.k_aux = k, k_aux
        self.normalize, self.dead_threshold = normalize, dead_threshold
        self.pre_bias = nn.Parameter(torch.zeros(input_dim))
        self.encoder = nn.Linear(input_dim, hidden_dim, bias=False)
        self.latent_bias = nn.Parameter(torch.zeros(hidden_dim))
        self.decoder = TiedTranspose(self.encoder)
        # training steps since each latent was last active (the dead-unit statistics)
        self.stats_last_nonzero: torch.Tensor
        self.register_buffer("stats_last_nonzero", torch.zeros(hidden_dim, dtype=torch.long))

    # ------------------------------------------------------ the steps, by sentence-transformers' names

    def LN(self, x: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x`` standardized per row, with the mean and (unbiased) std it had."""
        mu = x.mean(dim=-1, keepdim=True)
        centered = x - mu
        std = centered.std(dim=-1, keepdim=True)
        return centered / (std + eps), mu, std

    def prepare(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``x`` as the encoder takes it (standardized with ``normalize``), and what undoes that."""
        if not self.normalize:
            return x, {}
        x, mu, std = self.LN(x)
        return x, {"mu": mu, "std": std}

    def encode_pre_act(self, x: torch.Tensor) -> torch.Tensor:
        """Latents before the top-k: ``(B, d)`` -> ``(B, h)``."""
        return F.linear(x - self.pre_bias, self.encoder.weight, self.latent_bias)

    def auxk_mask_fn(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with every latent but the dead ones zeroed."""
        return x * (self.stats_last_nonzero > self.dead_threshold)

    def top_k(
        self, x: torch.Tensor, k: int | None = None, compute_aux: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The ``k`` largest latents of each row, ReLU'd, the rest zero; and, with ``compute_aux`` and
        ``k_aux``, the ``k_aux`` largest dead ones. In training (gradients on) it updates the dead-unit
        statistics."""
        latents, picked = _keep_largest(x, self.k if k is None else k)
        if self.training and torch.is_grad_enabled():
            self._count_steps(picked.indices, picked.values)
        auxiliary = None
        if self.k_aux and compute_aux:
            auxiliary, _ = _keep_largest(self.auxk_mask_fn(x), self.k_aux)
        return latents, auxiliary

    def _count_steps(self, indices: torch.Tensor, values: torch.Tensor) -> None:
        """One more step for every latent; zero for those active in this batch."""
        active = torch.zeros_like(self.stats_last_nonzero)
        active.scatter_add_(0, indices.reshape(-1), (values > _ALIVE).to(active.dtype).reshape(-1))
        self.stats_last_nonzero *= 1 - active.clamp(max=1)
        self.stats_last_nonzero += 1

    def decode(self, latents: torch.Tensor, info: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The embedding ``(B, d)`` rebuilt from ``latents`` (``info``: what :meth:`prepare` returned)."""
        rebuilt = self.decoder(latents) + self.pre_bias
        if self.normalize:
            if info is None:
                raise InputError("decode needs prepare()'s info when normalize=True (to undo the scaling).")
            rebuilt = rebuilt * info["std"] + info["mu"]
        return rebuilt

    # ------------------------------------------------------------------ the module

    def forward(self, features: dict[str, Any], max_active_dims: int | None = None) -> dict[str, Any]:
        k = self.k if max_active_dims is None else max_active_dims
        self._check_count(k, "max_active_dims" if max_active_dims is not None else "k")
        x = features["sentence_embedding"].to(self.pre_bias.dtype)  # (B, d); fp32 from a Pooling
        prepared, info = self.prepare(x)
        latents = self.encode_pre_act(prepared)  # (B, h)
        if torch.is_inference_mode_enabled():  # encoding: the code only
            features["sentence_embedding"], _ = self.top_k(latents, k, compute_aux=False)
            return features
        self._check_count(4 * k, "4 * k")
        if self.k_aux:
            self._check_count(self.k_aux, "k_aux")
        code, auxiliary = self.top_k(latents, k)
        code_4k, _ = self.top_k(latents, 4 * k, compute_aux=False)  # counts toward the statistics too
        rebuilt_aux = None if auxiliary is None else self.decoder(auxiliary) + self.pre_bias
        decoder_bias = self.pre_bias
        if self.normalize:
            decoder_bias = decoder_bias * info["std"]
            rebuilt_aux = None if rebuilt_aux is None else rebuilt_aux * info["std"]
        rebuilt_k = self.decode(code, info)
        features.update(
            {
                "sentence_embedding_backbone": x,
                "sentence_embedding_encoded": latents,
                "sentence_embedding_encoded_4k": code_4k,
                "auxiliary_embedding": auxiliary,
                "decoded_embedding_k": rebuilt_k,
                "decoded_embedding_4k": self.decode(code_4k, info),
                "decoded_embedding_aux": rebuilt_aux,
                "decoded_embedding_k_pre_bias": rebuilt_k - decoder_bias,
                "sentence_embedding": code,
            }
        )
        return features

    def _check_count(self, count: int, name: str) -> None:
        check_count(count, name, self.hidden_dim)

    @property
    def input_width(self) -> int:
        return self.input_dim

    def get_embedding_dimension(self) -> int:
        """The width of the sparse embeddings: ``hidden_dim`` (only ``k`` of them are non-zero)."""
        return self.hidden_dim

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    def __repr__(self) -> str:
        return f"SparseAutoEncoder({self.get_config_dict()})"

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """``config.json`` and ``model.safetensors`` (the tied weight once, as sentence-transformers writes
        it)."""
        from safetensors.torch import save_model

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.get_config_dict(), indent=4), encoding="utf-8")
        save_model(self, str(folder / WEIGHTS_FILE))

    @classmethod
    @st_loading
    def load(
        cls, folder: str | os.PathLike, *, allow_pickle: bool = False, **options: Any
    ) -> SparseAutoEncoder:
        module = build_from_config(cls, folder)
        weights = read_weights(folder, allow_pickle=allow_pickle)
        for name, other in (TIED_NAMES, TIED_NAMES[::-1]):
            if name not in weights and other in weights:
                weights[name] = weights[other]
        try:
            module.load_state_dict(weights)
        except RuntimeError as e:
            raise ModelLoadError(f"{folder}: the weights do not fit {module!r}: {e}") from e
        return module


def _keep_largest(x: torch.Tensor, k: int) -> tuple[torch.Tensor, Any]:
    """Each row's ``k`` largest values, ReLU'd, the rest zero; and ``torch.topk``'s result."""
    picked = torch.topk(x, k=k, dim=-1)
    kept = torch.zeros_like(x).scatter_(-1, picked.indices, picked.values)
    return F.relu(kept), picked
