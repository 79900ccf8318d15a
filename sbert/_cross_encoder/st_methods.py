"""sentence-transformers' ``CrossEncoder`` methods beyond loading, scoring and saving.

User code written for sentence-transformers calls them: the older names (``get_max_seq_length``,
``default_activation_function``, ``get_default_activation_fn``), ``dtype``, ``evaluate``, ``push_to_hub``,
``transformers_model`` and gradient checkpointing, the multi-process pool (``start_multi_process_pool``;
``predict`` and ``rank`` take ``pool=``, ``device=[...]``, ``chunk_size=``) and the classic ``fit``.
:class:`sbert.CrossEncoder` inherits them from here; torch is imported only by the methods that need it.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._backends.devices import batch_to_device, check_device, device_name
from .._backends.torch_runner import precision_dtype
from .._checks import is_sequence_batch
from .._compat import (
    batch_encoding,
    call_tokenizer,
    per_call_max_length,
    prompt_token_count,
    takes_tokenizer_call,
)
from .._errors import InputError, log_once
from .._format.card_data import CrossEncoderModelCardData
from .._format.layout import read_json
from .._format.transformer_config import merge_processing
from .._model_methods import ModelMethods, ModuleEditing
from .._modules.transformer_outputs import tokenizer_call_options
from .._progress import progress_bar, wants_progress
from .._st_loggers import ST_DECORATORS
from .._tokens.batching import st_order
from .._training.classic_collate import collate_pairs
from . import activation as activations
from .config import config_activation
from .inputs import preprocess_items

_LOGGER = logging.getLogger(ST_DECORATORS)  # its older-argument notices, as there

# keywords sentence-transformers still takes and ignores (logging it once), by method
IGNORED_KEYWORDS = {
    "predict": ("num_workers",),
    "rank": ("apply_softmax", "convert_to_tensor", "convert_to_numpy", "num_workers"),
}


# the end of sentence-transformers' message for each of them
_NO_EFFECT = {
    "num_workers": ". It will be removed in a future version.",
    "apply_softmax": (
        ", as `rank` only supports models with `num_labels=1`. It will be removed in a future version."
    ),
    "convert_to_numpy": ", as `rank` always returns Python floats. It will be removed in a future version.",
    "convert_to_tensor": ", as `rank` always returns Python floats. It will be removed in a future version.",
}


# CrossEncoder's older argument names in sentence-transformers (<4.0), by their current name
RENAMED_INIT_ARGUMENTS = {
    "model_name": "model_name_or_path",
    "default_activation_function": "activation_fn",
    "automodel_args": "model_kwargs",
    "config_args": "config_kwargs",
    "tokenizer_args": "tokenizer_kwargs",
    "cache_dir": "cache_folder",
}


# the constructor's arguments after the model's name, in the order sentence-transformers 5.3 took them by
# position (6.x still takes them so, logging each)
POSITIONAL_INIT_ARGUMENTS = (
    "num_labels",
    "max_length",
    "activation_fn",
    "device",
    "cache_folder",
    "trust_remote_code",
    "revision",
    "local_files_only",
    "token",
    "model_kwargs",
    "tokenizer_kwargs",
    "config_kwargs",
    "model_card_data",
    "backend",
)


def positional_init_arguments(init: Callable[..., None]) -> Callable[..., None]:
    """``CrossEncoder.__init__`` taking the arguments after the model's name by position too, as
    sentence-transformers does (each logged; a keyword given as well wins)."""

    @functools.wraps(init)
    def wrapper(self: Any, model_name_or_path: Any = None, *positional: Any, **keywords: Any) -> None:
        if len(positional) > len(POSITIONAL_INIT_ARGUMENTS):
            raise TypeError(
                f"CrossEncoder() takes at most {len(POSITIONAL_INIT_ARGUMENTS) + 1} positional arguments"
            )
        for name, value in zip(POSITIONAL_INIT_ARGUMENTS, positional):
            _LOGGER.warning(
                f"Passing `{name}` as a positional argument to CrossEncoder is deprecated. "
                f"Please pass `{name}` as a keyword argument instead."
            )
            keywords.setdefault(name, value)
        init(self, model_name_or_path, **keywords)

    return wrapper


def renamed_init_arguments(
    renamed: dict[str, Any],
    model_name_or_path: Any,
    activation_fn: Any,
    model_kwargs: Any,
    config_kwargs: Any,
    tokenizer_kwargs: Any,
    cache_folder: Any,
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """The constructor's arguments with sentence-transformers' older names (and ``classifier_dropout=``, a
    ``config_kwargs`` entry) taken in, each logged once, as there (a log record, not a Python warning:
    infinity-emb passes ``automodel_args=`` on every load); other keywords are a TypeError."""
    unknown = sorted(set(renamed) - set(RENAMED_INIT_ARGUMENTS) - {"classifier_dropout"})
    if unknown:
        raise TypeError(f"CrossEncoder() got unexpected keyword arguments {unknown}")
    current = {
        "model_name_or_path": model_name_or_path,
        "activation_fn": activation_fn,
        "model_kwargs": model_kwargs,
        "config_kwargs": config_kwargs,
        "tokenizer_kwargs": tokenizer_kwargs,
        "cache_folder": cache_folder,
    }
    for old, new in RENAMED_INIT_ARGUMENTS.items():
        if old in renamed:
            if current[new] is not None:
                raise InputError(f"Pass {new}= or {old}= (its older name), not both.")
            current[new] = renamed[old]
            log_once(  # sentence-transformers' words; its name for tokenizer_kwargs is processor_kwargs
                f"The CrossEncoder `{old}` argument was renamed and is now deprecated. Please use "
                f"`{'processor_kwargs' if new == 'tokenizer_kwargs' else new}` instead.",
                ST_DECORATORS,
            )
    if "classifier_dropout" in renamed:
        dropout = {"classifier_dropout": renamed["classifier_dropout"]}
        current["config_kwargs"] = {**(current["config_kwargs"] or {}), **dropout}
        _LOGGER.warning(  # sentence-transformers' words, logged each time as there
            "The CrossEncoder `classifier_dropout` argument is deprecated. Please use "
            f"`config_kwargs={dropout}` instead."
        )
    return tuple(current.values())  # type: ignore[return-value]


def older_keywords(method: str, activation_fn: Any, renamed: dict[str, Any]) -> Any:
    """``activation_fn``, or sentence-transformers' older ``activation_fct=`` (before 4.0); the keywords it
    still takes but ignores are logged once each, as there (no Python warning). Others: ``predict`` ignores
    them, as sentence-transformers 6.3's (it hands its ``**kwargs`` to modules that do not read them), and
    says so once on sbert's logger; ``rank`` raises a ``TypeError``, as Python says it there."""
    ignored = sorted(set(renamed) & set(IGNORED_KEYWORDS[method]))
    unknown = sorted(set(renamed) - {"activation_fct"} - set(ignored))
    if unknown and method != "predict":
        raise TypeError(f"{method}() got unexpected keyword arguments {unknown}")
    if unknown:
        log_once(
            f"CrossEncoder.predict() ignores the keyword arguments {unknown}: this model does not use them."
        )
    for keyword in ignored:  # sentence-transformers' words
        log_once(
            f"The CrossEncoder.{method} `{keyword}` argument is deprecated and has no effect"
            + _NO_EFFECT[keyword],
            ST_DECORATORS,
        )
    if "activation_fct" not in renamed:
        return activation_fn
    log_once(  # sentence-transformers' words, once, as its argument decorator logs it
        "The `activation_fct` argument was renamed and is now deprecated. "
        "Please use `activation_fn` instead.",
        ST_DECORATORS,
    )
    if activation_fn is not None:
        raise InputError("Pass activation_fn or activation_fct (its older name), not both.")
    return renamed["activation_fct"]


class CrossEncoderMethods(ModelMethods, ModuleEditing):
    """Mixed into :class:`sbert.CrossEncoder`: sentence-transformers' names for what sbert does."""

    model_type = "CrossEncoder"  # what config_sentence_transformers.json says the folder holds
    model_card_data_class = CrossEncoderModelCardData
    _model_card_model_id_placeholder = "cross_encoder_model_id"
    default_huggingface_organization: str | None = "cross-encoder"  # the owner of bare hub names

    @property
    def default_activation_function(self) -> Any:
        """sentence-transformers' old name of ``activation_fn`` (deprecated there, with this warning)."""
        warnings.warn(
            "The `default_activation_function` property was renamed and is now deprecated. Please use "
            "`activation_fn` instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.activation_fn

    def get_default_activation_fn(self) -> Any:
        """The activation config.json names, else Sigmoid for one label and Identity for more, whatever
        ``activation_fn`` the model was loaded with. As in sentence-transformers, a 6.x folder's
        ``config_sentence_transformers.json`` is not read here (``activation_fn`` holds what it names)."""
        trust = bool(self._load_options["trust_remote_code"])
        # a model built from modules has no config.json of its own (module_stack.py)
        files = None if self._stack is not None else self._source_files()
        path = None if files is None else config_activation(read_json(files.config_path))
        saved = activations.resolve(path, trust_remote_code=trust)
        return (saved or activations.default_activation(self.num_labels)).public()

    @property
    def dtype(self) -> Any:
        """The torch dtype the model computes in: its weights' on the torch backend, else the precision's
        (float32 for ONNX graphs, int8 ones included: they take and give float32; a numpy dtype where torch
        is not installed)."""
        if self._network is not None and self.backend == "torch":
            return next((p.dtype for p in self._network.parameters()), None)
        return precision_dtype(self.precision)

    def get_backend(self) -> str:
        """What scores the pairs: ``"torch"`` or ``"onnx"`` (ONNX Runtime)."""
        return self.backend

    @property
    def transformers_model(self) -> Any:
        """The transformers sequence-classification model: :attr:`model` (handed out, so a cross-encoder
        "auto" put on ONNX scores on it from then on)."""
        return self.model

    @property
    def modalities(self) -> list[str]:
        """What the model reads: ``["text"]``, and ``"message"`` for a causal reranker whose chat template
        renders the pairs, as its Transformer's ``modality_config`` lists them there."""
        if self._stack is not None:
            return super().modalities
        return list(self._transformer_config()["modality_config"])

    def get_model_kwargs(self) -> list[str]:
        """What :meth:`predict` takes beyond every model's options: nothing, as in sentence-transformers."""
        return []

    def is_singular_input(self, inputs: Any) -> bool:
        """Whether ``inputs`` is one pair rather than a batch, by sentence-transformers' rule: a list, tuple
        or ``datasets`` Column is one pair unless its first item is itself one; a text array is one pair
        when 1-d and not empty; anything else is one input."""
        if is_sequence_batch(inputs):
            return len(inputs) > 0 and not is_sequence_batch(inputs[0])
        if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "UO":
            return inputs.size > 0 and inputs.ndim < 2
        return True

    @batch_encoding
    def preprocess(
        self, inputs: Any, prompt: str | None = None, processing_kwargs: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        """sentence-transformers 6's successor of :meth:`tokenize`: the features :meth:`forward` takes, of a
        list of pairs, ``prompt`` before the first text of each (its token count as
        ``features["prompt_length"]``; a chat template: a system message before each input's
        messages, texts alone as user messages, no ``prompt_length``, as sentence-transformers 6.3's "message"
        modality); ``{}`` for none. ``processing_kwargs``: this call's token limit, as
        for :meth:`predict`; other keywords (``task``, which sentence-transformers' losses pass) change
        nothing, as there for a model without a Router."""
        if is_sequence_batch(inputs) and not len(inputs):
            return {}
        call = None
        if (
            self._chat is None and self._stack is None and takes_tokenizer_call(processing_kwargs)
        ):  # padding_side, "common", ...
            processing = merge_processing({}, processing_kwargs)
            call = {**tokenizer_call_options(processing, kwargs.get("max_length")), "return_tensors": "pt"}
        max_length = None if call else per_call_max_length(processing_kwargs)
        if self._chat is not None:  # sentence-transformers 6.3's "message" input: a system message, no length
            return self._pair_features(self._chat.preprocess_items(inputs), max_length, system_prompt=prompt)
        items = preprocess_items(inputs, prompt or "")
        length = prompt_token_count(self.tokenizer, prompt) if prompt else None
        return self._pair_features(items, max_length, length, call=call)

    # ------------------------------------------------------------------ hooks and torch.compile

    def _observe(self, network: Any) -> None:
        """:meth:`predict` runs batches through ``network``'s ``__call__`` from now on (hooked or compiled:
        see ``ModelMethods._observed_network``), not the padding-free path, which calls no module of it."""
        self._network_called = True
        self._runner.network = network

    # ------------------------------------------------------------------ the multi-process pool

    def start_multi_process_pool(self, target_devices: Sequence[str] | None = None) -> dict[str, Any]:
        """Worker processes that :meth:`predict` and :meth:`rank` use when given ``pool=``: one per device
        (default: every GPU, else 4 CPU workers sharing the cores), as in sentence-transformers. They load
        the model's folder, or a copy saved now if its weights may have changed (a new head, training)."""
        from .._multiprocess import start_pool

        changed = self._files.fresh_head or self._weights_handed_out
        return start_pool(self, target_devices, method="predict", save_copy=changed)

    def _text_logits(self, text: str, max_length: int | None, system_prompt: str | None = None) -> np.ndarray:
        """Logits ``(1, num_labels)`` of one text scored alone (``[CLS] text [SEP]``; through a chat
        template: one user message after ``system_prompt``'s system message), as sentence-transformers 6's
        ``predict("text")``; ``max_length``: this call's token limit."""
        self.eval()  # no dropout, as for pairs
        if self._chat is not None:
            batch = self._chat.batch([text], max_length or self.max_seq_length, system_prompt)
            return self._runner.logits(batch)
        tokenizer = call_tokenizer(self._tokenizer, max_length)
        return self._runner.logits(tokenizer.pad_encodings(tokenizer.encode_texts([text])))

    def _scoring_logits(
        self,
        pairs: list[tuple[str, str]],
        batching: tuple[int, int | None, bool | None],
        device: Any,
        pool: dict[str, Any] | None,
        chunk_size: int | None,
        max_length: int | None = None,
        system_prompt: str | None = None,
    ) -> np.ndarray:
        """Logits ``(n, num_labels)`` of ``pairs``, computed here or by a pool's workers: ``pool``, or
        ``device`` a list of devices (a pool for this call, as sentence-transformers starts one).
        ``max_length``: this call's token limit (the workers' too, as sentence-transformers' workers take the
        call's keywords); ``system_prompt``: a chat template's prompt (the workers' too)."""
        if isinstance(device, (list, tuple)):
            call = (pairs, batching, None)
            if pool is not None or not pairs:
                return self._scoring_logits(*call, pool, chunk_size, max_length, system_prompt)
            pool = self.start_multi_process_pool([str(d) for d in device])
            try:
                return self._scoring_logits(*call, pool, chunk_size, max_length, system_prompt)
            finally:
                self.stop_multi_process_pool(pool)
        self._check_call_device(device)
        batch_size, max_tokens, progress = batching
        if pool is None or not pairs:
            return self._logits(pairs, batch_size, max_tokens, progress, max_length, system_prompt)
        from .._multiprocess import encode_on_pool

        # the workers give logits (the prompt is in the pairs, or a chat template's system message); the
        # activation is applied here
        options = {"batch_size": batch_size, "max_batch_tokens": max_tokens, "activation_fn": "Identity"}
        options["prompt"] = system_prompt or ""
        options |= {} if max_length is None else {"max_length": max_length}
        logits = encode_on_pool(pool, pairs, chunk_size, options)
        return logits.reshape(len(pairs), self.num_labels)

    def _check_call_device(self, device: Any) -> None:
        if device is not None and device_name(check_device(str(device))) != self.device:
            raise InputError(
                f"This model runs on {self.device}; call model.to({str(device)!r}) first to score there, or "
                "pass device=[...] (a list) for a pool of worker processes."
            )

    def _user_logits(
        self,
        items: list[Any],
        prompt: str | None,
        batch_size: int,
        progress: bool | None,
        keywords: dict[str, Any],
        device: Any = None,
        scorer: Any = None,
    ) -> np.ndarray:
        """Logits ``(n, num_labels)`` of ``items`` through a user's ``preprocess`` and ``forward`` (a
        subclass's or set on the model), called as sentence-transformers' predict calls them: the pairs
        longest first by characters, ``batch_size`` at a time, ``preprocess(batch, prompt=prompt,
        **keywords)``, then the model called on the features with ``keywords``. ``scorer`` None: sbert's
        own preprocess and torch modules (a call's tokenizer options), which leave the backend as it is."""
        import torch

        self._check_call_device(device)
        out = np.empty((len(items), self.num_labels), dtype=np.float32)
        order = st_order(items)
        self.eval()  # as sentence-transformers' predict
        show = wants_progress(len(items), batch_size, progress)
        with progress_bar(len(items), desc="Scoring", unit="pair", show=show) as bar, torch.inference_mode():
            for start in range(0, len(items), batch_size):
                indices = order[start : start + batch_size]
                features = self.preprocess([items[i] for i in indices], prompt=prompt, **keywords)
                features = batch_to_device(features, self.device)
                if scorer is None:
                    scores = self._network_logits(features)
                else:
                    scores = scorer(features, **keywords)["scores"]
                out[indices] = scores.float().reshape(len(indices), -1).cpu().numpy()
                bar.update(len(indices))
        return out

    # ------------------------------------------------------------------ classic training

    def smart_batching_collate(self, batch: list[Any]) -> tuple[Any, Any]:
        """The ``collate_fn`` of training loops written before sentence-transformers 3: ``InputExample`` s
        to the tokenized pairs and their labels (float for one label, else class ids), on the model's
        device."""
        return collate_pairs(self, batch)

    def smart_batching_collate_text_only(self, batch: list[Any]) -> Any:
        """The same for unlabelled pairs (``(text, text)`` items): the tokenized pairs only."""
        return collate_pairs(self, batch, with_labels=False)

    def fit(
        self,
        train_dataloader: Any,
        evaluator: Any = None,
        epochs: int = 1,
        loss_fct: Any = None,
        activation_fct: Any = None,
        scheduler: str = "WarmupLinear",
        warmup_steps: int = 10000,
        optimizer_class: Any = None,
        optimizer_params: dict[str, Any] | None = None,
        weight_decay: float = 0.01,
        evaluation_steps: int = 0,
        output_path: str | os.PathLike | None = None,
        save_best_model: bool = True,
        max_grad_norm: float = 1,
        use_amp: bool = False,
        callback: Any = None,
        show_progress_bar: bool = True,
    ) -> None:
        """sentence-transformers' classic training call (before its v4 trainer), on sbert's Trainer.

        ``train_dataloader``: a torch ``DataLoader`` of ``InputExample(texts=[query, document], label=...)``
        (its batch size is the batch size). ``loss_fct`` (default: BinaryCrossEntropyLoss for one label,
        CrossEntropyLoss for more) is a torch loss on the logits, after ``activation_fct`` (default
        Identity); ``optimizer_params`` default ``{"lr": 2e-5}``; ``scheduler`` "WarmupLinear" and an AdamW
        ``optimizer_class`` only. The evaluator runs every ``evaluation_steps`` steps and after each epoch;
        ``callback(score, epoch, steps)`` gets its primary metric; with ``save_best_model`` the model is saved
        to ``output_path`` whenever that metric improves (without an evaluator nothing is saved: call
        ``model.save``). ``use_amp``: fp16 autocast (GPU). See :mod:`sbert._cross_encoder.fit` for how it
        maps onto the trainer; :class:`sbert.cross_encoder.CrossEncoderTrainer` is the full API.
        """
        from .fit import classic_fit

        classic_fit(
            self,
            train_dataloader,
            evaluator=evaluator,
            epochs=epochs,
            loss_fct=loss_fct,
            activation_fct=activation_fct,
            scheduler=scheduler,
            warmup_steps=warmup_steps,
            optimizer_class=optimizer_class,
            optimizer_params={"lr": 2e-5} if optimizer_params is None else optimizer_params,
            weight_decay=weight_decay,
            evaluation_steps=evaluation_steps,
            output_path=output_path,
            save_best_model=save_best_model,
            max_grad_norm=max_grad_norm,
            use_amp=use_amp,
            callback=callback,
            show_progress_bar=show_progress_bar,
        )

    def old_fit(self, train_dataloader: Any, *args: Any, **kwargs: Any) -> None:
        """sentence-transformers' ``old_fit``: its training loop from before v4 (plain torch, no trainer:
        the ``DataLoader``'s own shuffling, an AdamW over the classifier, a schedule by name), with
        ``fit``'s parameters (:func:`sbert._training.old_fit.cross_encoder_old_fit`). ``fit`` runs sbert's
        trainer instead, as sentence-transformers' ``fit`` runs its."""
        from .._training.old_fit import cross_encoder_old_fit

        cross_encoder_old_fit(self, train_dataloader, *args, **kwargs)
