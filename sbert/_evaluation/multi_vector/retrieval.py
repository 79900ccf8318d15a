"""Retrieval with token embeddings: sentence-transformers' ``MultiVectorInformationRetrievalEvaluator``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..._errors import InputError
from ..retrieval import InformationRetrievalEvaluator
from .base import MultiVectorEvaluator, check_similarity_name

logger = logging.getLogger(__name__)
# the prompt keys a model's encode_query / encode_document read, first present wins (as there)
ROLE_PROMPT_KEYS = {"query": ("query",), "corpus": ("document", "passage", "corpus")}


class MultiVectorInformationRetrievalEvaluator(MultiVectorEvaluator, InformationRetrievalEvaluator):
    """:class:`~sbert.InformationRetrievalEvaluator` for a :class:`~sbert.MultiVectorEncoder`: queries and
    documents embedded as token tensors (``encode_query`` / ``encode_document``) and the corpus ranked by
    the model's MaxSim (``maxsim``, or ``meanmaxsim`` where the model says so): keys ``maxsim_ndcg@10``
    (primary), ``maxsim_mrr@10``, ``maxsim_map@100``, ``maxsim_recall@1``, ... and the CSV
    ``Information-Retrieval_evaluation_<name>_results.csv`` with columns ``maxsim-Accuracy@1``, ...

    Args:
        queries, corpus, relevant_docs: as for :class:`~sbert.InformationRetrievalEvaluator`.
        corpus_chunk_size: documents embedded and scored per round (a "Corpus Chunks" bar over the rounds
            with ``show_progress_bar``, as sentence-transformers shows it).
        chunk_elements: element budget of the ``(queries, documents, query tokens, document tokens)``
            MaxSim intermediate (default: :func:`sbert.util.maxsim`'s 100M).
        token_pooling: a token pooler handed to ``encode`` (default: the model's).
        score_functions: name → function of ``(query token embeddings, document token embeddings)`` giving
            a ``(queries, documents)`` score matrix, instead of the model's similarity; not with
            ``chunk_elements``, and not XTR scoring (its top-k spans the whole corpus).
        main_score_function: the score-function key whose NDCG is primary.
        options: :class:`~sbert.InformationRetrievalEvaluator`'s other keywords (``name``, ``batch_size``,
            the cut-offs, prompts, ``truncate_dim``, ``write_csv``, ``write_predictions``).

    Example::

        from sbert.multi_vector_encoder import MultiVectorEncoder
        from sbert.multi_vector_encoder.evaluation import MultiVectorInformationRetrievalEvaluator

        evaluator = MultiVectorInformationRetrievalEvaluator(
            {"q1": "capital of France"},
            {"d1": "Paris is the capital of France.", "d2": "Cats purr."},
            {"q1": {"d1"}},
            name="dev",
        )
        results = evaluator(MultiVectorEncoder("lightonai/GTE-ModernColBERT-v1"))
        results[evaluator.primary_metric]  # dev_maxsim_ndcg@10
    """

    main_metric = "maxsim_ndcg@10"

    def __init__(
        self,
        queries: Mapping[str, str],
        corpus: Mapping[str, str],
        relevant_docs: Mapping[str, Iterable[str] | Mapping[str, float]],
        *,
        corpus_chunk_size: int = 5000,
        chunk_elements: int | None = None,
        token_pooling: Any = None,
        score_functions: Mapping[str, Callable[[Any, Any], Any]] | None = None,
        main_score_function: Any = None,
        batch_size: int = 32,
        **options: Any,
    ) -> None:
        if score_functions is not None:
            _check_score_functions(score_functions, chunk_elements)
        self.start_multi_vector(token_pooling, chunk_elements)
        super().__init__(
            queries,
            corpus,
            relevant_docs,
            corpus_chunk_size=corpus_chunk_size,
            score_functions=score_functions,
            batch_size=batch_size,
            **options,
        )
        self.main_score_function = check_similarity_name(main_score_function, "main_score_function")
        self.main_metric = f"maxsim_ndcg@{max(self.ks['ndcg_at_k'])}"

    def compute(self, model: Any) -> dict[str, float]:
        warn_replaced_prompts(model, self.query_options["prompt"], self.corpus_options["prompt"])
        return super().compute(model)

    def given_embeddings(self, embeddings: Any, model: Any) -> Any:
        """A caller's corpus token embeddings: a list of ``(tokens, dim)`` items, or a padded tensor."""
        return list(embeddings) if isinstance(embeddings, (list, tuple)) else embeddings


def warn_replaced_prompts(model: Any, query_prompt: str | None, corpus_prompt: str | None) -> None:
    """Log, as sentence-transformers does, when an explicit prompt drops the model's registered one."""
    prompts = getattr(model, "prompts", None) or {}
    for explicit, parameter, role in (
        (query_prompt, "query_prompt", "query"),
        (corpus_prompt, "corpus_prompt", "corpus"),
    ):
        key = next((k for k in ROLE_PROMPT_KEYS[role] if k in prompts), None)
        registered = prompts.get(key) if key is not None else None
        if explicit is not None and registered and not explicit.startswith(registered):
            logger.warning(
                f"The explicit {parameter} replaces the model's registered {key!r} prompt ({registered!r}) "
                f"rather than composing with it. Include the model's marker prompt in {parameter} if the "
                "trained prompt should be kept."
            )


def _check_score_functions(functions: Mapping[str, Any], chunk_elements: int | None) -> None:
    """sentence-transformers' refusals: ``chunk_elements`` beside own functions, and XTR scoring."""
    if chunk_elements is not None:
        raise InputError(
            "chunk_elements only sizes the model's own MaxSim scoring; with score_functions it would be "
            "ignored. Bind the budget into your function instead, e.g. functools.partial(maxsim, "
            "chunk_elements=...)."
        )
    for name, function in functions.items() if isinstance(functions, Mapping) else ():
        target = getattr(function, "func", function)  # a functools.partial
        target = getattr(target, "__wrapped__", target)  # a torch.compile'd one (functools.wraps)
        if getattr(target, "__name__", None) == "xtr_scores" or type(target).__name__ == "XTRScores":
            raise InputError(
                f"score_functions[{name!r}] uses XTR scoring, whose top-k spans the whole corpus; this "
                "evaluator scores the corpus in chunks. Use MaxSim instead."
            )
