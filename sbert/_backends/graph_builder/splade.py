"""SPLADE graphs: a BERT-family masked-LM and SpladePooling as one ONNX graph, from config.json and
safetensors (no torch).

The encoder is the family builder's (:data:`ENCODER_BUILDERS`); the masked-LM head is the ``transformers``
one of its family (:data:`MLM_HEADS`): a dense layer, its activation and a LayerNorm, then the decoder to the
vocabulary (the word embeddings unless ``tie_word_embeddings`` is false) plus its bias. SpladePooling is
``log(1 + relu(logits))`` (twice ``log1p`` for ``log1p_relu``) of the real tokens, then their max or sum, as
``sbert._sparse.splade_pooling``. The graph takes the token inputs and returns ``sentence_embedding``
``(batch, vocab)``, dense: the SparseEncoder cuts and sparsifies it as it does the torch pipeline's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import EMBEDDINGS_ANCHOR, encoder_plan
from .activations import activate, hidden_activation
from .calibration import calibrate, calibration_batch
from .checkpoint import Checkpoint, field, weight_files
from .ops import Graph, NotBuildable
from .writer import write_model

WORD_EMBEDDINGS = EMBEDDINGS_ANCHOR  # the family builders' name of the word-embedding table
_FLOAT = 1


@dataclass(frozen=True)
class MaskedLMHead:
    """A family's masked-LM head: tensor names (without ``.weight`` / ``.bias``, at the checkpoint's root)."""

    transform: str
    norm: str
    decoder: str
    bias: str  # the vocabulary bias (a tensor name, with its suffix)
    activation: str | None = None  # fixed activation name; None: config.json's (hidden_act / activation)
    eps: float | None = None  # fixed LayerNorm epsilon; None: config.json's layer_norm_eps


_ROBERTA_HEAD = MaskedLMHead("lm_head.dense", "lm_head.layer_norm", "lm_head.decoder", "lm_head.bias", "gelu")
# The one registry of masked-LM heads, by config.json's model_type.
MLM_HEADS: dict[str, MaskedLMHead] = {
    "bert": MaskedLMHead(
        "cls.predictions.transform.dense",
        "cls.predictions.transform.LayerNorm",
        "cls.predictions.decoder",
        "cls.predictions.bias",
    ),
    "roberta": _ROBERTA_HEAD,
    "xlm-roberta": _ROBERTA_HEAD,
    "camembert": _ROBERTA_HEAD,
    "mpnet": _ROBERTA_HEAD,
    "distilbert": MaskedLMHead(
        "vocab_transform", "vocab_layer_norm", "vocab_projector", "vocab_projector.bias", eps=1e-12
    ),
}


def build_splade_graph(
    encoder: Path,
    destination: Path,
    strategy: str,
    activation: str,
    *,
    precision: str = "fp32",
    weight_bits: int | None = None,
) -> bool:
    """Write the SPLADE graph of the masked-LM in ``encoder`` with SpladePooling's ``strategy`` (``"max"`` /
    ``"sum"``) and ``activation`` (``"relu"`` / ``"log1p_relu"``) to ``destination``, atomically; False,
    writing nothing, for a model this builder does not handle. ``precision="int8"``: the encoder as the
    dense int8 graph (calibrated by the fp32 graph on built-in texts), the head's matmuls in int8 too, with
    ``weight_bits``. A corrupt config or weight file raises ModelLoadError naming it."""
    if precision not in ("fp32", "int8"):
        raise ValueError(f"precision must be 'fp32' or 'int8', got {precision!r}")
    try:
        graph = splade_graph(encoder, strategy, activation)
        if precision == "int8":
            batch = calibration_batch([encoder], pairs=False)
            calibration = None if batch is None else calibrate(graph, batch)
            int8 = Graph(int8=True, calibration=calibration, weight_bits=weight_bits)
            graph = splade_graph(encoder, strategy, activation, int8)
    except NotBuildable:
        return False
    write_model(graph, destination)
    return True


def splade_graph(encoder: Path, strategy: str, activation: str, graph: Graph | None = None) -> Graph:
    """The graph (``graph``: an empty one to build into, e.g. an int8 one): token inputs to
    ``sentence_embedding`` ``(batch, vocab)``."""
    config, family = encoder_plan(encoder)
    head = MLM_HEADS.get(config.get("model_type"))  # type: ignore[arg-type]
    architectures = config.get("architectures") or [""]
    if head is None or not str(architectures[0]).endswith("ForMaskedLM"):
        raise NotBuildable(f"masked-LM {architectures[0]!r} of model_type {config.get('model_type')!r}")
    path = encoder / "config.json"
    graph = graph or Graph()
    checkpoint = Checkpoint(weight_files(encoder), EMBEDDINGS_ANCHOR)
    tokens, width = family.build(graph, config, path, checkpoint)
    logits = masked_lm_logits(graph, tokens, width, head, config, path, checkpoint)
    graph.output(splade_pool(graph, logits, strategy, activation), "sentence_embedding", ["batch", "vocab"])
    return graph


def masked_lm_logits(
    graph: Graph,
    tokens: str,
    width: int,
    head: MaskedLMHead,
    config: dict[str, Any],
    path: Path,
    ckpt: Checkpoint,
) -> str:
    """``(B, T, vocab)`` logits of the token embeddings ``tokens`` ``(B, T, width)``."""
    vocab = field(config, path, "vocab_size")
    op = hidden_activation(head.activation or config.get("hidden_act") or config.get("activation", "gelu"))
    eps = head.eps or field(config, path, "layer_norm_eps", 1e-12, float)
    x = graph.quantized_linear(tokens, *_root_pair(ckpt, head.transform, [width, width]), head.transform)
    x = activate(graph, x, op, f"{head.transform}/{op}")
    gamma, beta = (
        graph.weight(f"{head.norm}.{k}", t)
        for k, t in zip(("weight", "bias"), _root_pair(ckpt, head.norm, [width]))
    )
    x = graph.op(
        "LayerNormalization", x, gamma, beta, name=f"{head.norm}/LayerNorm", axis=-1, epsilon=float(eps)
    )
    tied = config.get("tie_word_embeddings", True)
    vocab_bias = head.bias if head.bias in ckpt.where else f"{head.decoder}.bias"  # older checkpoints
    bias = ckpt.get(vocab_bias, [vocab], prefixed=False)
    if tied:  # (vocab, width): the encoder's own word embeddings
        weight = graph.initializers[WORD_EMBEDDINGS]
    else:
        weight = ckpt.get(f"{head.decoder}.weight", [vocab, width], prefixed=False)
    if graph.int8:  # quantized per vocabulary token: its own int8 copy of the table
        return graph.quantized_linear(x, weight, bias, head.decoder)
    if tied:  # the table itself, transposed in the graph: not stored twice
        decoder = graph.op("Transpose", WORD_EMBEDDINGS, perm=[1, 0], name="decoder_tied")
    else:
        decoder = graph.weight(f"{head.decoder}.weight", weight.T)
    logits = graph.op("MatMul", x, decoder, name=f"{head.decoder}/MatMul")
    return graph.op("Add", logits, graph.weight(vocab_bias, bias), name=f"{head.decoder}/Add")


def _root_pair(ckpt: Checkpoint, name: str, shape: list[int]) -> tuple[Any, Any]:
    """The weight and bias of the head's layer ``name`` (at the checkpoint's root, not under the encoder's
    prefix); the bias has the weight's first dimension."""
    weight = ckpt.get(f"{name}.weight", shape, prefixed=False)
    return weight, ckpt.get(f"{name}.bias", shape[:1], prefixed=False)


def splade_pool(graph: Graph, logits: str, strategy: str, activation: str) -> str:
    """SpladePooling of ``logits`` ``(B, T, V)`` over the real tokens: ``(B, V)``. Padding scores 0. For
    ``max`` the max comes first: ``relu`` and ``log1p`` rise monotonically, so the max of the activated
    scores is the activation of the max (the same float), at a T-th of the work."""
    mask = graph.op("Unsqueeze", graph.input("attention_mask"), graph.const([-1]))
    masked = graph.op("Mul", logits, graph.op("Cast", mask, to=_FLOAT), name="splade/Mask")  # (B, T, V)
    if strategy == "max":
        return _activate(graph, graph.op("ReduceMax", masked, axes=[1], keepdims=0), activation)
    if strategy != "sum":
        raise NotBuildable(f"SpladePooling strategy {strategy!r}")
    return graph.op("ReduceSum", _activate(graph, masked, activation), graph.const([1]), keepdims=0)


def _activate(graph: Graph, x: str, activation: str) -> str:
    """``log1p(relu(x))``, with ``log1p`` once more for ``log1p_relu``."""
    if activation not in ("relu", "log1p_relu"):
        raise NotBuildable(f"SpladePooling activation {activation!r}")
    one = graph.const(1.0, "float32")
    x = graph.op("Log", graph.op("Add", graph.op("Relu", x), one))
    return graph.op("Log", graph.op("Add", x, one)) if activation == "log1p_relu" else x
