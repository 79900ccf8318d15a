"""A SparseEncoder's torch pipeline: its modules in order, built from a folder or from the caller's modules,
and run with the keywords each module takes, as sentence-transformers runs them.

Three architectures are sentence-transformers' sparse encoders: SPLADE (a masked-LM, then SpladePooling),
inference-free SPLADE (a Router: SparseStaticEmbedding for queries, SPLADE for documents) and CSR
(Transformer, Pooling, then a SparseAutoEncoder). Any pipeline of registered modules builds; the first must
read texts (see ``sbert._modules.check_input_module``) and the widths must fit.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from .._compat import prompt_token_count, with_prompt
from .._errors import InputError, ModelLoadError, SbertError
from .._modules import (
    NamedModules,
    check_input_module,
    check_widths,
    load_modules,
    module_names,
    output_width,
)
from .._modules.network import ModuleNetwork, model_keywords
from .._modules.pooling import Pooling
from .._modules.router import Router
from .._modules.transformer import Transformer as Encoder  # feature-extraction, not fill-mask
from .folder import SparseFolder
from .mlm_transformer import MLMTransformer, Transformer
from .sparse_auto_encoder import SparseAutoEncoder
from .splade_pooling import SpladePooling

logger = logging.getLogger(__name__)


class SparseNetwork(ModuleNetwork):
    """The modules in order; ``forward``'s keywords reach a module that lists them in its ``forward_kwargs``
    (a Router gets them all and hands them on the same way), as in sentence-transformers."""


def network_from_modules(modules: Sequence[Any], error: type[SbertError] = InputError) -> SparseNetwork:
    """The caller's (or a folder's) modules, checked: ``error`` names what does not fit."""
    if isinstance(modules, Mapping):  # an OrderedDict names the modules, as nn.Sequential takes it
        modules = NamedModules(modules.values(), list(modules))
    given, modules = modules, list(modules) if isinstance(modules, (list, tuple, nn.Sequential)) else []
    if not modules or not all(isinstance(m, nn.Module) for m in modules):
        raise error(
            "SparseEncoder modules must be a non-empty list of torch modules, e.g. [MLMTransformer(path), "
            "SpladePooling('max')], [Router.for_query_document(...)] or [Transformer, Pooling, "
            "SparseAutoEncoder]."
        )
    check_input_module(modules, error)
    check_widths(modules, error=error)
    # a SpladePooling without a width learns it on its first forward, as sentence-transformers' does (its
    # repr and config say None until then); the model's width is its masked-LM's vocabulary meanwhile
    return SparseNetwork(OrderedDict(zip(module_names(given), modules)))


def load_network(
    files: SparseFolder, allow_pickle: bool, trust_remote_code: bool, *kwargs: Any
) -> SparseNetwork:
    """The pipeline a folder holds; ``kwargs``: model, config and tokenizer options for its transformer."""
    model_kwargs, config_kwargs, processor_kwargs = kwargs
    splade = files.splade
    options = {
        "model_kwargs": model_kwargs,
        "config_kwargs": config_kwargs,
        "processor_kwargs": processor_kwargs,
    }
    options = {k: v for k, v in options.items() if v}
    if files.new_csr_head == "encoder":
        encoder = Encoder(
            files.folder, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code, **options
        )
        modules = _with_new_csr_head([encoder, _mean_pooling(encoder)], k=256, k_aux=512)
        return network_from_modules(modules, ModelLoadError)
    if splade is None:  # Router, CSR, a SentenceTransformer's modules: through the one registry
        modules = load_modules(
            files.folder,
            allow_pickle=allow_pickle,
            trust_remote_code=trust_remote_code,
            transformer_options=options,
        )
        if files.new_csr_head == "embedding":
            width = _last_width(modules)
            modules = _with_new_csr_head(modules, width // 4, width // 2)
        return network_from_modules(modules, ModelLoadError)
    # MLMTransformer where the folder names it, as sentence-transformers loads it
    older = splade.transformer_kind == "MLMTransformer"
    loaded = {"_from_auto_load": True} if older else {}  # loaded, not made: no deprecation notice
    transformer = (MLMTransformer if older else Transformer)(
        splade.transformer_path,
        max_seq_length=splade.max_seq_length,
        do_lower_case=splade.do_lower_case,
        allow_pickle=allow_pickle,
        trust_remote_code=trust_remote_code,
        model_kwargs=model_kwargs,
        config_kwargs=config_kwargs,
        processor_kwargs=processor_kwargs,
        modality_config=splade.modality_config,
        **loaded,
    )
    config = splade.pooling
    pooling = SpladePooling(config.pooling_strategy, config.activation_function, config.embedding_dimension)
    return network_from_modules([transformer, pooling], ModelLoadError)


def _with_new_csr_head(modules: list[Any], k: int, k_aux: int) -> list[Any]:
    """``modules`` with a new, randomly initialized SparseAutoEncoder after them (4x their width, ``k``
    active latents): the CSR model sentence-transformers' SparseEncoder makes of a dense model."""
    width = _last_width(modules)
    k, k_aux = min(k, 4 * width), min(k_aux, 4 * width)  # a narrow model: no more than it has
    # logged, not warned, as sentence-transformers does: code that makes warnings errors still loads it
    logger.info(
        f"Not a sparse model: SparseEncoder made a CSR model of it, a new randomly initialized "
        f"SparseAutoEncoder (hidden_dim {4 * width}, k {k}) after its {len(modules)} modules, as "
        "sentence-transformers does. Train it (sbert.sparse_encoder.losses.CSRLoss) before use."
    )
    return [*modules, SparseAutoEncoder(input_dim=width, hidden_dim=4 * width, k=k, k_aux=k_aux)]


def _mean_pooling(encoder: Any) -> Any:
    return Pooling(output_width(encoder), pooling_mode="mean")


def _last_width(modules: Sequence[Any]) -> int:
    width = next((w for w in map(output_width, reversed(modules)) if w is not None), None)
    if width is None:
        raise ModelLoadError("Cannot tell the embedding width of the modules to put a CSR head on.")
    return width


def preprocess(
    network: SparseNetwork,
    texts: list[str],
    prompt: str | None,
    task: str | None,
    processing_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The features of ``texts`` (``prompt`` before each) for ``network``: a Router's route for ``task``
    tokenizes, and ``task`` goes with them; the modality (``"text"``) and a prompt's token count go too (for
    a Pooling that leaves the prompt out), as sentence-transformers 6's features. ``processing_kwargs``:
    this call's tokenizer options, which the input module's ``preprocess`` takes (a Router's route's), as
    there: a SparseStaticEmbedding reads none."""
    first = network[0]
    if isinstance(first, Router):
        return first.preprocess(texts, prompt=prompt, task=task, processing_kwargs=processing_kwargs)
    if processing_kwargs is not None or getattr(first, "chat", None) is not None:
        return first.preprocess(texts, prompt=prompt, processing_kwargs=processing_kwargs, task=task)
    features: dict[str, Any] = {**first.tokenize(with_prompt(texts, prompt)), "modality": "text"}
    if prompt:
        features["prompt_length"] = prompt_token_count(first.tokenizer, prompt)
    return features


def model_kwargs(network: SparseNetwork) -> list[str]:
    """The keywords ``encode`` passes on to the modules: every module's ``forward_kwargs`` (a Router's
    routes' too), as sentence-transformers' ``get_model_kwargs``."""
    return sorted(model_keywords(network))
