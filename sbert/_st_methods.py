"""sentence-transformers' ``SentenceTransformer`` methods that sbert's own API has no use for.

User code written for sentence-transformers calls them (``model.evaluate(evaluator)``, ``push_to_hub``,
``truncate_sentence_embeddings``, ...), so :class:`sbert.SentenceTransformer` inherits them from here, kept
apart from the model's own loading, encoding and saving; those it shares with the other model classes
(``torch.nn.Module``'s, ``evaluate``, ``push_to_hub``, ``is_singular_input``, ...) from
:mod:`sbert._model_methods`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from ._backends import BACKENDS
from ._backends.torch_runner import precision_dtype
from ._errors import InputError, require_torch, warn_at_caller, warn_renamed
from ._format.card_data import SentenceTransformerModelCardData
from ._model_methods import ModelMethods, ModuleEditing
from ._numeric import SIMILARITY_FUNCTIONS
from ._st_loggers import ST_SENTENCE_TRANSFORMER_MODEL
from ._training.classic_collate import collate_examples

# sentence-transformers 6.3's words: client libraries still call the method (llama-index's
# HuggingFaceEmbedding(parallel_process=True)), and their users see this warning there
ENCODE_MULTI_PROCESS_DEPRECATED = (
    "The `encode_multi_process` method has been deprecated, and its functionality has been integrated into "
    "`encode`. You can now call `encode` with the same parameters to achieve multi-process encoding."
)
# INSTRUCTOR checkpoints whose saved Pooling averages the instruction too: sentence-transformers 6.3 leaves
# it out when one is loaded by this name (their embeddings with a prompt depend on it)
INSTRUCTOR_REPOS = ("hkunlp/instructor-base", "hkunlp/instructor-large", "hkunlp/instructor-xl")
INSTRUCTOR_POOLING_WARNING = (
    "Instructor models require `include_prompt=False` in the pooling configuration. Either update the model "
    "configuration or call `model.set_pooling_include_prompt(False)` after loading the model."
)

# sentence-transformers 6.3's words for the older name of truncate_embeddings
TRUNCATE_RENAMED = "The `truncate_sentence_embeddings` method has been renamed to `truncate_embeddings`."


class SentenceTransformersMethods(ModelMethods, ModuleEditing):
    """Mixed into :class:`sbert.SentenceTransformer`: sentence-transformers' names for what sbert does."""

    SUPPORTED_SIMILARITY_FN_NAMES = SIMILARITY_FUNCTIONS
    model_type = "SentenceTransformer"  # what config_sentence_transformers.json says the folder holds
    model_card_data_class = SentenceTransformerModelCardData
    default_huggingface_organization: str | None = "sentence-transformers"  # the owner of bare hub names

    @classmethod
    def load(cls, input_path: str | os.PathLike) -> Any:
        """The model at ``input_path`` (sentence-transformers' old spelling of the constructor, which warns
        there)."""
        warn_renamed(f"{cls.__name__}.load(...) is deprecated, use {cls.__name__}(...) instead.")
        return cls(input_path)

    # torch.nn.Module's methods (sbert._model_methods) act on the torch modules, which a model that
    # backend="auto" put on ONNX moves to (the caller may change them)

    def _torch_module(self) -> Any:
        return self._network_to_change()

    def _start_torch(self) -> Any:
        return BACKENDS["torch"].start(self._backend_context())

    def _observe(self, network: Any) -> None:
        # encode hands the hooked or compiled modules sentence-transformers' batches and features from now
        # on (SentenceTransformer._batches_as_st, the torch runner); new modules start unobserved
        network.observed = True

    def smart_batching_collate(self, batch: list[Any]) -> tuple[list[dict[str, Any]], Any]:
        """The ``collate_fn`` of training loops written before sentence-transformers 3: ``InputExample`` s to
        one set of features per text column (:meth:`preprocess`) and their labels as one tensor, what a
        loss takes as ``loss(features, labels)``."""
        return collate_examples(self, batch)

    def old_fit(self, train_objectives: Sequence[tuple[Any, Any]], *args: Any, **kwargs: Any) -> None:
        """sentence-transformers' ``old_fit``: its training loop from before v3 (plain torch, no trainer:
        the ``DataLoader`` s' own shuffling, one AdamW and schedule per objective, round robin), with
        ``fit``'s classic parameters (:func:`sbert._training.old_fit.old_fit`). ``fit`` runs sbert's trainer
        instead, as sentence-transformers' ``fit`` runs its."""
        from ._training.old_fit import old_fit

        old_fit(self, train_objectives, *args, **kwargs)

    def encode_multi_process(
        self,
        sentences: Sequence[str],
        pool: dict[str, Any],
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        chunk_size: int | None = None,
        show_progress_bar: bool | None = None,
        precision: str = "float32",
        normalize_embeddings: bool = False,
        truncate_dim: int | None = None,
    ) -> Any:
        """sentence-transformers' older name for ``encode(sentences, pool=pool, ...)``: its parameters, in its
        order, and a numpy array of sentence embeddings; deprecated there, with a DeprecationWarning."""
        warn_at_caller(ENCODE_MULTI_PROCESS_DEPRECATED, DeprecationWarning)
        return self.encode(
            sentences,
            prompt_name=prompt_name,
            prompt=prompt,
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
            output_value="sentence_embedding",
            precision=precision,
            convert_to_numpy=True,
            convert_to_tensor=False,
            normalize_embeddings=normalize_embeddings,
            truncate_dim=truncate_dim,
            pool=pool,
            chunk_size=chunk_size,
        )

    def get_backend(self) -> str:
        """What runs the model: ``"torch"``, ``"onnx"`` (ONNX Runtime) or ``"static"`` (a token table)."""
        return self.backend

    def get_model_kwargs(self) -> list[str]:
        """What :meth:`encode` takes for this model beyond every model's options: the keywords its modules'
        ``forward`` takes (their ``forward_kwargs`` and modules.json ``kwargs``), ``["task", "modality"]``
        with a Router (what picks the route; sbert reads texts only, so the modality is "text")."""
        if self._network is not None:
            from ._modules.network import model_keywords

            return model_keywords(self._network)
        entries = self._pipeline.entries
        names = {name for entry in entries for name in entry.kwargs}
        names |= {"task", "modality"} if any(entry.kind == "Router" for entry in entries) else set()
        routing = [name for name in ("task", "modality") if name in names]
        return routing + sorted(names - set(routing))

    def truncate_sentence_embeddings(self, truncate_dim: int | None) -> Any:
        """sentence-transformers' older name for :meth:`truncate_embeddings` (a FutureWarning there)."""
        warn_renamed(TRUNCATE_RENAMED, FutureWarning)
        return self.truncate_embeddings(truncate_dim)

    @property
    def dtype(self) -> Any:
        """The torch dtype the model computes in: its parameters' on the torch backend, else the
        precision's (a numpy dtype where torch is not installed)."""
        if self._network is not None and self.backend == "torch":
            return next((p.dtype for p in self._network.parameters()), None)
        return precision_dtype(self.precision)

    @property
    def transformers_model(self) -> Any:
        """The first module's transformers model (``None`` for a static or word-embedding model); asking for
        it moves a model running on ONNX to its torch modules, since the caller may change the weights."""
        return _transformers_model(self._network_to_change())

    @property
    def config(self) -> Any:
        """The transformers config of :attr:`transformers_model` (``None`` without one), which integrations
        read (``model.config.hidden_size``). Needs torch: it loads the torch modules, but a model on ONNX
        stays there; setting it sets the transformers model's."""
        require_torch("model.config (the transformers config)")
        return getattr(_transformers_model(self._torch_network()), "config", None)

    @config.setter
    def config(self, value: Any) -> None:
        model = self.transformers_model
        if model is not None:
            model.config = value

    def _modules_to_edit(self, what: str) -> list[Any]:
        """The pipeline's modules as a list to change; a model loaded with an explicit ONNX (or other
        graph) backend cannot change (its graph is built from the saved modules)."""
        if self.backend != "torch" and not self._auto:
            raise InputError(
                f"backend={self.backend!r} runs a graph built from the saved modules; load the model with "
                f"backend='auto' or 'torch' to {what}."
            )
        return list(self._network_to_change())

    def _instructor_pooling(self, name: str | None) -> None:
        """sentence-transformers' rule at load by name: hkunlp's INSTRUCTOR models pool without the prompt;
        another repo named like an instructor model whose Pooling keeps the prompt gets its warning."""
        if name in INSTRUCTOR_REPOS:
            try:
                self.set_pooling_include_prompt(False)
                return
            except InputError:  # backend="onnx" asked for: its graph keeps the saved Pooling
                pass
        elif not (name and "/" in name and "instructor" in name.split("/")[1].lower()):
            return
        if self._pooling_keeps_prompt():
            logging.getLogger(ST_SENTENCE_TRANSFORMER_MODEL).warning(INSTRUCTOR_POOLING_WARNING)

    def _pooling_keeps_prompt(self) -> bool:
        """Whether a top-level Pooling module averages the prompt's tokens (sentence-transformers' test)."""
        if self._network is not None:
            return any(type(m).__name__ == "Pooling" and m.include_prompt for m in self._network)
        pipeline = self._pipeline
        return pipeline.includes_prompt and any(entry.kind == "Pooling" for entry in pipeline.entries)

    def set_pooling_include_prompt(self, include_prompt: bool) -> None:
        """Whether the first Pooling module averages a prompt's tokens too (``False``: instruction models
        such as INSTRUCTOR leave them out); a model without a Pooling module is left as it is. A model that
        ``backend="auto"`` put on ONNX moves to its torch modules for a change (the graph is built from the
        saved Pooling); one loaded with ``backend="onnx"`` cannot change."""
        if not isinstance(include_prompt, bool):
            raise InputError(f"include_prompt must be True or False, got {include_prompt!r}.")
        if self.backend != "torch":
            pipeline = self._pipeline
            pooled = any(entry.kind == "Pooling" for entry in pipeline.entries)
            if not pooled or pipeline.includes_prompt == include_prompt:
                return
            if not self._auto:
                raise InputError(
                    f"backend={self.backend!r} runs a graph built for the saved Pooling (include_prompt="
                    f"{pipeline.includes_prompt}); load the model with backend='auto' or 'torch' to change "
                    "it, or save it with the Pooling changed."
                )
        network = self._network_to_change()
        # the pipeline's own modules only, as sentence-transformers: a Pooling inside a Router's route is kept
        pooling = next((m for m in network if type(m).__name__ == "Pooling"), None)
        if pooling is not None:
            pooling.include_prompt = include_prompt


def _transformers_model(network: Any) -> Any:
    """The first transformers model among ``network``'s modules (a Transformer's), else ``None``."""
    return next((m.auto_model for m in network.modules() if getattr(m, "auto_model", None) is not None), None)
