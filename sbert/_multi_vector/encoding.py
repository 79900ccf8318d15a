"""A MultiVectorEncoder's encode loop: texts sorted by length into batches, each tokenized for its task, run
through the pipeline, and each text's scored tokens (the MultiVectorMask's ``attention_mask``) kept, in input
order, as sentence-transformers' ``MultiVectorEncoder.encode`` returns them."""

from __future__ import annotations

from typing import Any

import torch

from .._modules.padding_free import is_dynamically_quantized, own_inference, run_padded
from .encode_options import EncodeOptions, encode_sorted
from .pipeline import MultiVectorNetwork
from .task_inputs import preprocess
from .token_pooling import unit_length


def run_encode(
    network: MultiVectorNetwork,
    texts: list[str],
    options: EncodeOptions,
    user: tuple[Any, dict[str, Any]] | None = None,
) -> list[Any]:
    """One tensor of token vectors per text (a feature dict per text with ``output_value=None``). ``user``:
    the model and the call's keywords where a user replaced its ``preprocess`` or ``forward``: both are
    called for each batch as sentence-transformers' encode calls them (the prompt, the task, the keywords)."""
    network.eval()
    device = next(network.parameters()).device
    if getattr(network[0], "padding_free", False) and is_dynamically_quantized(network):
        # torch's quantize_dynamic applied to the model (cherche's utils.quantize): its layers scale each
        # call's inputs by their range, padded positions included, so the padded forward, as there
        run_padded(network)
    # output_value=None returns each text's features padded as its batch: the padded positions' vectors are
    # the encoder's too (as sentence-transformers computes them), so the padded forward for this call
    padded = run_padded(network) if options.output_value is None else []

    def run_batch(batch: list[str]) -> list[Any]:
        if user is None:
            features = preprocess(network[0], batch, options.prompt, options.task, options.processing_kwargs)
        else:
            features = user[0].preprocess(batch, prompt=options.prompt, task=options.task, **user[1])
        features = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
        # a user's preprocess or forward runs as sentence-transformers runs it: every position computed
        with own_inference(network) if user is None else torch.inference_mode():
            if user is None:
                features = network(features, task=options.task)
            else:
                features = user[0](features, task=options.task, **user[1])
        return batch_outputs(features, len(batch), options)

    try:
        return encode_sorted(texts, options, run_batch)
    finally:
        for module in padded:
            module.padding_free = True


def batch_outputs(features: dict[str, Any], size: int, options: EncodeOptions) -> list[Any]:
    """Each text's scored tokens: normalized when asked, pooled (the texts of the token pooling's tasks), then
    cut to ``truncate_dim`` and re-normalized."""
    cut, pooling = options.truncate_dim, options.token_pooling
    if options.output_value is None:  # each text's features, unsliced (normalize does not apply)
        if pooling is not None:
            features = pooling(features, task=options.task)
        if cut is not None:
            features["token_embeddings"] = unit_length(features["token_embeddings"][..., :cut])
        return [
            {
                name: value[i]
                if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape[0] == size
                else value
                for name, value in features.items()
            }
            for i in range(size)
        ]
    masks = features["attention_mask"].bool()
    items = [tokens[mask] for tokens, mask in zip(features["token_embeddings"], masks)]
    if options.normalize:
        items = [unit_length(item) for item in items]
    if pooling is not None:
        items = pooling.pool(items, task=options.task)
    return items if cut is None else [unit_length(item[..., :cut]) for item in items]
