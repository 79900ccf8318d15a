"""Transformer: a Hugging Face encoder that turns token ids into contextual token embeddings."""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import os
from abc import ABCMeta
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import check_sequence_length
from .._compat import batch_encoding
from .._errors import (
    TOKENIZE_RENAMED,
    InputError,
    ModelLoadError,
    UnexpectedKeywordsError,
    WeightsMismatchError,
    log_once,
    log_renamed_once,
    require_peft,
    unloadable_weights,
    unreadable_config,
    warn_at_caller,
)
from .._format.chat_template import inferred_modality_config
from .._format.encoder_class import forward_inputs, load_transformers_model
from .._format.hub import name_by_hub_name, resolve_model_path
from .._format.layout import (
    adapter_base_folder,
    default_max_seq_length,
    read_transformer_file,
    read_transformer_options,
    read_transformer_settings,
    transformer_config_path,
    transformer_repr,
)
from .._format.transformer_config import (
    CONFIG_KEYS,
    PROCESSING_KEYS,
    TASK_DEFAULTS,
    check_modality_config,
    check_task,
    config_dict,
    config_options,
    disable_kv_cache,
    file_dict,
    load_config_view,
    merge_processing,
    model_options,
    unknown_processing_keys,
)
from .._format.weights import check_encoder_weights
from .._multi_vector.task_inputs import check_task_settings, expansion_for, set_task_settings
from .._st_loggers import ST_DECORATORS, ST_INPUT_MODULE
from .._tokens.chat import ChatInput
from .._tokens.hf_methods import feature_names, token_types
from .._tokens.tokenizer import IDLE_TOKENIZER_KWARGS, TextTokenizer, is_transformers_tokenizer
from .base import InputModule
from .loading import module_folder, st_loading
from .padding_free import in_own_inference, padding_free_forward, runs_padding_free_on, supports_padding_free
from .task_defaults import TaskDefaultSettings, TransformerAliases
from .transformer_outputs import (
    PromptLengths,
    as_tensors,
    configured_forward,
    embedding_dimension,
    encoder_inputs,
    text_features,
    text_inputs,
)

CONFIG_FILE = "sentence_bert_config.json"


def _get_max_seq_length(module: Any) -> int | None:
    if module.tokenizer is None:  # no tokenizer (set to None): the encoder's own limit
        return getattr(module.model.config, "max_position_embeddings", None)
    return module.tokenizer.max_length


def _set_max_seq_length(module: Any, value: int) -> None:
    check_sequence_length("max_seq_length", value)
    if module.tokenizer is not None:  # nothing to limit without one, as sentence-transformers
        module.tokenizer.max_length = value


# The token limit of a module that holds a ``tokenizer``: the tokenizer's own (Transformer, MLMTransformer).
tokenizer_max_seq_length = property(_get_max_seq_length, _set_max_seq_length)

# The transformers model is registered as ``model``, so parameter and state_dict names are
# sentence-transformers 6's (``0.model.encoder...``); ``auto_model``, its older name, reads it (no setter,
# as there).
encoder_alias = property(lambda self: self.model, doc="The transformers model: the older name of ``model``.")

_PLAIN_TEXT = TASK_DEFAULTS["feature-extraction"][0]["text"]  # forward -> last_hidden_state: the fast path


class _TransformerKind(ABCMeta):  # Module is an ABC, as sentence-transformers'
    """``isinstance(module, Transformer)`` is also true of the other modules that hold a transformers model
    as sentence-transformers 6's one Transformer class (its subclasses there): the CrossEncoder's module 0
    and the SparseEncoder's masked-LM (both :class:`TaskDefaultSettings`), as their classes stay apart here.
    A subclass of :class:`Transformer` checks as any class."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return super().__instancecheck__(instance) or (
            cls is Transformer and isinstance(instance, TaskDefaultSettings)
        )

    def __subclasscheck__(cls, subclass: type) -> bool:
        return super().__subclasscheck__(subclass) or (
            cls is Transformer and issubclass(subclass, TaskDefaultSettings)
        )


class Transformer(ChatInput, PromptLengths, TransformerAliases, InputModule, metaclass=_TransformerKind):
    """Wraps a ``transformers`` encoder (``AutoModel``) and its tokenizer: sentence-transformers'
    ``models.Transformer`` (6's ``base.modules.Transformer``).

    Args:
        model_name_or_path: a folder with ``config.json``, weights and tokenizer files, or a hub name.
        transformer_task: ``"feature-extraction"`` (token embeddings), ``"sequence-classification"``
            (``AutoModelForSequenceClassification``'s logits as ``"scores"``; one label unless the config
            says otherwise) or ``"fill-mask"`` (``AutoModelForMaskedLM``'s logits).
        model_kwargs, config_kwargs: passed to ``AutoModel.from_pretrained`` / ``AutoConfig.from_pretrained``.
        processor_kwargs: the tokenizer's options (``model_max_length``, which then is the length limit,
            ``do_lower_case``, ``padding_side``, ``truncation_side``); see ``TextTokenizer``.
        processing_kwargs: options of the tokenizer call in :meth:`preprocess`, ``{"text": {...}, "common":
            {...}}`` (``max_length``, ``truncation``, ``padding``, ``return_tensors``); saved with the module.
        backend: ``"torch"``; sbert runs ONNX for whole models (``SentenceTransformer(..., backend="onnx")``).
        modality_config, module_output_name: which model method and output the feature comes from and its
            name (default ``forward`` -> ``last_hidden_state`` -> ``"token_embeddings"``).
        unpad_inputs: ``False`` always pads; ``None`` (or ``True``) runs CPU inference on real tokens only
            where the architecture allows (same numbers).
        max_seq_length: texts are truncated to this many tokens (special tokens included). ``None`` takes
            the smaller of the tokenizer's and the model's limits.
        do_lower_case: lowercase texts before tokenizing (for models trained on lowercased text).
        allow_pickle: allow loading ``pytorch_model.bin`` (pickle) weights. Off by default because unpickling
            an untrusted file can run arbitrary code; prefer safetensors.
        trust_remote_code: allow architectures whose code lives in the model folder.
        query_length, document_length: the token caps of queries and documents in a MultiVectorEncoder
            (``task="query"`` / ``"document"``); ``None``: :attr:`max_seq_length`.
        query_expansion: ColBERT's query expansion in a MultiVectorEncoder, e.g.
            ``{"strategy": "fixed", "length": 32}`` (keys ``strategy``, ``length``, ``attend``, ``token``).
        model_args, tokenizer_args, config_args: sentence-transformers 5's names of the three option dicts
            (deprecated, as in sentence-transformers 6).
    """

    config_file_name = CONFIG_FILE
    backend = "torch"  # the one backend a module runs (sbert runs ONNX for whole models)
    # sentence-transformers 6.3's list; get_config_dict, repr and save read the settings themselves
    config_keys = list(CONFIG_KEYS)
    tokenizer: Any = None  # set in __init__

    def __init__(
        self,
        model_name_or_path: str | os.PathLike,
        *,
        transformer_task: str = "feature-extraction",
        model_kwargs: dict[str, Any] | None = None,
        processor_kwargs: dict[str, Any] | None = None,
        config_kwargs: dict[str, Any] | None = None,
        processing_kwargs: dict[str, Any] | None = None,
        backend: str = "torch",
        modality_config: dict[Any, dict[str, Any]] | None = None,
        module_output_name: str | None = None,
        unpad_inputs: bool | None = None,
        max_seq_length: int | None = None,
        do_lower_case: bool = False,
        tokenizer_name_or_path: str | os.PathLike | None = None,
        cache_dir: str | None = None,
        allow_pickle: bool = False,
        trust_remote_code: bool = False,
        query_length: int | None = None,
        document_length: int | None = None,
        query_expansion: dict[str, Any] | None = None,
        **older: dict[str, Any] | None,
    ) -> None:
        super().__init__()
        self.transformer_task = check_task(transformer_task)
        _check_backend(backend)
        options = _older_options(older, cache_dir, model_kwargs, processor_kwargs, config_kwargs)
        self.processing_kwargs = _checked_processing(processing_kwargs)
        if modality_config is not None:
            self.modality_config = check_modality_config(modality_config, module_output_name)
            self.module_output_name = module_output_name
        else:
            default_config, self.module_output_name = TASK_DEFAULTS[self.transformer_task]
            self.modality_config = copy.deepcopy(default_config)
        path = resolve_model_path(
            model_name_or_path, cache_folder=cache_dir, allow_pickle=allow_pickle, default_namespace=None
        )
        tokenizer_path = path
        if tokenizer_name_or_path is not None:
            tokenizer_path = resolve_model_path(
                tokenizer_name_or_path, cache_folder=cache_dir, default_namespace=None
            )
        config, is_peft_model = _load_config(path, self.transformer_task, options, trust_remote_code)
        self._loading = {"allow_pickle": allow_pickle, "trust_remote_code": trust_remote_code}
        self.model = self._load_model(
            str(path), self.transformer_task, config, backend, is_peft_model, **options["model_kwargs"]
        )
        tokenizer_options = {
            k: v for k, v in options["processor_kwargs"].items() if k not in IDLE_TOKENIZER_KWARGS
        }
        self.tokenizer = TextTokenizer.from_folder(tokenizer_path, **tokenizer_options)
        if modality_config is None:
            # a tokenizer with a chat template adds chat input for every task, as sentence-transformers 6.3
            # infers it: the text entry's method output, rendered through the template
            self.modality_config = inferred_modality_config(
                self.transformer_task, tokenizer_path, self.model.config.model_type, tokenizer_options
            )
        self.do_lower_case = do_lower_case
        if (
            do_lower_case
        ):  # in the tokenizer itself too, so its direct calls lowercase (sentence-transformers 6)
            self.tokenizer.lowercase_inputs()
        # The caller's model_max_length wins over the saved max_seq_length, uncapped (sentence-transformers').
        max_seq_length = tokenizer_options.get("model_max_length") or max_seq_length
        if max_seq_length is not None:  # handed to transformers' tokenizer as it loads there
            self.tokenizer.loaded_with["model_max_length"] = max_seq_length
        if max_seq_length is None:
            config = self.model.config
            max_seq_length = default_max_seq_length(
                self.tokenizer, getattr(config, "max_position_embeddings", None)
            )
        self.max_seq_length = max_seq_length
        # the features hold token_type_ids where the tokenizer makes them; the encoder gets them where it
        # reads them too (hf_methods.token_types)
        types = token_types(self.tokenizer, "token_type_ids" in forward_inputs(self.model))
        self.takes_token_type_ids, self.gives_token_type_ids = types.to_encoder, types.in_features
        self.unpad_inputs = unpad_inputs
        # a MultiVectorEncoder's per-task tokenization (sbert._multi_vector.task_inputs)
        set_task_settings(self, check_task_settings(query_length, document_length, query_expansion))

    auto_model = encoder_alias

    def _load_model(
        self,
        model_name_or_path: str,
        transformer_task: str,
        config: Any,
        backend: str,
        is_peft_model: bool,
        **model_kwargs: Any,
    ) -> Any:
        """sentence-transformers 6.3's hook: the task's ``transformers`` model from ``model_name_or_path``
        (a local folder; a PEFT adapter's base with the adapter on it) with ``config``, in eval mode.
        ``__init__`` calls it with these six arguments, so a subclass changes or replaces the encoder here
        (quantized loading, another model class), as in sentence-transformers."""
        path = Path(model_name_or_path)
        return _load_encoder(path, transformer_task, config, model_kwargs, **self._loading)

    def __setattr__(self, name: str, value: Any) -> None:
        # Either name replaces the encoder: clients put a quantized, compiled or wrapped one there under the
        # older name too (infinity-emb: `auto_model = quantize(...)`, which sentence-transformers 5 ran;
        # torch's Module.__setattr__ would store it beside the alias, unread, as sentence-transformers 6.3).
        if name == "auto_model":
            name = "model"
        if name == "tokenizer" and is_transformers_tokenizer(value):
            # a transformers tokenizer put in place (datadreamer, as sentence-transformers 5 allowed) is
            # read as sbert's own, at the module's token limit; unconverted, encode could not batch with it
            current = self.__dict__.get("tokenizer")
            value = TextTokenizer.from_transformers(value, max_length=getattr(current, "max_length", None))
        super().__setattr__(name, value)
        if name == "model" and "padding_free" in self.__dict__:
            # the padding-free forward only for an encoder it gives the padded forward's numbers
            self.padding_free = self.padding_free and supports_padding_free(value)

    @property
    def modalities(self) -> list[Any]:
        """The inputs this module reads (its ``modality_config``'s keys): ``["text"]``."""
        return list(self.modality_config)

    @property
    def query_expansion(self) -> dict[str, Any] | None:
        """ColBERT's query expansion in a MultiVectorEncoder (``None``: off); checked when set, so
        ``model[0].query_expansion = {...}`` fails on a bad dict or token instead of at the next query."""
        return self.__dict__.get("_query_expansion")

    @query_expansion.setter
    def query_expansion(self, value: dict[str, Any] | None) -> None:
        self.__dict__["_query_expansion"] = expansion_for(self, value)

    @property
    def unpad_inputs(self) -> bool | None:
        """``False``: always pad. ``None`` / ``True``: CPU inference skips padded positions in the dense
        layers where the architecture allows (:attr:`padding_free`; same numbers). Re-evaluated when set."""
        return self._unpad_inputs

    @unpad_inputs.setter
    def unpad_inputs(self, value: bool | None) -> None:
        if value not in (None, True, False):
            raise InputError(f"unpad_inputs must be True, False or None, got {value!r}")
        self._unpad_inputs = value
        possible = self.transformer_task == "feature-extraction" and supports_padding_free(self.model)
        # Inference skips padded rows in the dense layers where the architecture allows (same numbers).
        self.padding_free = possible and value is not False
        if value is True and not possible:
            warn_at_caller(
                f"unpad_inputs=True was set, but {type(self.model).__name__} ({self.transformer_task}) "
                "cannot run on unpadded inputs in sbert; falling back to padded inputs."
            )

    max_seq_length = tokenizer_max_seq_length

    def get_embedding_dimension(self) -> int:
        text = self.modality_config.get("text") or {}
        if self.transformer_task == "fill-mask" and text.get("method_output_name") == "logits":
            # its token embeddings are vocabulary scores (B, T, V), what a SparseEncoder's SpladePooling pools
            return int(self.model.config.vocab_size)
        return embedding_dimension(self.model.config, self.module_output_name)

    @batch_encoding
    def tokenize(self, texts: list[str] | list[tuple[str, str]]) -> dict[str, Any]:
        """Token ids, attention mask (and token type ids when the model takes them) as ``(B, T)`` tensors,
        and ``"modality": "text"``, as sentence-transformers 6's ``tokenize`` (its ``preprocess``) gives
        them; ``(a, b)`` items are text pairs; ``{"text": t}`` items go through :meth:`preprocess`; no
        texts: ``{}``."""
        log_renamed_once(TOKENIZE_RENAMED, ST_INPUT_MODULE)  # when called from outside sbert
        if not texts:
            return {}
        if isinstance(texts[0], dict):
            return self.preprocess(texts)
        batch = self.tokenizer.encode_padded(texts)
        return {**self.to_features(batch), "modality": "text"}

    @batch_encoding
    def preprocess(
        self,
        inputs: Sequence[Any],
        prompt: str | None = None,
        processing_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """sentence-transformers 6's features of ``inputs`` (texts, ``(a, b)`` pairs or ``{"text": t}``): the
        tokenizer's ``input_ids``, ``token_type_ids`` (where the tokenizer makes them), ``attention_mask``,
        ``"modality": "text"`` and, with a ``prompt`` (put before each text), its ``prompt_length``.
        ``processing_kwargs`` override the module's for this call; ``max_length`` (the trainer's) caps
        texts."""
        if not inputs:
            return {}
        if self.chat is not None:
            return as_tensors(self.chat_arrays(inputs, prompt, processing_kwargs, kwargs))
        texts = text_inputs(inputs)
        if prompt:
            texts = [(prompt + t[0], t[1]) if isinstance(t, tuple) else prompt + t for t in texts]
        processing = merge_processing(self.processing_kwargs, processing_kwargs)
        features = text_features(self.tokenizer, texts, processing, kwargs.get("max_length"))
        if prompt:
            features["prompt_length"] = self._prompt_length(prompt)
        return features

    def to_features(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        # in the order a transformers tokenizer gives them, as sentence-transformers' features list them
        return {name: torch.from_numpy(batch[name]) for name in feature_names(self.gives_token_type_ids)}

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        """``kwargs``: an encode call's keywords for this module (its ``forward_kwargs``); those the encoder's
        ``forward`` names reach it, as in sentence-transformers, the others are ignored."""
        if kwargs:
            return self._forward_with(features, kwargs)
        if self.module_output_name != "token_embeddings" or self.modality_config.get("text") != _PLAIN_TEXT:
            configured_forward(self.model, self.modality_config["text"], self.module_output_name, features)
            return features
        inputs = encoder_inputs(self.model, features, self.takes_token_type_ids)
        every_layer = bool(getattr(self.model.config, "output_hidden_states", False))
        # the encoder's own mode: a new module is in training mode, its from_pretrained encoder is not
        fast = self.padding_free and not every_layer and not self.model.training
        # a caller's own forward (not sbert's inference) computes every position, as sentence-transformers
        fast = fast and in_own_inference() and not torch.is_grad_enabled()
        fast = fast and runs_padding_free_on(inputs["input_ids"].device)
        if fast and not _tracing():
            hidden = padding_free_forward(self.model, **inputs)
        else:
            output = self.model.forward(**inputs, return_dict=True)  # no hook on it fires, as there
            hidden = output.last_hidden_state
            if every_layer:  # (layers + 1) x (B, T, D), for WeightedLayerPooling, as sentence-transformers
                features["all_layer_embeddings"] = [h.float() for h in output.hidden_states]
        # (B, T, D); pooling and later modules run in fp32 even when the encoder runs in bf16/fp16.
        features["token_embeddings"] = hidden.float()
        return features

    def _forward_with(self, features: dict[str, torch.Tensor], kwargs: dict[str, Any]) -> dict[str, Any]:
        names = inspect.signature(self.model.forward).parameters
        passed = {k: v for k, v in kwargs.items() if k in names}
        if not passed or self.module_output_name != "token_embeddings":
            return self.forward(features)
        inputs = encoder_inputs(self.model, features, self.takes_token_type_ids)
        output = self.model.forward(**{**inputs, **passed, "return_dict": True})
        features["token_embeddings"] = output.last_hidden_state.float()
        return features

    def settings(self) -> dict[str, Any]:
        """sentence-transformers 6's settings of this module (task, modality_config, output name, ...)."""
        return {
            "transformer_task": self.transformer_task,
            "modality_config": self.modality_config,
            "module_output_name": self.module_output_name,
            "processing_kwargs": self.processing_kwargs,
            "unpad_inputs": self.unpad_inputs,
        }

    def get_config_dict(self) -> dict[str, Any]:
        """sentence-transformers 6's: task, ``modality_config``, ``module_output_name`` (and
        ``processing_kwargs`` / ``unpad_inputs`` when set). The length limit is :attr:`max_seq_length`."""
        return config_dict(self.settings())

    def __repr__(self) -> str:
        return transformer_repr(self.settings(), type(self.model).__name__)

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """The encoder, tokenizer files (the limit in them, as :attr:`max_seq_length` reads it) and
        ``sentence_bert_config.json`` (classic keys, newer if set)."""
        folder = Path(folder)
        with _quiet_transformers():
            self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save(folder)
        saved = file_dict(self.max_seq_length, self.do_lower_case, self.settings())
        (folder / CONFIG_FILE).write_text(json.dumps(saved, indent=2))

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **kwargs: Any) -> Transformer:
        """The module saved in ``folder``; ``kwargs`` (constructor keywords) override the saved settings."""
        folder = Path(folder)
        read = read_transformer_file(folder)
        saved = {**read_transformer_options(folder, read), **read_transformer_settings(folder, read)}
        for key, value in (kwargs.pop("init_defaults", None) or {}).items():
            saved.setdefault(key, value)  # sentence-transformers' model-given defaults: the saved value wins
        if "modality_config" not in saved and "modality_config" not in kwargs:
            # a saved module keeps the task's modalities, none inferred (sentence-transformers' load_config)
            task = kwargs.get("transformer_task", saved.get("transformer_task", "feature-extraction"))
            default = TASK_DEFAULTS.get(task)
            if default is not None:
                saved["modality_config"], saved["module_output_name"] = copy.deepcopy(default)
        return cls(folder, **{**saved, **kwargs})

    @classmethod
    def load_config(
        cls, model_name_or_path: str | os.PathLike, subfolder: str = "", *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """sentence-transformers 6's: the saved ``sentence_bert_config.json`` with tuple modalities restored,
        ``trust_remote_code`` dropped from its option dicts, and the task's defaults where it has none
        (``args`` / ``kwargs``: the base class's ``config_filename`` and hub keywords)."""
        hub = {
            key: kwargs[key]
            for key in ("token", "cache_folder", "revision", "local_files_only")
            if key in kwargs
        }
        path = transformer_config_path(module_folder(model_name_or_path, subfolder, **hub))
        return load_config_view(json.loads(path.read_text(encoding="utf-8")) if path is not None else {})


def _check_backend(backend: str) -> None:
    if backend == "torch":
        return
    if backend in ("onnx", "openvino"):
        raise InputError(
            f"Unsupported backend {backend!r} for the Transformer module: it runs on torch. sbert runs a "
            'whole model on ONNX Runtime: SentenceTransformer(path, backend="onnx").'
        )
    raise InputError(f"Unsupported backend {backend!r}. `backend` should be 'torch', 'onnx', or 'openvino'.")


def _checked_processing(processing_kwargs: Any) -> dict[str, Any]:
    if processing_kwargs is None:
        return {}
    if not isinstance(processing_kwargs, dict):
        raise InputError(f"processing_kwargs must be a dict, got {type(processing_kwargs).__name__}")
    unknown = unknown_processing_keys(processing_kwargs)
    if unknown:
        warn_at_caller(
            f"Unknown keys in `processing_kwargs`: {unknown}; valid keys are {list(PROCESSING_KEYS)}. They "
            "are ignored: nest options under 'text' or 'common', e.g. {'text': {'max_length': 128}}."
        )
    return processing_kwargs


def _load_config(path: Path, task: str, options: dict[str, Any], trust_remote_code: bool) -> tuple[Any, bool]:
    """The encoder's Hugging Face config from ``path`` (a PEFT adapter folder: its base model's) with the
    caller's ``config_kwargs``, and whether ``path`` is an adapter, as sentence-transformers' ``_load_config``
    gives them to ``_load_model``."""
    import transformers

    base = adapter_base_folder(path)
    if base is not None:
        require_peft("Loading a PEFT model")
    encoder_path = base or path
    if not (encoder_path / "config.json").is_file():
        raise ModelLoadError(
            f"{encoder_path / 'config.json'} not found: Transformer needs a local Hugging Face model folder "
            "(config.json, model.safetensors and tokenizer files). Resolve a hub name with "
            "SentenceTransformer(name) instead."
        )
    config_kwargs = options["config_kwargs"]
    try:
        config = transformers.AutoConfig.from_pretrained(
            encoder_path, **config_options(config_kwargs, trust_remote_code=trust_remote_code)
        )
    except (OSError, ValueError, KeyError) as e:
        raise unreadable_config(encoder_path / "config.json", e) from e
    disable_kv_cache(config, config_kwargs)
    classifier = any(a.endswith("ForSequenceClassification") for a in config.architectures or ())
    if task == "sequence-classification" and "num_labels" not in config_kwargs and not classifier:
        config.num_labels = 1  # a new head scores one label (a cross-encoder), as sentence-transformers
    return config, base is not None


def _load_encoder(
    path: Path,
    task: str,
    config: Any,
    model_kwargs: dict[str, Any],
    *,
    allow_pickle: bool,
    trust_remote_code: bool,
) -> Any:
    """The task's ``transformers`` model from ``path`` in eval mode, weights checked against its config; for a
    PEFT adapter folder, the base model its ``adapter_config.json`` names with the adapter on it (as
    sentence-transformers loads one)."""
    import transformers

    base = adapter_base_folder(path)
    encoder_path = base or path
    weights_file = check_encoder_weights(encoder_path, allow_pickle=allow_pickle)
    try:
        with _quiet_transformers():
            # wrong-shaped weights reported in the loading info (checked below), not as an error that only
            # points at a log message
            model, info = load_transformers_model(
                transformers,
                encoder_path,
                task,
                config,
                **model_options(model_kwargs, trust_remote_code=trust_remote_code, weights=weights_file),
            )
            name_by_hub_name(model, encoder_path)
            if base is not None:  # what from_pretrained(path) does for an adapter folder, after the base
                model.load_adapter(str(path))
    except (OSError, RuntimeError, ValueError) as e:
        raise unloadable_weights(
            f"{weights_file} could not be loaded into {config.model_type}: {e}", e
        ) from e
    # A task's head may be new (initialised here); the encoder's own weights must all be in the file.
    encoder = "" if task == "feature-extraction" else f"{model.base_model_prefix}."
    _check_loading_info(info, weights_file, encoder_path / "config.json", config.model_type, encoder)
    return model.eval()


def _tracing() -> bool:
    """An ONNX export traces the encoder's own forward: the graph must not depend on a batch's padding."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hide transformers' per-load progress bar (restored afterwards: no global change)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _check_loading_info(
    info: dict[str, Any], weights_file: Path, config_file: Path, model_type: str, encoder: str
) -> None:
    """Weights missing from the file or of the wrong shape mean a truncated or foreign file. ``encoder``: the
    prefix of the weights that must be there (a task model's head may be new)."""
    missing = sorted(
        k
        for k in info.get("missing_keys", ())
        if k.startswith(encoder) and not k[len(encoder) :].startswith("pooler.")
    )
    mismatched = [_shape_mismatch(m) for m in info.get("mismatched_keys", ())]
    problems = [f"missing weights {_first(missing)}"] if missing else []
    problems += [f"wrong-shaped weights {_first(sorted(mismatched))}"] if mismatched else []
    if problems:
        raise WeightsMismatchError(
            f"{weights_file} does not match {config_file} ({model_type}): "
            f"{'; '.join(problems)}. The file is truncated or belongs to another model."
        )


def _shape_mismatch(entry: Any) -> str:
    """One ``mismatched_keys`` item of transformers' loading info: ``(name, file shape, model shape)``."""
    if isinstance(entry, (tuple, list)) and len(entry) == 3:
        name, in_file, in_model = entry
        return f"{name}: {tuple(in_file)} in the file, {tuple(in_model)} in the model"
    return str(entry)


def _first(items: list[str], n: int = 3) -> str:
    return "[" + ", ".join(items[:n]) + (", ..." if len(items) > n else "") + "]"


# sentence-transformers 5's names of the option dicts (deprecated in 6), and the tokenizer's older name.
_OLDER_NAMES = {
    "model_args": "model_kwargs",
    "tokenizer_args": "processor_kwargs",
    "config_args": "config_kwargs",
    "tokenizer_kwargs": "processor_kwargs",
}


def _older_options(
    older: dict[str, Any], cache_dir: str | None, *options: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """``model_kwargs``, ``processor_kwargs``, ``config_kwargs`` with the older names merged under them;
    ``cache_dir=`` (where hub names are looked up) logged as the older spelling it is in
    sentence-transformers 6."""
    unknown = sorted(set(older) - set(_OLDER_NAMES))
    if unknown:
        raise UnexpectedKeywordsError(f"Transformer() got unexpected keyword arguments {unknown}")
    if cache_dir is not None:
        log_once(
            "The Transformer `cache_dir` argument is deprecated. Please pass `cache_dir` via `model_kwargs`, "
            "`processor_kwargs`, and/or `config_kwargs` instead.",
            ST_DECORATORS,
        )
    merged = {
        name: dict(value or {})
        for name, value in zip(("model_kwargs", "processor_kwargs", "config_kwargs"), options)
    }
    for old, new in _OLDER_NAMES.items():
        if old not in older:
            continue
        if (
            old != "tokenizer_kwargs"
        ):  # logged once, as sentence-transformers' warning_once: no Python warning
            log_once(
                f"The Transformer `{old}` argument was renamed and is now deprecated, "
                f"please use `{new}` instead.",
                ST_DECORATORS,
            )
        merged[new] = {**(older[old] or {}), **merged[new]}
    return merged
