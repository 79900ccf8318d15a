"""What each module after the encoder adds to the model card's plain-transformers example (functions to
define, weights to load, the step on ``sentence_embeddings``), from its settings alone: the torch modules'
``usage_code`` and the card of a model saved without torch (:mod:`.onnx_save`) give the same text.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path
from typing import Any

# Pooling mode -> the function of sbert._modules.pooling that pools it (that module builds its table from
# these names; the card prints the functions' source).
POOLING_FUNCTION_NAMES = {
    "cls": "cls_pooling",
    "max": "max_pooling",
    "mean": "mean_pooling",
    "mean_sqrt_len_tokens": "mean_sqrt_len_tokens_pooling",
    "weightedmean": "weightedmean_pooling",
    "lasttoken": "lasttoken_pooling",
}
_POOLING_MODULE = "sbert._modules.pooling"
DENSE_WEIGHTS = "model.safetensors"  # the file a Dense saves its weights in (and the card's example loads)

# A Dense's activation (the import path sentence-transformers writes) as code on ``{x}``.
ACTIVATION_CODE = {
    "torch.nn.modules.activation.Tanh": "torch.tanh({x})",
    "torch.nn.modules.linear.Identity": "{x}",
    "torch.nn.modules.activation.ReLU": "torch.relu({x})",
    "torch.nn.modules.activation.GELU": "torch.nn.functional.gelu({x})",
    "torch.nn.modules.activation.Sigmoid": "torch.sigmoid({x})",
    "torch.nn.modules.activation.SiLU": "torch.nn.functional.silu({x})",
    "torch.nn.modules.activation.ELU": "torch.nn.functional.elu({x})",
    "torch.nn.modules.activation.CELU": "torch.nn.functional.celu({x})",
    "torch.nn.modules.activation.SELU": "torch.nn.functional.selu({x})",
    "torch.nn.modules.activation.LeakyReLU": "torch.nn.functional.leaky_relu({x})",
    "torch.nn.modules.activation.ReLU6": "torch.nn.functional.relu6({x})",
    "torch.nn.modules.activation.Softplus": "torch.nn.functional.softplus({x})",
    "torch.nn.modules.activation.Softsign": "torch.nn.functional.softsign({x})",
    "torch.nn.modules.activation.Mish": "torch.nn.functional.mish({x})",
    "torch.nn.modules.activation.Hardtanh": "torch.nn.functional.hardtanh({x})",
    "torch.nn.modules.activation.Hardswish": "torch.nn.functional.hardswish({x})",
    "torch.nn.modules.activation.Hardsigmoid": "torch.nn.functional.hardsigmoid({x})",
    "torch.nn.modules.activation.LogSigmoid": "torch.nn.functional.logsigmoid({x})",
    "torch.nn.modules.activation.Tanhshrink": "torch.nn.functional.tanhshrink({x})",
    "torch.nn.modules.activation.Softshrink": "torch.nn.functional.softshrink({x})",
    "torch.nn.modules.activation.Hardshrink": "torch.nn.functional.hardshrink({x})",
}


@functools.cache
def _pooling_sources() -> dict[str, str]:
    """The source of each top-level function of the pooling module, read from its file (importing it would
    import torch), whole lines as ``inspect.getsource`` gives them."""
    spec = importlib.util.find_spec(_POOLING_MODULE)
    if spec is None or spec.origin is None:
        raise ImportError(f"{_POOLING_MODULE} is not installed")
    with open(spec.origin, encoding="utf-8") as file:
        text = file.read()
    lines = text.splitlines(keepends=True)
    return {
        node.name: "".join(lines[node.lineno - 1 : node.end_lineno])
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef)
    }


def pooling_usage(modes: tuple[str, ...], include_prompt: bool) -> dict[str, str]:
    """A Pooling's part: its functions, and the pooled ``sentence_embeddings`` (the modes concatenated)."""
    names = [POOLING_FUNCTION_NAMES[mode] for mode in dict.fromkeys(modes)]
    # include_prompt false: the card defines `prompt_length`, the tokens of the prompt before the texts
    mask, step = "attention_mask", ""
    if not include_prompt:
        names.append("exclude_prompt")
        mask, step = "text_mask", "text_mask = exclude_prompt(attention_mask, prompt_length)\n"
    calls = [
        f"{POOLING_FUNCTION_NAMES[mode]}(token_embeddings, {mask}"
        + (", full_mask=attention_mask)" if mode == "weightedmean" and mask != "attention_mask" else ")")
        for mode in modes
    ]
    pooled = calls[0] if len(calls) == 1 else "torch.cat([" + ", ".join(calls) + "], dim=-1)"
    step += f"sentence_embeddings = {pooled}"
    functions = "\n\n".join(_pooling_sources()[name] for name in names)
    return {"functions": functions, "step": step, "what": ", ".join(modes)}


def dense_usage(
    index: int, *, bias: bool, activation: str, features: tuple[str, str], residual: bool, weights_file: str
) -> dict[str, str] | None:
    """A Dense's part (``features``: the ones it reads and writes); None for one on another feature than the
    sentence embedding, or with a residual."""
    if features != ("sentence_embedding", "sentence_embedding") or residual:
        return None
    weights = f"dense_{index}"
    linear = f"sentence_embeddings @ {weights}['linear.weight'].T"
    if bias:
        linear += f" + {weights}['linear.bias']"
    load = f"{weights} = load_file(os.path.join(model_dir, '{index}_Dense', '{weights_file}'))"
    return {"load": load, "step": "sentence_embeddings = " + ACTIVATION_CODE[activation].format(x=linear)}


def normalize_usage(features: tuple[str, str]) -> dict[str, str] | None:
    """A Normalize's part; None for one of another feature than the sentence embedding."""
    if features != ("sentence_embedding", "sentence_embedding"):
        return None
    return {"step": "sentence_embeddings = F.normalize(sentence_embeddings, p=2, dim=1)"}


class CardModule:
    """A module as the card's plain-transformers example reads it (its kind, its part of the example, the
    input module's lowercasing), for a model whose torch modules are not loaded."""

    def __init__(
        self, kind: str, usage: dict[str, str] | None = None, *, do_lower_case: bool = False
    ) -> None:
        self.stands_for = kind
        self._usage = usage
        self.do_lower_case = do_lower_case

    def usage_code(self, index: int) -> dict[str, Any] | None:
        return self._usage


def card_modules(pipeline: Any, folder: Path) -> list[CardModule] | None:
    """The modules of the pipeline saved in ``folder`` (``pipeline``: its :class:`~.layout.PipelineInfo`) as
    the card's example reads them, from their files alone; ``None`` where that example would not be the
    one the torch modules give (a Dense whose weights are not safetensors in
    ``<i>_Dense``, an encoder outside the graph builder's families, whose transformers class is AutoModel's:
    the card's example loads it so)."""
    from .._backends.graph_builder import ENCODER_BUILDERS
    from .layout import normalize_features, pipeline_pooling, read_json, saved_dense_activation

    first = pipeline.entries[0]
    if first.kind != "Transformer" or pipeline.encoder_model_type not in ENCODER_BUILDERS:
        return None
    found = [CardModule("Transformer", do_lower_case=pipeline.do_lower_case)]
    for index, entry in enumerate(pipeline.entries[1:], start=1):
        path = folder / entry.path if entry.path else None
        usage = None
        if entry.kind == "Pooling":  # without a folder: a plain Hugging Face folder's default pooling
            _, modes, include_prompt = pipeline_pooling(pipeline, entry, folder)
            usage = pooling_usage(modes, include_prompt)
        elif entry.kind == "Dense":
            if entry.path != f"{index}_Dense" or not (path / DENSE_WEIGHTS).is_file():
                return None
            config = read_json(path / "config.json")
            source = config.get("module_input_name") or "sentence_embedding"
            features = (source, config.get("module_output_name") or source)
            activation, residual = saved_dense_activation(config), bool(config.get("use_residual", False))
            bias = bool(config.get("bias", True))
            options = {"bias": bias, "activation": activation, "residual": residual}
            usage = dense_usage(index, features=features, weights_file=DENSE_WEIGHTS, **options)
        elif entry.kind == "Normalize":
            usage = normalize_usage(normalize_features(path))
        found.append(CardModule(entry.kind, usage))
    return found
