"""The Transformer's configurable ends, as sentence-transformers 6 defines them: which text inputs it reads,
which model method and output become its feature (``modality_config``), and how wide that feature is.

Kept out of :mod:`sbert._modules.transformer`'s hot path: the module's own forward handles the default
(``forward`` -> ``last_hidden_state`` -> ``token_embeddings``) and calls :func:`configured_forward` otherwise.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Sequence
from typing import Any

from .._errors import InputError
from .._format.encoder_class import forward_inputs
from .._tokens.hf_methods import own_call

# The model inputs a text batch can carry; other features (prompt_length, modality, ...) are sbert's.
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds")
# What sbert's tokenizer call takes from processing_kwargs' "text" and "common" entries.
TOKENIZER_CALL_OPTIONS = (
    "padding",
    "truncation",
    "max_length",
    "return_tensors",
    "add_special_tokens",
    "return_token_type_ids",
    "return_attention_mask",
    "padding_side",
    "pad_to_multiple_of",
    "stride",
)


def text_inputs(inputs: Sequence[Any]) -> list[Any]:
    """Texts, ``(a, b)`` pairs (a 2-item list too) and ``{"text": t}`` items (sentence-transformers 6's
    multimodal form) as the tokenizer takes them, mixed as there."""
    out: list[Any] = []
    for item in inputs:
        if isinstance(item, dict) and set(item) == {"text"}:
            item = item["text"]
        if isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(t, str) for t in item):
            item = tuple(item)
        elif not isinstance(item, str):
            raise InputError(
                f"Transformer.preprocess reads texts and (text, text) pairs; got {type(item).__name__}. "
                "sbert's Transformer has no image, audio or video inputs."
            )
        out.append(item)
    return out


def tokenizer_call_options(processing: dict[str, Any], max_length: int | None) -> dict[str, Any]:
    """The tokenizer call for a text batch: sentence-transformers 6's defaults (pad to the longest, truncate
    longest-first, torch tensors) under ``processing_kwargs``' text and common entries (common wins)."""
    options: dict[str, Any] = {"padding": True, "truncation": "longest_first", "return_tensors": "pt"}
    if max_length is not None:
        options["max_length"] = max_length
    options.update(processing.get("text", {}))
    options.update(processing.get("common", {}))
    unknown = sorted(set(options) - set(TOKENIZER_CALL_OPTIONS))
    if unknown:
        raise InputError(
            f"processing_kwargs {unknown} are not supported for text; sbert's tokenizer takes "
            f"{list(TOKENIZER_CALL_OPTIONS)}."
        )
    return options


def encoder_inputs(model: Any, features: dict[str, Any], token_types: bool) -> dict[str, Any]:
    """The token features of ``features`` that ``model``'s forward is given: ``token_type_ids`` where sbert
    feeds them (``token_types``) or the forward reads them, not the ones a BertTokenizer makes for a
    DistilBERT or MPNet (sentence-transformers hands those to the forward's ``**kwargs``, which ignores
    them). Where features hold types sbert does not feed, the signature is read once per encoder."""
    inputs = {k: features[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in features}
    if "token_type_ids" in inputs and not token_types and not reads_token_types(model):
        del inputs["token_type_ids"]
    return inputs


_READS_TOKEN_TYPES: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def reads_token_types(model: Any) -> bool:
    """Whether ``model``'s forward takes ``token_type_ids``, remembered per encoder object."""
    known = _READS_TOKEN_TYPES.get(model)
    if known is None:
        known = _READS_TOKEN_TYPES[model] = "token_type_ids" in forward_inputs(model)
    return known


def text_features(
    tokenizer: Any, texts: list[Any], processing: dict[str, Any], max_length: int | None
) -> dict:
    """The features of one tokenizer call on ``texts`` as sentence-transformers 6's Transformer makes them
    (options: :func:`tokenizer_call_options`), with ``"modality": "text"``."""
    features = own_call(tokenizer, texts, **tokenizer_call_options(processing, max_length))
    return {**features, "modality": "text"}


def configured_forward(
    model: Any, params: dict[str, Any], output_name: str, features: dict[str, Any]
) -> None:
    """Run ``params["method"]`` of ``model`` on the text features and write the output named by
    ``params["method_output_name"]`` (a name, or a path such as ``["hidden_states", -1]``) to
    ``features[output_name]``."""
    method_name = params["method"]
    method = getattr(model, method_name, None)
    if method is None:
        raise InputError(
            f"Model does not have the requested {method_name!r} method ({type(model).__name__}); set "
            "modality_config['text']['method'] to one it has, e.g. 'forward'."
        )
    path = params["method_output_name"]
    path = () if path is None else (path,) if isinstance(path, str) else tuple(path)
    accepted = inspect.signature(method).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    kwargs = {k: features[k] for k in MODEL_INPUTS if k in features and (takes_any or k in accepted)}
    if "hidden_states" in path:
        kwargs["output_hidden_states"] = True
    if takes_any or "return_dict" in accepted:
        kwargs["return_dict"] = True
    output = method(**kwargs)
    value = output
    for key in path:
        try:
            value = value[key]
        except (KeyError, TypeError, IndexError):
            if not isinstance(key, str) or not hasattr(value, key):
                raise InputError(
                    f"Could not read {key!r} from the output of {method_name} ({type(value).__name__}); "
                    "check modality_config['text']['method_output_name']."
                ) from None
            value = getattr(value, key)
    if value.ndim == 4:  # (B, C, H, W) feature maps -> (B, H*W, C) for a Pooling after it
        value = value.flatten(2).transpose(1, 2)
    features[output_name] = value.float() if value.is_floating_point() else value
    if getattr(model.config, "output_hidden_states", False) and "hidden_states" in output:
        features["all_layer_embeddings"] = [h.float() for h in output["hidden_states"]]


def embedding_dimension(config: Any, output_name: str) -> int:
    """The width of the module's feature, read from the Hugging Face config as sentence-transformers 6 reads
    it: ``projection_dim`` for a sentence embedding, then the hidden size under its names, then the text
    config's and the sub-configs'."""
    candidates = [config, getattr(config, "text_config", None)]
    candidates += [getattr(config, name, None) for name in getattr(config, "sub_configs", {}) or {}]
    for candidate in candidates:
        if candidate is not None and (width := _hidden_size(candidate, output_name)) is not None:
            return int(width)
    raise InputError(
        f"Could not determine embedding dimension from model config. Config type: {type(config).__name__}; "
        "it has none of hidden_size, hidden_sizes, hidden_dim (or a text_config with one)."
    )


def _hidden_size(config: Any, output_name: str) -> Any:
    if output_name == "sentence_embedding" and hasattr(config, "projection_dim"):
        return config.projection_dim
    if (width := getattr(config, "word_embed_proj_dim", None)) is not None:
        return width
    if hasattr(config, "hidden_size"):
        return config.hidden_size
    for name in ("neck_hidden_sizes", "hidden_sizes", "embed_dims"):
        if hasattr(config, name):
            value = getattr(config, name)
            if not isinstance(value, list):
                return value
            if value:
                return value[-1]
    return getattr(config, "hidden_dim", None)


def prompt_token_count(tokenizer: Any, prompt: str) -> int:
    """Tokens ``prompt`` takes at the start of a text: its tokens with the leading special token, the
    trailing one (SEP, EOS) uncounted (what Pooling's ``include_prompt: false`` leaves out)."""
    ids = tokenizer(prompt, truncation=True)["input_ids"]
    trailing_special = bool(ids) and ids[-1] in tokenizer.all_special_ids
    return len(ids) - trailing_special


class PromptLengths:
    """A text module's count of the tokens each prompt takes (:func:`prompt_token_count`), once per prompt:
    the ``prompt_length`` feature that a Pooling with ``include_prompt: false`` leaves out."""

    tokenizer: Any

    def _prompt_length(self, prompt: str) -> int:
        lengths = self.__dict__.setdefault("_prompt_lengths", {})
        if prompt not in lengths:
            lengths[prompt] = prompt_token_count(self.tokenizer, prompt)
        return lengths[prompt]


def as_tensors(features: dict[str, Any]) -> dict[str, Any]:
    """``features`` with its numpy arrays as torch tensors (a chat template's features, made in numpy)."""
    import numpy as np
    import torch

    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in features.items()}
