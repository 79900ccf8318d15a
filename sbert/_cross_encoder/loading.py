"""Load a cross-encoder's torch model: ``transformers``' sequence-classification class for its folder (the
causal-LM class for a causal reranker).

A folder with a trained head loads whole (every weight must be in the file); an encoder folder gets a new,
randomly initialised head with ``num_labels`` outputs, as sentence-transformers' CrossEncoder does.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._errors import (
    WeightsMismatchError,
    require_peft,
    unloadable_weights,
    unreadable_config,
)
from .._format.hub import name_by_hub_name
from .._format.layout import TRANSFORMER_CONFIG_FILES
from .._format.transformer_config import config_options, disable_kv_cache, model_options
from .._format.weights import check_encoder_weights
from .config import CrossEncoderFolder


def load_classifier(
    files: CrossEncoderFolder,
    *,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    model_kwargs: dict[str, Any] | None = None,
    config_kwargs: dict[str, Any] | None = None,
) -> Any:
    """The ``AutoModelForSequenceClassification`` (``AutoModelForCausalLM``: a causal reranker) of ``files``
    in eval mode, on the CPU."""
    from transformers import AutoConfig

    if files.adapter_base is not None:
        require_peft("Loading a PEFT model")
    path = files.adapter_base or files.encoder_path  # an adapter goes on its base model's weights
    weights = check_encoder_weights(path, allow_pickle=allow_pickle)
    options = {"num_labels": files.num_labels} if files.fresh_head else {}
    try:
        config = AutoConfig.from_pretrained(
            path, **options, **config_options(config_kwargs, trust_remote_code=trust_remote_code)
        )
    except (OSError, ValueError, KeyError) as e:
        raise unreadable_config(path / "config.json", e) from e
    disable_kv_cache(config, config_kwargs or {})
    # transformers' load report (a new head's weights listed as missing) stays: sentence-transformers shows it
    with quiet_transformers(report=True):
        model, info = _from_pretrained(config, weights, trust_remote_code, model_kwargs, causal=files.causal)
    _check_loaded(model, info, files, weights)
    name_by_hub_name(model, path)
    if files.adapter_base is not None:  # what from_pretrained(adapter folder) does, after the base
        model.load_adapter(str(files.encoder_path))
    return model.eval()


@contextlib.contextmanager
def quiet_transformers(*, report: bool = False) -> Iterator[None]:
    """transformers' warnings (``report``: its warnings stay) and progress bars off for one load or save
    (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    if not report:
        hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _from_pretrained(
    config: Any, weights: Path, trust_remote_code: bool, model_kwargs: Any, *, causal: bool
) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    auto_class = AutoModelForCausalLM if causal else AutoModelForSequenceClassification
    kind = "causal language model" if causal else "sequence classifier"

    # Wrong-shaped weights are reported in the loading info (checked by the caller), not raised.
    options = model_options(model_kwargs, trust_remote_code=trust_remote_code, weights=weights)
    try:
        return auto_class.from_pretrained(weights.parent, config=config, **options)
    except (OSError, RuntimeError, ValueError) as e:
        raise unloadable_weights(f"{weights} could not be loaded as a {kind}: {e}", e) from e


def mismatched_names(info: dict[str, Any]) -> list[str]:
    """The weight names of transformers' loading info whose shape in the file differs from the model's."""
    return [str(m[0]) if isinstance(m, (tuple, list)) else str(m) for m in info.get("mismatched_keys", ())]


def _check_loaded(model: Any, info: dict[str, Any], files: CrossEncoderFolder, weights: Any) -> None:
    """Weights absent from the file may only be a new head's; wrong shapes mean another model's file."""
    prefix = f"{model.base_model_prefix}."
    missing = sorted(info.get("missing_keys", ()))
    if files.fresh_head:  # the encoder's own weights must all be there; the head is new
        missing = [k for k in missing if k.startswith(prefix) and not k.startswith(f"{prefix}pooler.")]
    mismatched = mismatched_names(info)
    if missing or mismatched:
        shown = ", ".join((missing + mismatched)[:3])
        raise WeightsMismatchError(
            f"{weights} does not match {weights.parent / 'config.json'} ({files.architecture}): "
            f"missing or wrong-shaped weights [{shown}]. The file is truncated or belongs to another model."
        )


def write_transformer(folder: Path, model: Any, tokenizer: Any, config: dict[str, Any]) -> None:
    """A Transformer module's files in ``folder``: ``model``'s (none for ``None``: an export's, which
    copies config.json instead), ``tokenizer``'s (sbert's ``TextTokenizer``) and ``config`` as
    ``sentence_bert_config.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    if model is not None:
        with quiet_transformers():
            model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save(folder)  # its limit as model_max_length, where sentence-transformers keeps it
    (folder / TRANSFORMER_CONFIG_FILES[0]).write_text(json.dumps(config, indent=4))
