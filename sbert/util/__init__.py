"""Utilities on embeddings: similarity, semantic search, paraphrase mining, communities, quantization.

The functions mirror ``sentence_transformers.util`` and give the same results on the same inputs: the
similarity functions return torch tensors as there (numpy only where torch is not installed), the searches
plain Python lists from numpy or tensors, without torch::

    from sbert import SentenceTransformer, util

    model = SentenceTransformer()
    corpus = model.encode(texts)
    hits = util.semantic_search(model.encode(["a query"]), corpus, top_k=5)  # [[{"corpus_id", "score"}, ...]]
    pairs = util.paraphrase_mining(model, texts)                            # [[score, i, j], ...]
    groups = util.community_detection(corpus, threshold=0.8, min_community_size=5)
    codes = util.quantize_embeddings(corpus, "int8")
    triplets = util.mine_hard_negatives({"query": queries, "answer": answers}, model, corpus=texts)
    order = util.reciprocal_rank_fusion([retrieved_ids, reranked_ids])  # one order from several (k=60)
    train.set_transform(util.resolve_ids({"query_id": queries, "document_ids": documents}))  # ids -> texts

``reciprocal_rank_fusion`` is sbert's own. Arguments come in sentence-transformers' order. Differences
from it: ties are broken by the lower id, and ``score_function`` also takes ``"cosine"``/``"dot"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._backends.devices import batch_to_device, process_device_name
from .._errors import ModelLoadError, installed, torch_installed
from .._format.hub import resolve_model_path
from .._format.hub_files import http_get, load_dir_path, load_file_path
from .._format.original_models import ORIGINAL_TRANSFORMER_MODELS
from .._maxsim import (
    cat_padded_token_embeddings,
    maxsim,
    maxsim_pairwise,
    mean_maxsim,
    mean_maxsim_pairwise,
    stack_padded_token_embeddings,
)
from .._progress import LoggingHandler
from .._search.exact import (
    ScoreFunction,
    community_detection,
    cos_sim,
    dot_score,
    euclidean_sim,
    manhattan_sim,
    pairwise_cos_sim,
    pairwise_dot_score,
    pairwise_euclidean_sim,
    pairwise_manhattan_sim,
    paraphrase_mining_embeddings,
    semantic_search,
)
from .._search.exact import (
    check_dense as _check_dense,
)
from .._search.fusion import reciprocal_rank_fusion
from .._search.mining import mine_hard_negatives
from .._search.quantize import (
    dequantize_embeddings,
    quantization_ranges,
    quantize_embeddings,
    truncate_dim,
    truncate_embeddings,
)
from .._similarity import normalize_embeddings, pairwise_angle_sim, select_max_active_dims
from .._similarity_function import SimilarityFunction
from ._distributed import (
    all_gather,
    all_gather_padded,
    all_gather_with_grad,
    get_rank,
    get_world_size,
    is_dist_initialized,
)
from ._id_lookup import resolve_ids
from ._misc import (
    append_to_last_row,
    check_package_availability,
    check_teacher_targets,
    compute_count_vector,
    disable_datasets_caching,
    disable_logging,
    import_from_string,
    import_module_class,
    repad_flattened_features,
    similarity_fct_name,
    to_scipy_coo,
)

pytorch_cos_sim = cos_sim  # sentence-transformers' older name
get_device_name = process_device_name

if TYPE_CHECKING:
    from .._model import SentenceTransformer

__all__ = [
    "LoggingHandler",
    "batch_to_device",
    "get_device_name",
    "is_sentence_transformer_model",
    "SimilarityFunction",
    "community_detection",
    "cos_sim",
    "dequantize_embeddings",
    "dot_score",
    "euclidean_sim",
    "manhattan_sim",
    "maxsim",
    "maxsim_pairwise",
    "mean_maxsim",
    "mean_maxsim_pairwise",
    "stack_padded_token_embeddings",
    "cat_padded_token_embeddings",
    "repad_flattened_features",
    "normalize_embeddings",
    "select_max_active_dims",
    "pairwise_angle_sim",
    "pairwise_cos_sim",
    "pairwise_dot_score",
    "pairwise_euclidean_sim",
    "pairwise_manhattan_sim",
    "pytorch_cos_sim",
    "mine_hard_negatives",
    "paraphrase_mining",
    "paraphrase_mining_embeddings",
    "quantization_ranges",
    "quantize_embeddings",
    "reciprocal_rank_fusion",
    "resolve_ids",
    "semantic_search",
    "truncate_dim",
    "truncate_embeddings",
    "disabled_tqdm",
    "fullname",
    "import_from_string",
    "import_module_class",
    "check_teacher_targets",
    "is_training_available",
    "is_datasets_available",
    "is_accelerate_available",
    "information_retrieval",
    "all_gather",
    "all_gather_padded",
    "all_gather_with_grad",
    "get_rank",
    "get_world_size",
    "is_dist_initialized",
    "append_to_last_row",
    "check_package_availability",
    "compute_count_vector",
    "disable_datasets_caching",
    "disable_logging",
    "similarity_fct_name",
    "to_scipy_coo",
    "http_get",
    "load_dir_path",
    "load_file_path",
    "ORIGINAL_TRANSFORMER_MODELS",
    "check_version_requirements",
    "install_logger",
    "save_to_hub_args_decorator",
]


def fullname(obj: Any) -> str:
    """The dotted path of ``obj``'s class (of ``obj`` itself when it is a class); builtins by bare name."""
    cls = obj if isinstance(obj, type) else type(obj)
    module = cls.__module__
    return cls.__name__ if module in (None, "builtins") else f"{module}.{cls.__name__}"


def is_training_available() -> bool:
    """Whether sbert can train here: torch and transformers are installed (``pip install 'sbert[train]'``)."""
    return torch_installed()


def is_datasets_available() -> bool:
    """Whether Hugging Face ``datasets`` is installed."""
    return installed("datasets")


def is_accelerate_available() -> bool:
    """Whether Hugging Face ``accelerate`` is installed."""
    return installed("accelerate")


def information_retrieval(*args: Any, **kwargs: Any) -> list[list[dict[str, float | int]]]:
    """sentence-transformers' older name of :func:`semantic_search`."""
    return semantic_search(*args, **kwargs)


# names of sentence-transformers' util read from their submodules here on first access
_SUBMODULE_NAMES = {
    "check_version_requirements": "environment",
    "get_installed_version": "environment",
    "install_logger": "logging",
    "save_to_hub_args_decorator": "decorators",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULE_NAMES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_SUBMODULE_NAMES[name]}"), name)
    if name != "disabled_tqdm":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from tqdm import tqdm  # only when asked for: importing sbert.util stays light

    class disabled_tqdm(tqdm):  # sentence-transformers' name
        """A tqdm bar that never shows, whatever ``disable`` a caller passes (for ``tqdm_class=``)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "disable": True})

        def __delattr__(self, attr: str) -> None:  # huggingface_hub deletes _lock, which it never set
            try:
                super().__delattr__(attr)
            except AttributeError:
                if attr != "_lock":
                    raise

    disabled_tqdm.__module__ = __name__
    globals()[name] = disabled_tqdm
    return disabled_tqdm


def is_sentence_transformer_model(
    model_name_or_path: str,
    token: bool | str | None = None,
    cache_folder: str | None = None,
    revision: str | None = None,
    local_files_only: bool = False,
) -> bool:
    """Whether the model (a folder, or a hub name: fetched as loading it would) has a ``modules.json``;
    ``False`` for one that cannot be found, as in sentence-transformers."""
    try:
        folder = resolve_model_path(
            model_name_or_path,
            cache_folder=cache_folder,
            revision=revision,
            token=token,
            local_files_only=local_files_only,
        )
    except ModelLoadError:
        return False
    return (folder / "modules.json").is_file()


def paraphrase_mining(
    model: SentenceTransformer,
    sentences: Sequence[str],
    show_progress_bar: bool | None = None,
    batch_size: int | None = None,
    query_chunk_size: int = 5000,
    corpus_chunk_size: int = 100_000,
    max_pairs: int = 500_000,
    top_k: int = 100,
    score_function: str | ScoreFunction = cos_sim,
    truncate_dim: int | None = None,
    prompt_name: str | None = None,
    prompt: str | None = None,
) -> list[list[float | int]]:
    """Embed ``sentences`` with ``model`` and return the most similar pairs, ``[score, i, j]`` with ``i < j``.

    See :func:`paraphrase_mining_embeddings` for the search itself (chunked top-k, no ``n x n`` matrix).
    ``truncate_dim`` keeps the first dimensions of each embedding (Matryoshka models); ``prompt_name`` /
    ``prompt`` go to ``model.encode``. ``batch_size`` ``None``: the model's own default.
    """
    options = {"prompt_name": prompt_name, "prompt": prompt, "show_progress_bar": show_progress_bar}
    if batch_size is not None:  # a sentence-transformers model needs an int
        options["batch_size"] = batch_size
    embeddings = model.encode(list(sentences), **options)
    _check_dense(embeddings, "paraphrase_mining")  # a SparseEncoder's: a ValueError, as there
    embeddings = _truncate(np.asarray(embeddings), truncate_dim)
    return paraphrase_mining_embeddings(
        embeddings,
        query_chunk_size=query_chunk_size,
        corpus_chunk_size=corpus_chunk_size,
        max_pairs=max_pairs,
        top_k=top_k,
        score_function=score_function,
    )


_truncate = truncate_dim  # the parameter above shadows the function's name inside paraphrase_mining
