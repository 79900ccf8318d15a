"""Torch backend: run the module pipeline on padded numpy batches, in fp32, bf16 or fp16."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InputError
from .base import Backend, BackendContext

TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
# The batch entry of an encode call's keywords for the modules' forward (sentence-transformers' kwargs).
MODULE_OPTIONS = "module_options"


def precision_dtype(precision: str) -> Any:
    """The torch dtype a model of ``precision`` computes in (an int8 ONNX graph takes and gives float32);
    numpy's float32 where torch is not installed (an ONNX model needs no torch)."""
    try:
        import torch
    except ImportError:
        return np.dtype("float32")
    return getattr(torch, TORCH_DTYPES.get(precision, "float32"))


class TorchRunner:
    """Maps padded numpy batches to sentence embeddings with a torch ``Sequential`` of sbert modules.

    In bf16/fp16 only the encoder runs in low precision; pooling, Dense and Normalize stay fp32
    (the Transformer module hands fp32 token embeddings on).
    """

    def __init__(self, network: Any, device: Any, precision: str) -> None:
        import torch

        if precision not in TORCH_DTYPES:
            raise InputError(f"The torch backend runs {sorted(TORCH_DTYPES)}, not {precision!r}.")
        self.network = network
        self.device = device
        self.precision = precision
        # Only a Transformer's encoder runs in low precision (every route's, in a Router); other input
        # modules (static embeddings, word embeddings) are lookups that stay fp32.
        for encoder in [m.auto_model for m in network.modules() if hasattr(m, "auto_model")]:
            encoder.to(getattr(torch, TORCH_DTYPES[precision]))
        self.takes_token_type_ids = getattr(network[0], "takes_token_type_ids", False)

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        from .._modules.hooks import forward_hooked
        from .._modules.padding_free import own_inference

        names = ("input_ids", "attention_mask") + (("token_type_ids",) if self.takes_token_type_ids else ())
        features = {name: torch.from_numpy(batch[name]).to(self.device) for name in names}
        if "prompt_length" in batch:  # Pooling with include_prompt=False leaves these tokens out
            features["prompt_length"] = int(batch["prompt_length"])
        keywords = dict(batch.get(MODULE_OPTIONS) or {})
        if batch.get("task") is not None:  # a Router's route (encode(task=...), encode_query, ...)
            features["task"] = keywords["task"] = str(batch["task"])
        if getattr(self.network, "observed", False) or forward_hooked(self.network):
            features = _as_preprocessed(features, batch, self.network)  # a hook sees sentence-transformers'
        with own_inference(self.network):
            embeddings = self.network(features, **keywords)["sentence_embedding"]
        return embeddings.float().cpu().numpy()


def _as_preprocessed(features: dict[str, Any], batch: dict[str, Any], network: Any) -> dict[str, Any]:
    """``features`` as sentence-transformers 6's ``preprocess`` gives them: the tokenizer's token_type_ids
    (where it makes them, read by the encoder or not), the input's modality, and the task only where a
    Router tokenized them (elsewhere encode passes it as a keyword alone)."""
    import torch

    from .._tokens.hf_methods import feature_names

    if getattr(network[0], "gives_token_type_ids", False) and "token_type_ids" in batch:
        device = features["input_ids"].device
        types = {"token_type_ids": torch.from_numpy(batch["token_type_ids"]).to(device)}
        tokens = {**features, **types}
        features = {**{k: tokens[k] for k in feature_names(True)}, **features}
    features["modality"] = "text"
    if not hasattr(network[0], "input_module"):  # sbert's Router has input_module
        features.pop("task", None)
    return features


def _start(context: BackendContext) -> TorchRunner:
    import torch

    network = context.torch_network()
    return TorchRunner(network, torch.device(context.device or "cpu"), context.precision)


BACKEND = Backend(
    name="torch",
    precisions=tuple(TORCH_DTYPES),
    needs_torch_modules=True,
    available=lambda: True,
    is_ready=lambda context: context.folder is None or not context.export_only,
    start=_start,
)
