"""Padding-free inference for BERT-family encoders: dense layers run on the real tokens only.

A padded batch of B texts, L tokens each, spends ``B * L`` rows in every dense layer (Q/K/V, attention
output, feed-forward), which is most of an encoder's time; the real tokens are often far fewer (a server's
batches of mixed lengths: ~70 % real). Here the hidden states live packed as ``(real tokens, hidden)``
rows and are scattered to ``(B, heads, L, head_dim)`` only for attention, which needs the per-text
structure. The arithmetic is the encoder's own (same modules, same weights, same attention kernel), so the
results equal the padded forward's up to float rounding of the GEMMs' blocking.

On a CPU only: on a GPU, where batches sorted by length carry little padding and the dense layers are
cheap, the gathers, scatters and the host sync of ``nonzero`` cost more than the padded rows saved
(bench/bench_gpu.py, H200, fp32, batch 32: BERT-base short texts 3,671 texts/s padding-free against 4,221
padded, long 821 against 848; MiniLM equal within 1 %).

Used by ``Transformer`` in sbert's own inference only (:func:`own_inference`: its runners, which read
the real tokens alone; no autograd, not while tracing for ONNX export); training keeps the library's own
forward so dropout draws stay those of the reference trainer. A caller's own ``model.forward(features)``
(infinity-emb, turftopic's ``encode_chunks``) gets the padded forward, whose token embeddings at padded
positions it may read, as sentence-transformers gives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch
import torch.nn.functional as F

from .._format.encoder_class import is_library_class

# Encoders whose layers have BERT's structure (post-LayerNorm, absolute positions, self-attention only).
SUPPORTED_MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "camembert"})
# Up to this padded length, attention runs as batched matmuls + softmax: for short texts torch's fused
# CPU kernel spends its time on per-(text, head) overhead (B=128, L=16, 12 heads, 2 threads: 4.2 ms
# fused vs 2.0 ms in bf16, 5.6 vs 2.1 in fp32); in fp32, from about 96 tokens on the fused kernel wins.
BMM_ATTENTION_MAX_LENGTH = 64
# In bf16/fp16 on a CPU the matmuls win at every length (B=32, L=208, 12 heads, 2 threads, avx512_bf16:
# fused 17.9 ms, matmuls over all (text, head) pairs at once 25.3 ms, in blocks of 48 pairs 11.1 ms).
HALF_PRECISION_MATMUL_ATTENTION = True
# Pairs are taken in blocks of about this many score elements, so a block's scores stay in cache.
MATMUL_ATTENTION_BLOCK = 2**21
# On a CPU the feed-forward block runs on this many tokens at a time, so its 4x-wide intermediate stays in
# cache between the two GEMMs and the activation (long texts, 2 threads: bf16 +10 %, fp32 +5-10 %).
FEED_FORWARD_ROWS = 1024


# where torch keeps its dynamically quantized modules (torch.ao.quantization.quantize_dynamic's layers)
DYNAMIC_QUANTIZED = "torch.ao.nn.quantized.dynamic"

# The device types the padding-free forward runs on (see the module docstring for why not on GPUs).
PADDING_FREE_DEVICE_TYPES = frozenset({"cpu"})

# True while sbert's own inference runs the modules (see own_inference).
_OWN_INFERENCE: ContextVar[bool] = ContextVar("sbert_own_inference", default=False)


@contextmanager
def own_inference(network: Any = None) -> Iterator[None]:
    """Inference (``torch.inference_mode``) by sbert's own code, which reads the real tokens' outputs
    only: there the Transformer may leave padded positions uncomputed. Outside it (a caller's own
    ``forward``) every position is computed, as in sentence-transformers; also inside it where a caller
    hooked a module of ``network`` (the modules it runs; :func:`sbert._modules.hooks.forward_hooked`), so
    that the hooks fire and see what they see there."""
    from .hooks import forward_hooked

    token = _OWN_INFERENCE.set(network is None or not forward_hooked(network))
    try:
        with torch.inference_mode():
            yield
    finally:
        _OWN_INFERENCE.reset(token)


def in_own_inference() -> bool:
    """Whether the current call runs inside :func:`own_inference`."""
    return _OWN_INFERENCE.get()


def run_padded(network: Any) -> list[Any]:
    """Turn the padding-free forward off in ``network``'s modules (where something must see or compute the
    padded positions); the modules changed, for a caller that turns it back on."""
    changed = [m for m in network.modules() if getattr(m, "padding_free", False)]
    for module in changed:
        module.padding_free = False
    return changed


def is_dynamically_quantized(network: Any) -> bool:
    """Whether torch's dynamic quantization (``torch.ao.quantization.quantize_dynamic``, applied by a caller
    to the model in place of its layers) changed any module of ``network``: each such layer scales a call's
    inputs by their range, the padded positions included, so a text's numbers depend on its batch."""
    return any(type(m).__module__.startswith(DYNAMIC_QUANTIZED) for m in network.modules())


def runs_padding_free_on(device: Any) -> bool:
    """Whether inference on ``device`` (a ``torch.device`` or its name) takes the padding-free forward."""
    return torch.device(device).type in PADDING_FREE_DEVICE_TYPES


def is_compiled(model: Any) -> bool:
    """Whether ``model`` is torch.compile's wrapper (an ``OptimizedModule``, which holds the original as its
    ``_orig_mod`` child)."""
    named_children = getattr(model, "named_children", None)
    return callable(named_children) and any(name == "_orig_mod" for name, _ in named_children())


def supports_padding_free(model: Any) -> bool:
    """Whether ``model`` (a ``transformers`` encoder) can run through :func:`padding_free_forward`."""
    # run what torch.compile compiled; a model folder's own class or a subclass: run its own forward
    if is_compiled(model) or not is_library_class(model):
        return False
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) not in SUPPORTED_MODEL_TYPES:
        return False
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return False
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return False
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if not layers or not hasattr(model, "embeddings"):
        return False
    return all(_has_bert_layout(layer) for layer in layers)


def _has_bert_layout(layer: Any) -> bool:
    try:
        attention = layer.attention
        parts = (
            attention.self.query,
            attention.self.key,
            attention.self.value,
            attention.output.dense,
            attention.output.LayerNorm,
            layer.intermediate.dense,
            layer.intermediate.intermediate_act_fn,
            layer.output.dense,
            layer.output.LayerNorm,
        )
        dense = parts[:4] + (layer.intermediate.dense, layer.output.dense)
        # float weights: a dynamically quantized Linear (weight() a method) scales each call's inputs by their
        # range, which the padded rows are part of in the padded forward
        floats = all(isinstance(getattr(part, "weight", None), torch.Tensor) for part in dense)
        return attention.self.num_attention_heads > 0 and all(part is not None for part in parts) and floats
    except AttributeError:
        return False


def padding_free_forward(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Last hidden states ``(B, L, hidden)`` of a padded batch; rows at padded positions are zero."""
    batch, length = input_ids.shape
    embedded = model.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
    hidden_size = embedded.shape[-1]
    real = attention_mask.reshape(-1).nonzero().squeeze(1)  # row numbers of the real tokens in (B * L)
    hidden = embedded.reshape(batch * length, hidden_size).index_select(0, real)
    attend = _Attention(model.encoder.layer[0].attention.self, attention_mask, real, embedded.dtype)
    for layer in model.encoder.layer:
        hidden = _layer(layer, hidden, attend)
    out = hidden.new_zeros(batch * length, hidden_size)
    out.index_copy_(0, real, hidden)
    return out.view(batch, length, hidden_size)


def _layer(layer: Any, hidden: torch.Tensor, attend: _Attention) -> torch.Tensor:
    attention = layer.attention.self
    context = attend(attention.query(hidden), attention.key(hidden), attention.value(hidden))
    attended = layer.attention.output.LayerNorm(layer.attention.output.dense(context) + hidden)
    if hidden.device.type != "cpu" or len(attended) <= FEED_FORWARD_ROWS:
        return _feed_forward(layer, attended)
    out = torch.empty_like(attended)
    for start in range(0, len(attended), FEED_FORWARD_ROWS):
        rows = slice(start, start + FEED_FORWARD_ROWS)
        out[rows] = _feed_forward(layer, attended[rows])
    return out


def _feed_forward(layer: Any, attended: torch.Tensor) -> torch.Tensor:
    intermediate = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(attended))
    return layer.output.LayerNorm(layer.output.dense(intermediate) + attended)


class _Attention:
    """Self-attention of packed query/key/value rows, per text, for one batch's padding; packed rows out."""

    def __init__(
        self, attention: Any, attention_mask: torch.Tensor, real: torch.Tensor, dtype: torch.dtype
    ) -> None:
        self.batch, self.length = attention_mask.shape
        self.heads, self.head_size = attention.num_attention_heads, attention.attention_head_size
        self.scale = getattr(attention, "scaling", None) or self.head_size**-0.5
        self.real = real
        keys = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L): which keys each query may see
        half_on_cpu = dtype in (torch.bfloat16, torch.float16) and keys.device.type == "cpu"
        self.matmuls = self.length <= BMM_ATTENTION_MAX_LENGTH or (
            half_on_cpu and HALF_PRECISION_MATMUL_ATTENTION
        )
        if self.matmuls:  # an additive mask, one row per (text, head)
            additive = torch.zeros(keys.shape, dtype=dtype, device=keys.device)
            additive.masked_fill_(~keys, torch.finfo(dtype).min)
            self.mask = additive.expand(self.batch, self.heads, 1, self.length).reshape(-1, 1, self.length)
        else:
            self.mask = keys

    def __call__(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        batch, length, heads, head_size = self.batch, self.length, self.heads, self.head_size
        width = heads * head_size
        padded = query.new_zeros(batch * length, 3 * width)
        padded.index_copy_(0, self.real, torch.cat([query, key, value], dim=1))
        query, key, value = padded.view(batch, length, 3, heads, head_size).permute(2, 0, 3, 1, 4)
        if self.matmuls:
            query, key, value = (x.reshape(batch * heads, length, head_size) for x in (query, key, value))
            context = torch.empty_like(query)
            step = max(1, MATMUL_ATTENTION_BLOCK // (length * length))
            for start in range(0, batch * heads, step):
                pairs = slice(start, start + step)
                scores = torch.baddbmm(
                    self.mask[pairs], query[pairs], key[pairs].transpose(1, 2), alpha=self.scale
                )
                torch.bmm(torch.softmax(scores, dim=-1), value[pairs], out=context[pairs])
            context = context.view(batch, heads, length, head_size)
        else:
            context = F.scaled_dot_product_attention(query, key, value, attn_mask=self.mask, scale=self.scale)
        return context.transpose(1, 2).reshape(batch * length, width).index_select(0, self.real)
