"""sentence-transformers' encode options, in one place: prompts, truncate_dim, precision, return types.

``SentenceTransformer.encode`` computes float32 numpy sentence embeddings. The options of
sentence-transformers' ``encode`` that choose a prompt or change what comes back are checked here before
and applied here after, so batching, runners and pooling know nothing of them.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_positive_int, check_sequence_length, is_positive_int, size_error
from ._errors import (
    PASS_THROUGH_CODE,
    InputError,
    InputTypeError,
    ModelLoadError,
    UnknownOutputError,
    UnusedKeywordsError,
    log_once,
    torch_installed,
    warn_at_caller,
)
from ._numeric import normalize
from ._search.quantize import PRECISIONS, quantize_embeddings
from ._st_loggers import ST_DECORATORS, ST_MODEL
from ._tokens.chat import is_conversation, is_message
from ._tokens.tokenizer import IDLE_TOKENIZER_KWARGS, TOKENIZER_OPTIONS

# Every sentence-transformers model has these prompt names (empty unless the model or the caller sets them).
ST_DEFAULT_PROMPTS = {"query": "", "document": ""}
# encode_document's prompt: the first of these names the model has.
DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")
OUTPUT_VALUES = ("sentence_embedding", "token_embeddings", None)  # None: every feature, one dict per text


# sentence-transformers 6's words (its ``deprecated_kwargs``) when a caller names the texts ``sentences=``
SENTENCES_RENAMED = "The `sentences` argument was renamed and is now deprecated. Please use `inputs` instead."


def batch_encoding(method: Callable[..., Any]) -> Callable[..., Any]:
    """A model's or its Transformer module's ``tokenize`` / ``preprocess`` giving its features as a
    transformers ``BatchEncoding``, as sentence-transformers 6's do (``features.to(device)``,
    ``features.input_ids``); a dict without transformers, and for no inputs (``{}``, a plain dict there
    too). Not on encode's own path, which builds its batches itself. A user's first module's features are
    handed back as that module gave them (:func:`input_module_features`), as there."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return as_batch_encoding(method(*args, **kwargs))

    PASS_THROUGH_CODE.add(wrapper.__code__)  # tokenize's deprecation notice looks past it for its caller
    return wrapper


def as_batch_encoding(features: Any) -> Any:
    """sbert's own ``features`` as :func:`batch_encoding` gives them."""
    kind = _batch_encoding_class()
    return features if kind is None or not features or isinstance(features, kind) else kind(features)


@functools.cache
def _batch_encoding_class() -> Any:
    try:
        from transformers import BatchEncoding
    except ImportError:  # the base install: plain dicts
        return None
    return BatchEncoding


def older_texts_keyword(method: Callable[..., Any]) -> Callable[..., Any]:
    """``encode`` / ``predict`` taking the texts as ``sentences=`` too, as sentence-transformers 6 does since
    it named them ``inputs`` (beir's reranker passes ``predict(sentences=...)``): logged once, passed on as
    ``inputs`` (dropped when ``inputs=`` is given too, as there). A positional text list logs nothing."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if "sentences" in kwargs:
            log_once(SENTENCES_RENAMED, ST_DECORATORS)
            kwargs.setdefault("inputs", kwargs["sentences"])
            del kwargs["sentences"]
        return method(self, *args, **kwargs)

    return wrapper


def task_encode_method(
    task: str, encode: Callable[..., Any], last: str, doc: str, *, older_name: bool = False
) -> Callable[..., Any]:
    """A model class's ``encode_query`` / ``encode_document``: sentence-transformers' signature (``encode``'s
    parameters up to ``last``, then ``**kwargs``, for code that reads it), calling ``self.encode`` with each
    by name and ``task``, as sentence-transformers does, with the task's prompt when none is given.
    ``older_name``: ``sentences=`` taken for ``inputs`` (:func:`older_texts_keyword`), as there."""
    params = list(inspect.signature(encode).parameters.values())
    shown = params[: [p.name for p in params].index(last) + 1]
    defaults = {p.name: p.default for p in shown[2:]}  # after self, inputs
    names = tuple(defaults)

    def encode_as(self: Any, task: str, inputs: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # positionals named once per call from a tuple: no signature binding on this path
        if len(args) > len(names):
            raise TypeError(f"encode_{task}() takes {len(names) + 2} positional arguments")
        call = {**defaults, **kwargs}
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"encode_{task}() got multiple values for argument '{name}'")
            call[name] = value
        if call["prompt_name"] is None and call["prompt"] is None:
            call["prompt_name"] = task_prompt_name(self.prompts, task)
        return self.encode(inputs=inputs, **call, task=task)

    # one function per task, each with its own source text: clients key caches on inspect.getsource (dspy's
    # Embedder), where one shared body gave the document embeddings for queries
    def encode_query(self: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return encode_as(self, "query", inputs, args, kwargs)

    def encode_document(self: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return encode_as(self, "document", inputs, args, kwargs)

    method = {"query": encode_query, "document": encode_document}[task]
    method.__qualname__ = method.__name__
    method.__doc__ = doc
    kwargs = inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)
    method.__signature__ = inspect.Signature([*shown, kwargs])  # type: ignore[attr-defined]
    return older_texts_keyword(method) if older_name else method


def dict_texts(sentences: Any, *, model: str = "SentenceTransformer") -> Any:
    """sentence-transformers 6's multimodal form of a text, ``{"text": t}`` (one input, or items anywhere
    in a list or tuple), as ``t``; any other dict is an InputTypeError naming its keys (a TypeError, and
    the ValueError sentence-transformers 6 raises). A 0-d numpy string array (``np.array("t")``, one input by
    ``is_singular_input``) is ``t`` too. Chat messages are refused in sentence-transformers' words (``model``:
    the class name they name). Other inputs are returned unchanged."""
    if isinstance(sentences, np.ndarray) and sentences.ndim == 0 and sentences.dtype.kind in "UO":
        return sentences.item()
    if isinstance(sentences, (list, tuple)) and all(isinstance(t, str) for t in sentences):
        return sentences  # plain texts, the common case: one cheap pass
    _refuse_messages(sentences, model)
    if isinstance(sentences, dict):
        return _dict_text(sentences, "sentences")
    # a list or tuple with a dict anywhere (texts and {"text": t} items mix there); a tuple becomes a list
    if isinstance(sentences, (list, tuple)) and any(isinstance(t, dict) for t in sentences):
        items = enumerate(sentences)
        return [_dict_text(t, f"sentences[{i}]") if isinstance(t, dict) else t for i, t in items]
    return sentences


def _refuse_messages(sentences: Any, model: str) -> None:
    """An InputTypeError for chat messages (a ``{"role", "content"}`` dict or a conversation of them) given
    to a model without a chat template, worded as sentence-transformers 6.3 words it (so a caller's
    ``pytest.raises(match=...)`` holds); it names whether other inputs came with them."""
    items = [sentences] if is_message(sentences) else sentences
    if not isinstance(items, (list, tuple)) or not items:
        return
    chat = [is_message(item) or is_conversation(item) for item in items]
    if not any(chat):
        return
    mixed = "" if all(chat) else ", which this batch mixes with other modalities"
    raise InputTypeError(
        f"This {model} model does not support chat-style 'message' inputs (dicts or lists of dicts with "
        f"'role' and 'content'){mixed}. Supported modalities: text."
    )


def _dict_text(item: dict, name: str) -> str:
    if set(item) == {"text"}:
        if isinstance(item["text"], str):
            return item["text"]
        raise InputTypeError(f"{name}['text'] is {type(item['text']).__name__}, not a string.")
    if unknown := sorted(set(item) - ST_DICT_KEYS, key=str):  # sentence-transformers' words first
        raise InputTypeError(
            f"Multimodal dict input contains unrecognized modality keys: {unknown}. Expected keys from: "
            f"{sorted(ST_DICT_KEYS)}. ({name}: a text model reads {{'text': str}} only; pass the text.)"
        )
    raise InputTypeError(
        f"{name} is a dict with keys {sorted(map(str, item))}: a text model reads {{'text': str}} only; "
        "pass the text itself."
    )


# The keys of sentence-transformers 6's multimodal input dicts (its MULTIMODAL_DICT_KEYS), and with chat
# messages its modalities; any other key of a dict is a task name.
ST_DICT_KEYS = frozenset({"text", "image", "audio", "video"})
MODALITY_KEYS = ST_DICT_KEYS | {"message"}


def task_dicts(inputs: Any, task: str | None) -> tuple[Any, str | None]:
    """The texts and task of sentence-transformers' older Router (``Asym``) input: ``{"query": text}`` items,
    or one such dict, whose one key names the task (only when no ``task`` is given). Other inputs come back
    unchanged. Items of different tasks are an InputError, as there."""
    items = [inputs] if isinstance(inputs, dict) else inputs
    if task is not None or not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return inputs, task
    keys = {key for item in items if isinstance(item, dict) for key in item}
    if keys & MODALITY_KEYS or not all(isinstance(item, dict) for item in items):
        return inputs, task
    if len(keys) > 1:
        raise InputError(
            "You cannot pass a list of dictionaries with different task types "
            f"({sorted(map(str, keys))}). Please ensure all dictionaries have the same task type key, or "
            "pass the texts themselves with the task argument: encode(texts, task='query')."
        )
    (task,) = keys
    texts = [item[task] for item in items]
    return (texts[0] if isinstance(inputs, dict) else texts), task


def check_text_modality(modality: Any) -> None:
    """``modality=`` of a Router model's calls: sbert reads texts, so only "text" (or None: inferred)."""
    if modality not in (None, "text"):
        raise InputError(
            f"modality={modality!r}: sbert's models read texts only; pass modality='text' or leave it out."
        )


def prompt_table(prompts: dict[str, str]) -> dict[str, str]:
    """The prompts as sentence-transformers sees them: its default names first, the model's own over them."""
    return {**ST_DEFAULT_PROMPTS, **prompts}


def resolve_prompt(
    prompts: dict[str, str], default_prompt_name: str | None, prompt: str | None, prompt_name: str | None
) -> str | None:
    """The prompt text for one call: ``prompt`` wins (logged when ``prompt_name`` is given too, in
    sentence-transformers' words), then ``prompt_name``, then the model's default name."""
    if prompt is not None:
        if prompt_name is not None:
            logging.getLogger(ST_MODEL).warning(
                "Provide either a `prompt`, a `prompt_name`, or neither, but not both. "
                "Ignoring the `prompt_name` in favor of `prompt`."
            )
        return prompt
    if prompt_name is not None:
        check_prompt_name(prompt_name, prompts)
        return prompts[prompt_name]
    return prompts.get(default_prompt_name) if default_prompt_name is not None else None


def check_prompt_name(name: str | None, prompts: dict[str, str], *, default: bool = False) -> None:
    """``name`` is one of the prompts (``default``: it is the model's default prompt name); the message
    starts as sentence-transformers' does. The model's prompts as they are now: a model loads with the
    "query" and "document" names, but prompts a user replaced keep no default ones."""
    if name is not None and name not in prompts:
        raise InputError(
            f"{'Default prompt' if default else 'Prompt'} name '{name}' not found in the configured prompts "
            f"dictionary with keys {list(prompts)!r}. Pass one of them, add it with prompts={{...}} when "
            "loading, or pass prompt='...' as text."
        )


def merged_prompts(
    saved: dict[str, str] | None, given: dict[str, str] | None, defaults: dict[str, str] = ST_DEFAULT_PROMPTS
) -> dict[str, str]:
    """The prompts a model loads with, in sentence-transformers' order: its default names, the caller's
    prompts, then the saved ones the caller left out (or gave as None)."""
    if not isinstance(given, (dict, type(None))):  # a ValueError and a TypeError, as dict() raises there
        raise InputTypeError(f"prompts must be a dict of prompt names to prompt texts, got {given!r:.80}.")
    if not isinstance(saved, (dict, type(None))):
        raise ModelLoadError(
            f"The saved config_sentence_transformers.json's prompts must map prompt names to texts, found "
            f"{saved!r:.80}; fix or remove the entry."
        )
    given = given or {}
    table: dict[str, Any] = {**defaults, **given}
    for name, text in (saved or {}).items():
        if given.get(name) is None:
            table[name] = text
    return {name: "" if text is None else text for name, text in table.items()}


def loaded_default_prompt_name(given: str | None, saved: dict[str, Any]) -> str | None:
    """The default prompt name a model loads with: the caller's, ``""`` included, else the saved one (the
    saved config's is taken only for ``None``, as sentence-transformers)."""
    return given if given is not None else saved.get("default_prompt_name")


def log_prompts(prompts: dict[str, str], default_name: str | None) -> None:
    """A loaded model names its non-empty prompts (INFO, on every load) and, once, its default prompt name,
    in sentence-transformers' words: the default prompt is put before every text unless a call overrides
    it (its ``warning_once``, a log record)."""
    if named := [name for name, text in prompts.items() if text != ""]:
        logging.getLogger(ST_MODEL).info(
            f"Loaded {len(named)} prompt{'s' if len(named) > 1 else ''} with these keys: {named}"
        )
    if default_name:
        log_once(
            f"Default prompt name is set to '{default_name}'. This prompt applies unless overridden by "
            "`prompt`, `prompt_name`, or a method-specific prompt, including an empty prompt.",
            ST_MODEL,
        )


OPTION_DICTS = ("model_kwargs", "tokenizer_kwargs", "processor_kwargs", "config_kwargs")


def option_dicts_checked(init: Callable[..., Any]) -> Callable[..., Any]:
    """A model constructor whose ``*_kwargs`` options must each be a dict (or None): anything else is an
    :class:`InputTypeError` naming the option (a ``TypeError``, and a ``ValueError`` as
    sentence-transformers' ``dict(...)`` of a string raises it), before any of them is read."""

    @functools.wraps(init)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for name in OPTION_DICTS:
            value = kwargs.get(name)
            if value is not None and not isinstance(value, dict):
                raise InputTypeError(
                    f"{name} must be a dict of options (or None), got {type(value).__name__}: {value!r:.60}"
                )
        return init(*args, **kwargs)

    return wrapper


def tokenizer_kwargs_renamed(owner: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A constructor that takes ``tokenizer_kwargs=``, sentence-transformers' name before 6.0 for
    ``processor_kwargs=``, as there: logged once in its words (``owner``: "CrossEncoder " names the class as
    its message does), and dropped when ``processor_kwargs=`` is given too."""

    def decorate(init: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(init)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if "tokenizer_kwargs" in kwargs:
                log_once(
                    f"The {owner}`tokenizer_kwargs` argument was renamed and is now deprecated. "
                    "Please use `processor_kwargs` instead.",
                    ST_DECORATORS,
                )
                value = kwargs.pop("tokenizer_kwargs")
                kwargs.setdefault("processor_kwargs", value)
            return init(*args, **kwargs)

        return wrapper

    return decorate


def task_prompt_name(prompts: dict[str, str], task: str) -> str | None:
    """The prompt name ``encode_query`` (task "query") or ``encode_document`` uses when given none: the first
    of its names in the model's ``prompts`` as they are now (prompts a user replaced keep no default ones)."""
    names = ("query",) if task == "query" else DOCUMENT_PROMPT_NAMES
    return next((name for name in names if name in prompts), None)


def overrides_preprocess(model: Any) -> bool:
    """Whether a user replaced the model's ``preprocess`` (in a subclass, or set on the instance:
    ``model.preprocess = f``), which sentence-transformers' ``encode`` and trainer then call for every batch
    (the model's own batches skip it). One class and one instance lookup: cheap enough for every call."""
    return _user_method(model, "preprocess")


def overrides_encode_steps(model: Any) -> bool:
    """Whether a user replaced ``preprocess`` or ``forward`` (in a subclass or on the instance), the two
    steps sentence-transformers' ``encode`` runs for every batch: ``encode`` then runs them as there."""
    return _user_method(model, "preprocess") or _user_method(model, "forward")


def _user_method(model: Any, name: str) -> bool:
    # the instance's own attribute, else the class's; sbert's own in either place (the trainer's compiled
    # forward, Matryoshka's wrapper: set on the instance for a while) is not a user's
    method = vars(model).get(name) or getattr(type(model), name)
    return not (getattr(method, "__module__", None) or "").startswith("sbert.")


def input_module_features(module: Any, inputs: list[Any], prompt: str | None, kwargs: dict[str, Any]) -> Any:
    """The features of a first module that reads its inputs itself, as sentence-transformers' model
    ``preprocess`` asks it: ``preprocess(inputs, prompt=..., **kwargs)``; a module whose ``preprocess``
    takes no prompt gets it before each text; one without ``preprocess`` (jina-embeddings-v3's
    ``custom_st.Transformer``) is asked ``tokenize(inputs, **kwargs)``, then ``tokenize(inputs)``. What it
    returns is handed back as it is (a plain dict stays one), as sentence-transformers' model does."""
    if not inputs:
        return {}
    try:
        return module.preprocess(inputs, prompt=prompt, **kwargs)
    except TypeError:
        return module.preprocess(with_prompt(inputs, prompt), **kwargs)
    except AttributeError:
        texts = with_prompt(inputs, prompt)
        try:
            return module.tokenize(texts, **kwargs)
        except TypeError:
            return module.tokenize(texts)


def with_prompt(texts: list[Any], prompt: str | None) -> list[Any]:
    """``prompt`` before every text; before the first text of a pair (as sentence-transformers)."""
    if not prompt:
        return texts
    return [(prompt + t[0], t[1]) if isinstance(t, tuple) else prompt + t for t in texts]


def prompt_token_count(tokenizer: Any, prompt: str) -> int:
    """The tokens ``prompt`` takes at the start of a text, its trailing special token (SEP, EOS) not
    counted: what Pooling's ``include_prompt: false`` leaves out. sentence-transformers' count: a last token
    whose id is one of the tokenizer's special ids is dropped, whether the template added it or the prompt
    ends in one (an unknown token where the template adds none)."""
    encoding = tokenizer.encode_texts([prompt])[0]  # (a do_lower_case tokenizer lowercases it itself)
    special = getattr(tokenizer, "all_special_ids", None)
    if not encoding.ids:
        return 0
    trailing = encoding.ids[-1] in special if special is not None else encoding.special_tokens_mask[-1]
    return len(encoding.ids) - bool(trailing)


def check_truncate_dim(value: Any, dimension: int) -> int | None:
    """A positive ``truncate_dim``; one at or above the model's dimension keeps every dimension, as
    sentence-transformers' slicing does."""
    if value is None:
        return None
    if not is_positive_int(value):
        raise size_error(value)(f"truncate_dim must be a positive int or None; got {value!r}.")
    return int(value)


# model_kwargs' dtype as sbert's precision: the torch backend sets the encoder's dtype from the precision.
_DTYPE_PRECISIONS = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "auto": None}


def precision_from_model_kwargs(model_kwargs: dict[str, Any] | None, precision: str) -> tuple[Any, str]:
    """``(model_kwargs without dtype, precision)``: sentence-transformers' ``model_kwargs={"dtype":
    torch.bfloat16}`` (or ``torch_dtype``) is ``precision="bf16"`` here ("auto" keeps the precision)."""
    if not model_kwargs or not {"dtype", "torch_dtype"} & set(model_kwargs):
        return model_kwargs, precision
    rest = {k: v for k, v in model_kwargs.items() if k not in ("dtype", "torch_dtype")}
    dtype = model_kwargs.get("dtype", model_kwargs.get("torch_dtype"))
    # None is transformers' default, as "auto" (optimum's exporter passes torch_dtype=None)
    name = "auto" if dtype is None else str(dtype).removeprefix("torch.")
    if name not in _DTYPE_PRECISIONS:
        raise InputError(
            f"model_kwargs dtype {dtype!r} is not supported: sbert runs float32, bfloat16 or float16 "
            "(precision='fp32', 'bf16' or 'fp16')."
        )
    chosen = _DTYPE_PRECISIONS[name]
    if chosen is not None and precision not in ("fp32", chosen):
        raise InputError(f"model_kwargs dtype {dtype!r} and precision={precision!r} disagree; pass one.")
    return rest, chosen or precision


def to_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, str | None]:
    """``(device, precision)`` from ``model.to(...)``'s arguments as ``torch.nn.Module.to`` takes them: a
    device, a dtype (float32, bfloat16, float16; float64 as ``"fp64"``), both, or a tensor (its device and
    dtype); ``non_blocking`` is accepted. Either may be None (unchanged)."""
    unknown = sorted(set(kwargs) - {"device", "dtype", "non_blocking", "memory_format"})
    if unknown:
        raise TypeError(f"to() got unexpected keyword arguments {unknown}")
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        kind = type(arg).__name__
        if kind == "dtype":
            dtype = arg
        elif hasattr(arg, "dtype") and hasattr(arg, "device"):  # a tensor
            device, dtype = arg.device, arg.dtype
        elif arg is not None and not isinstance(arg, bool):  # a device: a name, a torch.device, an index
            device = f"cuda:{arg}" if isinstance(arg, int) else arg
    if dtype is None:
        return device, None
    name = str(dtype).removeprefix("torch.")
    if _TO_PRECISIONS.get(name) is None:
        raise InputError(
            f"to({dtype!r}): sbert runs float32, bfloat16 or float16 (model.float(), .bfloat16(), .half())."
        )
    return device, _TO_PRECISIONS[name]


# to()'s dtypes: float64 too, which a SparseEncoder's or MultiVectorEncoder's torch modules run (double())
_TO_PRECISIONS = {**_DTYPE_PRECISIONS, "float64": "fp64"}


# sentence-transformers' model_kwargs for its ONNX backend (optimum's files in the model's onnx/ folder)
ONNX_MODEL_KWARGS = ("file_name", "provider", "export")


def onnx_model_kwargs(backend: str, model_kwargs: dict[str, Any] | None, precision: str) -> tuple[Any, str]:
    """``(model_kwargs left, precision)`` for sentence-transformers' ``backend="onnx"`` options. sbert runs
    the graph it builds from the weights, so ``file_name`` only chooses the precision (a ``*qint8*`` /
    ``*quint8*`` file: ``"int8"``, others fp32); ``provider`` must be the CPU one; ``export`` is implied."""
    if backend != "onnx" or not model_kwargs or not set(ONNX_MODEL_KWARGS) & set(model_kwargs):
        return model_kwargs, precision
    provider = model_kwargs.get("provider")
    if provider not in (None, "CPUExecutionProvider"):
        raise InputError(
            f"sbert's ONNX backend runs ONNX Runtime's CPUExecutionProvider, not {provider!r}; for a GPU, "
            "load the model with backend='torch' and device='cuda'."
        )
    file_name = str(model_kwargs.get("file_name") or "")
    chosen = "int8" if "int8" in Path(file_name).name.lower() else "fp32"
    if file_name and precision != "fp32" and precision != chosen:
        raise InputError(
            f"model_kwargs file_name {file_name!r} and precision={precision!r} disagree; pass one."
        )
    rest = {k: v for k, v in model_kwargs.items() if k not in ONNX_MODEL_KWARGS}
    return rest, chosen if file_name else precision


def check_onnx_backend(
    model_class: str,
    backend: str,
    modules: Any,
    model_kwargs: dict[str, Any] | None,
    config_kwargs: dict[str, Any] | None,
) -> str:
    """A SparseEncoder's or MultiVectorEncoder's ``backend`` checked: "torch", or for a folder "onnx-fp32" /
    "onnx-int8", with sentence-transformers' ONNX ``model_kwargs`` only (``provider``: the CPU one;
    ``export``; ``file_name``, whose name says the precision: ``*qint8*`` / ``*quint8*`` files int8, others
    fp32)."""
    if backend not in ("torch", "onnx"):
        raise InputError(f"sbert's {model_class} runs on backend='torch' or 'onnx', not {backend!r}.")
    if backend == "torch":
        return backend
    if modules is not None:
        raise InputError("backend='onnx' loads a saved folder; modules=[...] run on backend='torch'.")
    rest, precision = onnx_model_kwargs(backend, model_kwargs, "fp32")
    if rest or config_kwargs:
        raise InputError("model_kwargs and config_kwargs apply to the torch backend only.")
    return f"onnx-{precision}"  # file_name chose the precision: an int8 file, sbert's int8 graph


def older_token_argument(token: bool | str | None, use_auth_token: bool | str | None) -> bool | str | None:
    """``token``, or sentence-transformers' older ``use_auth_token`` (taken with a FutureWarning, as there:
    the category users filter)."""
    if use_auth_token is None:
        return token
    # sentence-transformers' words, given before the check below as there
    warn_at_caller(
        "The `use_auth_token` argument is deprecated and will be removed in a future release of "
        "SentenceTransformers.",
        FutureWarning,
    )
    if token is not None:
        raise InputError(  # sentence-transformers' wording, which users search for
            "Both `token` and `use_auth_token` are specified. Please only specify the `token` argument. "
            "(use_auth_token= is its older name: pass one, not both.)"
        )
    return use_auth_token


def check_kernels(use_kernels: bool = False, kernel_config: Any = None) -> None:
    """sentence-transformers 6.3's hub-kernel options: their defaults are what sbert runs (the model's own
    modules); asking for more is refused rather than ignored."""
    if use_kernels or kernel_config is not None:
        raise InputError(
            "use_kernels and kernel_config (Hugging Face hub kernels) are not supported: sbert runs the "
            "model's own transformers modules. Leave them at their defaults (use_kernels=False)."
        )


def loading_options(
    backend: str,
    model_kwargs: dict[str, Any] | None,
    tokenizer_kwargs: dict[str, Any] | None,
    config_kwargs: dict[str, Any] | None,
) -> tuple[str, dict[str, Any]]:
    """The backend and the Transformer's options for sentence-transformers' ``*_kwargs`` of the constructor.

    ``model_kwargs`` / ``config_kwargs`` shape the torch encoder, so they choose the torch backend
    ("auto") or are refused (ONNX); ``tokenizer_kwargs`` (the Transformer's ``processor_kwargs``) apply on
    every backend.
    """
    options = {k: v for k, v in {"model_kwargs": model_kwargs, "config_kwargs": config_kwargs}.items() if v}
    if options and backend != "torch":
        if backend != "auto":
            raise InputError("model_kwargs and config_kwargs apply to the torch backend only.")
        backend = "torch"
    if tokenizer_kwargs:
        options["processor_kwargs"] = check_tokenizer_kwargs(tokenizer_kwargs)
    return backend, options


def check_tokenizer_kwargs(kwargs: dict[str, Any], *, chat: str | None = None) -> dict[str, Any]:
    """sentence-transformers' ``tokenizer_kwargs``, checked: the options its users pass for text models.
    ``chat_template`` replaces the folder's template (a dict of named ones for a list, as transformers
    reads it) where the model renders chat input; ``chat``: the model class that renders none, which
    refuses it."""
    kwargs = {k: v for k, v in kwargs.items() if k not in IDLE_TOKENIZER_KWARGS}
    if "chat_template" in kwargs:
        kwargs["chat_template"] = _checked_template(kwargs["chat_template"], chat)
    unknown = sorted(set(kwargs) - {*TOKENIZER_OPTIONS, "chat_template"})
    if unknown:
        raise InputError(
            f"tokenizer_kwargs {unknown} are not supported; sbert applies {list(TOKENIZER_OPTIONS)} "
            "(set model.max_seq_length for the length limit)."
        )
    length = kwargs.get("model_max_length")
    if length is not None:
        check_sequence_length("tokenizer_kwargs: model_max_length", length)
    if not isinstance(kwargs.get("do_lower_case", False), bool):
        raise InputError(
            f"tokenizer_kwargs: do_lower_case must be True or False, got {kwargs['do_lower_case']!r}"
        )
    for side in ("padding_side", "truncation_side"):
        if kwargs.get(side, "right") not in ("left", "right"):
            raise InputError(f"tokenizer_kwargs: {side} must be 'left' or 'right', got {kwargs[side]!r}")
    return {k: v for k, v in kwargs.items() if v is not None or k == "chat_template"}


def _checked_template(template: Any, chat: str | None) -> str | dict[str, str] | None:
    """A chat template given at load: a string, named templates (a dict, or transformers' list of
    ``{"name", "template"}``), or None (the folder's dropped, as transformers drops it)."""
    if chat is not None:
        raise InputError(
            f"tokenizer_kwargs: sbert's {chat} renders no chat template; leave chat_template out "
            "(or load the model with sentence-transformers)."
        )
    if isinstance(template, list) and all(isinstance(t, dict) and "name" in t for t in template):
        template = {t["name"]: t.get("template") for t in template}
    named = isinstance(template, dict) and all(isinstance(t, str) for t in template.values())
    if template is None or isinstance(template, str) or named:
        return template
    raise InputError(
        "tokenizer_kwargs: chat_template must be a Jinja template string, named templates (a dict of "
        f"strings, or a list of {{'name': ..., 'template': ...}}) or None, got {type(template).__name__}"
    )


@dataclass(frozen=True)
class EncodeOptions:
    """sentence-transformers' output options of one ``encode`` call, checked."""

    output_value: str = "sentence_embedding"
    precision: str = "float32"
    convert_to_numpy: bool = True
    convert_to_tensor: bool = False
    truncate_dim: int | None = None
    device: str | None = None


def call_max_length(processing_kwargs: Any, max_length: Any) -> int | None:
    """A CrossEncoder call's token limit: ``processing_kwargs``' (see :func:`per_call_max_length`), else its
    ``max_length=``, which sentence-transformers 6.3's ``predict`` hands its Transformer's ``preprocess``
    as that call's limit (its ``rank`` takes no such keyword)."""
    check_positive_int("max_length", max_length, optional=True)
    from_processing = per_call_max_length(processing_kwargs)
    return max_length if from_processing is None else from_processing


def takes_tokenizer_call(processing_kwargs: Any) -> bool:
    """Whether a call's ``processing_kwargs`` hold more than sbert's own batching applies (a ``"text"``
    ``max_length``, see :func:`per_call_max_length`): ``padding_side``, ``"common"`` options, ... Such a call
    runs sentence-transformers' batch loop, its features from the Transformer's ``preprocess``, so the
    tokenizer call gets them as there (and left padding gives sentence-transformers' batches' numbers)."""
    if not isinstance(processing_kwargs, dict) or not processing_kwargs:
        return False
    text = processing_kwargs.get("text")
    if set(processing_kwargs) != {"text"} or not isinstance(text, dict):
        return True
    return (
        bool(set(text) - {"max_length", "truncation", "padding"})
        or text.get("truncation", True) is not True
        or text.get("padding", True) not in (True, "longest", "max_length")
    )


def per_call_max_length(processing_kwargs: Any) -> int | None:
    """The token limit of sentence-transformers 6's ``encode(processing_kwargs={"text": {"max_length": n,
    "truncation": True, "padding": ...}})``, the keys sbert's texts take; None without one. Other keys are an
    InputError."""
    if processing_kwargs is None:
        return None
    text = processing_kwargs.get("text") if isinstance(processing_kwargs, dict) else None
    if (
        not isinstance(processing_kwargs, dict)
        or set(processing_kwargs) - {"text"}
        or not isinstance(text, dict)
    ):
        raise InputError(
            'processing_kwargs takes {"text": {"max_length": n}} (sbert encodes texts); '
            f"got {processing_kwargs!r}."
        )
    unknown = sorted(set(text) - {"max_length", "truncation", "padding"})
    # Padding only changes how long a batch's rows are; the attention mask hides it, so the documented
    # {"padding": "max_length"} (fixed shapes for compiled models) gives the same embeddings as sbert's own.
    padding_ok = text.get("padding", True) in (True, "longest", "max_length")
    if unknown or text.get("truncation", True) is not True or not padding_ok:
        raise InputError(
            f'processing_kwargs["text"] takes "max_length" (and "truncation": True, "padding": True, '
            f'"longest" or "max_length"); got {text!r}. sbert always truncates to the model\'s '
            "max_seq_length."
        )
    max_length = text.get("max_length")
    check_positive_int("max_length", max_length, optional=True)
    return max_length


def call_tokenizer(tokenizer: Any, max_length: int | None) -> Any:
    """``tokenizer``, or for a call with its own token limit (:func:`per_call_max_length`) a copy that cuts
    there: the model's tokenizer, which other calls (and threads) read, stays as it is."""
    if max_length is None:
        return tokenizer
    if not hasattr(tokenizer, "with_max_length"):
        raise InputError("processing_kwargs' max_length needs a model with a subword tokenizer.")
    return tokenizer.with_max_length(max_length)


def unexpected_keywords(model_class: str, unknown: Iterable[str], valid: list[str]) -> UnusedKeywordsError:
    """The error of an ``encode`` call given keywords the model does not take, in sentence-transformers'
    words (``valid``: what ``get_model_kwargs()`` lists)."""
    names = (
        f"the valid additional keyword arguments are: {valid}."
        if valid
        else "this model does not accept any additional keyword arguments."
    )
    return UnusedKeywordsError(
        f"{model_class}.encode() has been called with additional keyword arguments that this model "
        f"does not use: {sorted(unknown)}. As per {model_class}.get_model_kwargs(), {names}"
    )


def encode_options(
    dimension: int,
    default_truncate_dim: int | None,
    *,
    output_value: str | None = "sentence_embedding",
    precision: str = "float32",
    convert_to_numpy: bool = True,
    convert_to_tensor: bool = False,
    truncate_dim: int | None = None,
    device: str | None = None,
    model_kwargs: Callable[[], Sequence[str]] = tuple,
    **unknown: Any,
) -> EncodeOptions:
    """``model_kwargs``: gives what else the model's encode takes (``get_model_kwargs``), named when a
    call passes keywords it does not take, in sentence-transformers' words."""
    if unknown:
        raise unexpected_keywords("SentenceTransformer", unknown, list(model_kwargs()))
    if output_value not in OUTPUT_VALUES:
        raise UnknownOutputError(f"output_value must be one of {OUTPUT_VALUES}, got {output_value!r}.")
    precision = "float32" if precision is None else precision  # sentence-transformers reads None so
    if precision not in PRECISIONS:
        raise InputError(f"Precision {precision!r} is not supported, must be one of {PRECISIONS}.")
    if output_value is None and precision != "float32":  # a TypeError there too: it cannot quantize dicts
        raise InputTypeError(
            "output_value=None gives every feature as float32; pass output_value='sentence_embedding' or "
            "'token_embeddings' with a quantized precision."
        )
    if truncate_dim is None:
        truncate_dim = default_truncate_dim
    return EncodeOptions(
        output_value=output_value,
        precision=precision,
        convert_to_numpy=bool(convert_to_numpy),
        convert_to_tensor=bool(convert_to_tensor),
        truncate_dim=check_truncate_dim(truncate_dim, dimension),
        device=device,
    )


def finish_sentence_embeddings(
    embeddings: np.ndarray, options: EncodeOptions, normalize_embeddings: bool, single: bool, device: str
) -> Any:
    """Truncate, normalize, quantize and convert float32 ``(n, d)`` as sentence-transformers does."""
    out = embeddings
    if options.truncate_dim is not None:
        out = np.ascontiguousarray(out[:, : options.truncate_dim])
    if normalize_embeddings:
        out = normalize(out)
    quantized = options.precision != "float32"
    if quantized and len(out):
        out = quantize_embeddings(out, options.precision)
    if options.convert_to_numpy and not options.convert_to_tensor:
        return out[0] if single else out
    import torch

    tensor = torch.from_numpy(out)
    if not quantized:  # sentence-transformers quantizes on the CPU and leaves the codes there
        tensor = tensor.to(device)
    if options.convert_to_tensor:
        return tensor[0] if single else tensor
    rows = list(tensor)  # convert_to_numpy=False: one tensor per text
    return rows[0] if single else rows


def token_embeddings_output(arrays: list[np.ndarray], precision: str, single: bool, device: str) -> Any:
    """``output_value="token_embeddings"``: one ``(tokens_i, hidden)`` tensor per text, as ST returns (numpy
    arrays where torch is not installed); with a quantized ``precision``, one numpy array of codes per text,
    every text on the same ranges, as there."""
    if precision != "float32" and arrays:
        codes = quantize_embeddings(arrays, precision)
        return codes[0] if single else codes
    if not torch_installed():  # the base install: its ONNX graph's arrays
        return arrays[0] if single else arrays
    import torch

    tensors = [torch.from_numpy(array).to(device) for array in arrays]
    return tensors[0] if single else tensors


# Input modules whose max_seq_length sentence-transformers reports as math.inf, read-only (they read whole
# texts); a model without torch modules (the static backend) knows its first module by its saved kind.
UNLIMITED_INPUTS = frozenset({"StaticEmbedding"})


def reported_max_seq_length(first: Any, input_kind: str, tokenizer: Any) -> Any:
    """A model's ``max_seq_length`` as sentence-transformers reads it off its first module (``None`` where
    the module has none, e.g. BoW); without torch modules, the limit of ``tokenizer``. sbert's batching
    reads the tokenizer's own int limit, never this."""
    if first is not None:
        return getattr(first, "max_seq_length", None)
    return math.inf if input_kind in UNLIMITED_INPUTS else tokenizer.max_length


def set_max_seq_length(first: Any, input_kind: str, tokenizer: Any, value: Any) -> None:
    """Set a model's ``max_seq_length`` on its first module, as sentence-transformers does (a StaticEmbedding
    refuses: AttributeError, as there), else on ``tokenizer``; sbert's own int check first."""
    if first is None and input_kind in UNLIMITED_INPUTS:
        raise AttributeError(f"property 'max_seq_length' of {input_kind!r} object has no setter")
    check_sequence_length("max_seq_length", value)
    if first is not None:
        first.max_seq_length = value
    else:
        tokenizer.max_length = value
