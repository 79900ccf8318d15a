"""CrossEncoder: score pairs of texts with a sequence-classification model (rerank, classify pairs).

Loads sentence-transformers CrossEncoder folders and plain Hugging Face ``*ForSequenceClassification``
folders, or puts a new head on an encoder; predicts on torch (padding-free for BERT-family models) or ONNX
Runtime (torch is never imported there), with SentenceTransformer's precisions and token-budget batching;
saves in sentence-transformers' layout with a model card, and exports ONNX folders.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._backends import BackendContext, check_choice, choose_backend
from .._backends.devices import check_device, device_name, note_default_device
from .._backends.graph_builder import position_limit
from .._backends.graph_builder.checkpoint import copy_checkpoint
from .._backends.onnx_export import (
    EXPORT_DIR,
    ensure_graph,
    export_built_graph,
    exports_without_torch,
    look_at_cache,
    require_exporter,
    write_graphs,
)
from .._backends.onnx_runner import export_only_graph
from .._checks import check_positive_int, check_sequence_length
from .._compat import (
    batch_encoding,
    call_max_length,
    call_tokenizer,
    check_kernels,
    check_tokenizer_kwargs,
    loaded_default_prompt_name,
    log_prompts,
    merged_prompts,
    older_texts_keyword,
    option_dicts_checked,
    overrides_encode_steps,
    precision_from_model_kwargs,
    reported_max_seq_length,
    set_max_seq_length,
    takes_tokenizer_call,
    tokenizer_kwargs_renamed,
)
from .._errors import (
    TOKENIZE_RENAMED,
    InputError,
    log_renamed_once,
    require_torch,
    torch_installed,
    warn_at_caller,
    warn_renamed,
)
from .._format import layout
from .._format.card_data import CrossEncoderModelCardData, card_data_dict, note_base_model
from .._format.hub import DEFAULT_MODEL, model_cache_folder, resolve_model_path
from .._format.snapshot import FolderSnapshot
from .._modules.transformer_outputs import reads_token_types
from .._progress import progress_bar, wants_progress
from .._st_loggers import ST_MODEL
from .._st_registration import count_as_sentence_transformers
from .._tokens.batching import (
    batch_dependent,
    batch_limits,
    prepared_batches,
    sentence_transformers_batches,
)
from .._tokens.hf_methods import TokenTypes, feature_names, makes_token_types, own_call, token_types
from .._tokens.tokenizer import TextTokenizer
from .._torch_base import become_torch_module
from .._version import __version__
from . import activation as activations
from .config import (
    DEFAULT_SCORE_TOKENS,
    LOGIT_SCORE_DIR,
    LOGIT_SCORE_KEYS,
    LOGIT_SCORE_TYPE,
    TRANSFORMER_TYPE,
    CrossEncoderFolder,
    fp32_layer_names,
    is_module_stack,
    read_folder,
    saved_fp32_layer_names,
    stack_folder,
    transformer_config,
)
from .inputs import (
    PromptedTokenizer,
    check_pairs,
    check_prompts,
    check_query_documents,
    preprocess_items,
    resolved_prompt,
    with_pair_prompt,
)
from .st_methods import (
    CrossEncoderMethods,
    older_keywords,
    positional_init_arguments,
    renamed_init_arguments,
)

if TYPE_CHECKING:
    import torch


# sentence-transformers 6.3's words
_MAX_LENGTH_RENAMED = (
    "The `max_length` property was renamed and is now deprecated. Please use `max_seq_length` instead."
)


class CrossEncoder(CrossEncoderMethods):
    """Score text pairs with a cross-encoder (sentence-transformers' ``CrossEncoder``: same files, numbers).

    Args:
        model_name_or_path: a sentence-transformers CrossEncoder folder, a Hugging Face
            sequence-classification folder, an ONNX export made by ``sbert export``, or a hub name (bare
            names are looked up under ``cross-encoder/``). An encoder folder (a plain one, or a
            SentenceTransformer's with ``num_labels``) gets a new, untrained head; ``None`` is the embedded
            all-MiniLM-L6-v2's encoder (with ``num_labels``).
            A causal language model (``*ForCausalLM`` folder, or one saved with sentence-transformers 6.3's
            ``LogitScore``) is a reranker as there: the logit of "yes" less that of "no" after each
            left-padded pair (through its chat template, if any: a prompt is a system message), one label, on
            torch only.
        modules: the modules to build the model from instead of a folder, as sentence-transformers 6.3's
            ``CrossEncoder(modules=[...])``: an input module, then up to a module that writes ``"scores"``,
            e.g. ``[StaticEmbedding(tokenizer, embedding_dim=d), Dense(d, 1, module_output_name="scores")]``
            or ``[Transformer(path, transformer_task="sequence-classification")]``; its labels are the last
            such module's. It runs on torch and saves as its modules (``modules.json``, ``1_Dense``, ...).
        num_labels: outputs of a new head (default 1); a trained head's own count otherwise.
        max_length: pairs are truncated to this many tokens (default: the saved limit).
        activation_fn: applied to the logits by :meth:`predict` (default: the saved one, else Sigmoid for one
            label and Identity for more): a torch module such as ``torch.nn.Identity()`` or a class path.
        device, backend, precision, allow_pickle, trust_remote_code, cache_folder, revision, token,
            local_files_only, model_kwargs, config_kwargs: as for :class:`sbert.SentenceTransformer`
            (``backend="auto"`` takes ONNX on the CPU: an up-to-date export, or the graph written from the
            folder's files for BERT-family classifiers, no torch needed; ``precision="int8"`` runs a
            quantized ONNX graph, ``"bf16"``/``"fp16"`` the torch model in half precision).
        model_card_data: a :class:`CrossEncoderModelCardData` (language, license, title, datasets, tags) for
            the card :meth:`save` writes.
        tokenizer_kwargs (``processor_kwargs``): ``model_max_length``, ``do_lower_case``, ``padding_side``,
            ``truncation_side``, ``chat_template`` (as the folder's own), as for
            :class:`sbert.SentenceTransformer` (saved with the model).
        keep_in_fp32_modules: paths of ``torch.nn.Linear`` layers (as :meth:`named_modules` names them, e.g.
            ``["0.model.classifier"]``) that compute in float32 when the model runs in bf16/fp16; default:
            the saved selection. See :meth:`set_keep_in_fp32_modules`.

    Example::

        model = CrossEncoder("path/to/reranker")
        model.predict([("How many people live in Berlin?", "Berlin had 3.5 million people in 2019.")])
        model.rank("How many people live in Berlin?", ["Berlin had 3.5 million people.", "Paris is big."])
    """

    __module__ = "sbert.sentence_transformers"  # the path libraries recognise models by (see that module)

    @positional_init_arguments
    @option_dicts_checked
    @tokenizer_kwargs_renamed("CrossEncoder ")
    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *,
        modules: Any = None,
        num_labels: int | None = None,
        max_length: int | None = None,
        activation_fn: Any = None,
        device: str | None = None,
        backend: str = "auto",
        precision: str = "fp32",
        allow_pickle: bool = False,
        trust_remote_code: bool = False,
        cache_folder: str | None = None,
        revision: str | None = None,
        token: bool | str | None = None,
        local_files_only: bool = False,
        model_kwargs: dict[str, Any] | None = None,
        config_kwargs: dict[str, Any] | None = None,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
        model_card_data: CrossEncoderModelCardData | dict[str, Any] | None = None,
        tokenizer_kwargs: dict[str, Any] | None = None,
        processor_kwargs: dict[str, Any] | None = None,
        use_kernels: bool = False,
        kernel_config: Any = None,
        keep_in_fp32_modules: list[str] | None = None,
        **renamed: Any,
    ) -> None:
        check_kernels(use_kernels, kernel_config)
        # sentence-transformers' attributes for those options
        self.use_kernels, self.kernel_config = False, None
        self.keep_in_fp32_modules: list[str] = []  # the selection in force (fp32_layers.py)
        fp32_layers = fp32_layer_names(keep_in_fp32_modules)
        self.trust_remote_code = trust_remote_code
        if renamed:  # sentence-transformers' older argument names, each under its current one
            names = (
                model_name_or_path,
                activation_fn,
                model_kwargs,
                config_kwargs,
                tokenizer_kwargs,
                cache_folder,
            )
            model_name_or_path, activation_fn, model_kwargs, config_kwargs, tokenizer_kwargs, cache_folder = (
                renamed_init_arguments(renamed, *names)
            )
        # model_kwargs={"torch_dtype": "float16"} (the efficiency docs' half precision) is precision="fp16"
        model_kwargs, precision = precision_from_model_kwargs(model_kwargs, precision)
        check_choice(backend, precision)
        tokenizer_options = (  # processor_kwargs: sentence-transformers 6's name for tokenizer_kwargs
            check_tokenizer_kwargs({**(tokenizer_kwargs or {}), **(processor_kwargs or {})})
            if tokenizer_kwargs or processor_kwargs
            else {}
        )
        check_positive_int("max_length", max_length, optional=True)
        self._device = check_device(device)  # before any slow work: a device this machine lacks fails now
        note_default_device(
            self._device, model_kwargs, bool(model_name_or_path) and backend in ("auto", "torch")
        )
        self.precision = precision
        self.model_card_data = card_data_dict(model_card_data, self.model_card_data_class, self)
        self._load_options = {
            "allow_pickle": allow_pickle,
            "trust_remote_code": trust_remote_code,
            "model_kwargs": model_kwargs,
            "config_kwargs": config_kwargs,
        }
        self._network: Any = None  # its torch modules (network.py), loaded on demand for the ONNX backend
        # a cross-encoder built from modules (module_stack.py): its modules, which are its network
        self._stack: Any = None
        # its classic modules (Transformer, a causal reranker's LogitScore) changed by append, insert, ...:
        # they then score every batch through their __call__, and save as a module list
        self._edited = False
        where = {"cache_folder": model_cache_folder(cache_folder), "revision": revision, "token": token}
        modules = self._locate(model_name_or_path, modules, local_files_only=local_files_only, **where)
        self._files: CrossEncoderFolder = self._read_files(modules, num_labels, tokenizer_options)
        # the files as loaded: what the torch model is built from later, whatever becomes of the folder (a
        # model built from modules has its torch modules already)
        self._snapshot = (
            FolderSnapshot(self._folder, with_onnx=self._files.export_only)
            if self._folder is not None and self._stack is None
            else None
        )
        # the caller's prompts over the saved ones (another model class's prompts are not this model's)
        saved = layout.read_model_config(self._folder) if self._files.own_settings and self._folder else {}
        explicit_fp32_layers = keep_in_fp32_modules is not None
        if not explicit_fp32_layers:
            fp32_layers = saved_fp32_layer_names(saved, self._folder)
        self.default_prompt_name = loaded_default_prompt_name(default_prompt_name, saved)
        self.prompts = check_prompts(
            merged_prompts(saved.get("prompts"), prompts, defaults={}), self.default_prompt_name
        )
        log_prompts(self.prompts, self.default_prompt_name)
        self._tokenizer = self._pair_tokenizer(max_length, tokenizer_options)
        self._logit_score = _logit_score(self._files, self._tokenizer) if self._files.causal else None
        # the chat template that renders pairs (chat_pairs.py), set up with the backend
        self._chat: Any = None
        self.activation = (  # sbert's: numpy logits in and out; activation_fn gives the torch module
            activations.resolve(activation_fn, trust_remote_code=trust_remote_code)
            or activations.resolve(self._files.activation_path, trust_remote_code=trust_remote_code)
            or activations.default_activation(self._files.num_labels)
        )
        if not self.model_card_data.get("pipeline_tag"):  # as sentence-transformers' register_model
            ranks = self._files.num_labels == 1
            self.model_card_data["pipeline_tag"] = "text-ranking" if ranks else "text-classification"
        ranks = self._files.num_labels == 1
        self.model_card_data.register_defaults(  # sentence-transformers' task for each
            "text reranking and semantic search" if ranks else "text pair classification"
        )
        self._auto = backend == "auto"  # the backend may change with the weights (see _model_to_change)
        self._start_backend(backend)
        if fp32_layers:  # one given is checked against the torch layers now, a saved one when they load
            self._select_fp32_layers(fp32_layers, load=explicit_fp32_layers)
        become_torch_module(CrossEncoder)
        count_as_sentence_transformers(CrossEncoder, "CrossEncoder")

    def _locate(self, model_name_or_path: Any, modules: Any, **where: Any) -> Any:
        """Set the model's folder and name (none for a model built from ``modules``); the modules to build
        it from (``None``: the folder's), ignored with a warning beside a name, as sentence-transformers."""
        self._weights_handed_out = modules is not None  # whether a caller has the torch modules, to change
        if modules is not None and model_name_or_path is not None:
            warn_at_caller(  # sentence-transformers' words
                "Both `model_name_or_path` and `modules` were provided. The modules are loaded from "
                "`model_name_or_path`, so the `modules` argument is ignored."
            )
            modules, self._weights_handed_out = None, False
        if modules is not None:
            self._folder, self.name_or_path = None, None
            return modules
        self._folder = resolve_model_path(
            model_name_or_path,
            allow_pickle=self._load_options["allow_pickle"],
            default_namespace=self.default_huggingface_organization,
            **where,
        )
        self.name_or_path = str(model_name_or_path) if model_name_or_path is not None else DEFAULT_MODEL
        revision, offline = where.get("revision"), where.get("local_files_only", False)
        note_base_model(self.model_card_data, model_name_or_path, self._folder, revision, offline)
        return None

    def _pair_tokenizer(self, max_length: int | None, options: dict[str, Any]) -> TextTokenizer:
        """A model built from modules tokenizes with its input module's tokenizer (shared with it)."""
        if self._stack is None:
            return _tokenizer(self._files, max_length, options)
        if max_length is not None:
            self._stack[0].tokenizer.max_length = max_length
        return self._stack[0].tokenizer

    def _read_files(
        self, modules: Any, num_labels: int | None, tokenizer_options: dict[str, Any]
    ) -> CrossEncoderFolder:
        """What the folder says of the model (``tokenizer_options``: those given at load); a model built
        from modules (or a folder of such a model): its modules, loaded now, and what they say."""
        if modules is None and not is_module_stack(self._folder):
            return read_folder(self._folder, num_labels, self.name_or_path, tokenizer_options)
        require_torch("a CrossEncoder built from modules (it runs on the torch backend)")
        from .module_stack import architecture, load_stack, stack_labels, stack_network

        if modules is not None:
            self._stack = stack_network(modules)
        else:
            options = {k: self._load_options[k] for k in ("allow_pickle", "trust_remote_code")}
            transformer_options = {k: self._load_options[k] for k in ("model_kwargs", "config_kwargs")}
            self._stack = load_stack(
                self._folder,
                **options,
                transformer_options={k: v for k, v in transformer_options.items() if v},
            )
        self._network = self._stack
        labels = stack_labels(self._stack)
        if num_labels not in (None, labels):
            raise InputError(
                f"num_labels={num_labels} does not fit these modules, which give {labels} scores per pair: "
                "leave num_labels out."
            )
        return stack_folder(self._folder, labels, architecture(self._stack))

    @property
    def activation_fn(self) -> Any:
        """The activation :meth:`predict` applies to the logits, as sentence-transformers holds it: a torch
        module (``torch.nn.Sigmoid()``, ...) where torch is installed; assigning one (or a class path) changes
        it. ``activation`` is sbert's form of it, which scores numpy logits without torch."""
        return self.activation.public()

    @activation_fn.setter
    def activation_fn(self, value: Any) -> None:
        self.activation = activations.resolve(value) or activations.default_activation(self.num_labels)

    # ------------------------------------------------------------------ backends

    def _start_backend(self, requested: str) -> None:
        files = self._files
        if self._stack is not None:  # its modules run as they are, on torch
            if requested not in ("auto", "torch") or self.precision == "int8":
                raise InputError(
                    f"This CrossEncoder is built from modules ({files.architecture}), which sbert runs on "
                    f"the torch backend only (fp32, bf16 or fp16), not backend={requested!r} with "
                    f"precision={self.precision!r}: use backend='torch'."
                )
            self.backend, self._runner = "torch", self._start_torch()
            return
        if files.causal:  # no ONNX graph of a causal LM reranker: it runs on torch
            if requested not in ("auto", "torch") or self.precision == "int8":
                raise InputError(
                    f"{self._folder} is a causal language model reranker (LogitScore), which sbert runs on "
                    f"the torch backend only (fp32, bf16 or fp16), not backend={requested!r} with "
                    f"precision={self.precision!r}: load it with backend='torch'."
                )
            requested = "torch"
        if files.fresh_head and (requested == "onnx" or self.precision == "int8"):
            raise InputError(
                "This cross-encoder has a new, untrained head: save it (model.save(path)) and load the saved "
                "folder for the ONNX backend or int8."
            )
        info = layout.PipelineInfo(
            entries=[layout.ModuleEntry("Transformer", "", "0")],
            reprs=[],
            dimension=files.num_labels,
            transformer_path=files.encoder_path,
            architecture=files.architecture,
            max_seq_length=files.max_seq_length,
            do_lower_case=False,
            max_position_embeddings=files.max_position_embeddings,
            includes_prompt=True,
            adapter=files.adapter_base is not None,
        )
        context = BackendContext(
            folder=None if files.fresh_head else self._folder,
            precision=self.precision,
            device=self._device,
            pipeline=info,
            export_meta=files.export_meta,
            torch_network=self._torch_model,
            classifier=True,
            trust_remote_code=bool(self._load_options["trust_remote_code"]),
        )
        backend = choose_backend(requested, context)
        if backend.name not in ("torch", "onnx"):
            raise InputError(f"A cross-encoder runs on backend='torch' or 'onnx', not {backend.name!r}.")
        self.backend = backend.name
        self._folder_code = context.folder_code  # its ONNX graph is a trace of the folder's code
        onnx = backend.name == "onnx"
        self._runner = self._start_onnx(context.cache_look) if onnx else self._start_torch()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()  # an ONNX Runtime session does not pickle: the copy starts its own
        if self.backend == "onnx":
            state["_runner"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._runner is None:
            self._runner = self._start_onnx()

    def _start_chat(self) -> None:
        """The chat template that renders this model's pairs, where its tokenizer has one (as
        sentence-transformers 6.3 infers the "message" modality); read once, on either backend."""
        if self._files.chat_format is not None and self._chat is None:
            from .chat_pairs import ChatPairs

            files = self._files
            self._chat = ChatPairs(self._tokenizer, files.model_type, files.chat_format, causal=files.causal)

    def _start_torch(self) -> Any:
        import torch

        self._start_chat()
        from .runners import TorchScorer

        self._device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self._stack is not None:
            from .module_stack import StackScorer

            return StackScorer(self._stack, torch.device(self._device), self.precision)
        model = self._torch_model()
        score = self._network[1] if self._files.causal else None
        types = self._token_types(model)
        scorer = TorchScorer(model, torch.device(self._device), self.precision, score, token_types=types)
        scorer.modules = self._network  # hooked later, they score the batches (runners.TorchScorer.logits)
        if getattr(self, "_network_called", False):  # hooked or compiled (st_methods.observed_network)
            scorer.network = self._network
        return scorer

    def _start_onnx(self, look: Any = None) -> Any:
        """The ONNX scorer (``look``: what choosing the backend read of the export cache, else read now)."""
        from .runners import OnnxScorer

        self._start_chat()
        precision = "int8" if self.precision == "int8" else "fp32"
        files = self._source_files()
        types = makes_token_types(self._tokenizer)
        if files.export_only:
            graph, precision = export_only_graph(files.folder, files.export_meta, precision)
        else:
            look = look or look_at_cache(files.folder, folder_code=getattr(self, "_folder_code", False))
            graph = ensure_graph(
                files.folder, precision, self._torch_model, classifier=True, token_types=types, look=look
            )
        self._device, self.precision = "cpu", precision
        limit = position_limit(files.encoder_path)
        return OnnxScorer(
            graph, num_labels=self.num_labels, precision=precision, max_tokens=limit, token_types=types
        )

    def _torch_model(self) -> Any:
        """The transformers sequence-classification model, loaded now if this model runs on ONNX (a model
        built from modules: its first transformers model, ``None`` if it has none)."""
        if self._network is None:
            if self._files.export_only:
                raise InputError(
                    f"{self._folder} is an ONNX-only export without torch weights; load the original model "
                    "for training, tokenize/forward or saving."
                )
            require_torch(f"the torch model of {self._folder} (the torch backend, training, model[0])")
            from .loading import load_classifier
            from .network import classifier_network

            model = load_classifier(self._source_files(), **self._load_options)
            self._network = self._in_model_mode(
                classifier_network(
                    model, self, self._transformer_config(), self._logit_score, self._files.module_names
                )
            )
            if self.keep_in_fp32_modules:
                from .fp32_layers import select

                select(self._network, self.keep_in_fp32_modules, previous=[])
            if self._device is not None:
                self._network.to(self._device)
        return self._model

    def set_keep_in_fp32_modules(self, module_names: list[str]) -> None:
        """Run the ``torch.nn.Linear`` layers at ``module_names`` (paths as :meth:`named_modules` gives them,
        such as ``"0.model.classifier"``) in float32 when the model runs in bf16/fp16 (``half()``,
        ``precision="fp16"``, mixed-precision training): they compute and return float32, their weights keep
        the model's dtype. Replaces the previous selection (``[]``: none); saved with the model and restored
        on load, as in sentence-transformers. In float32 it changes nothing; it needs the torch model."""
        self._select_fp32_layers(fp32_layer_names(module_names), load=True)

    def _select_fp32_layers(self, names: list[str], *, load: bool) -> None:
        """Select ``names`` in place of the current selection: on the torch modules if they are loaded (or
        ``load``: loaded now, which checks the paths), else when they load."""
        if names and load and self.backend != "torch" and not self._auto:
            raise InputError(
                f"keep_in_fp32_modules selects torch layers, and this model runs on {self.backend}: load it "
                "with backend='torch' (or 'auto')."
            )
        if load and names and self._network is None:
            self._torch_model()
        if self._network is not None:
            from .fp32_layers import select

            select(self._network, names, previous=self.keep_in_fp32_modules)
        self.keep_in_fp32_modules = names

    def _source_files(self) -> CrossEncoderFolder:
        """What the folder held at load (``_files``), its paths in the folder that holds those files now:
        the folder itself while it is unchanged, else the snapshot's private copy (``FolderSnapshot``)."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.folder() != self._files.folder:  # moved to the copy, once
            files = self._files
            base = files.adapter_base and snapshot.locate(files.adapter_base)
            encoder = snapshot.locate(files.encoder_path)
            self._files = replace(files, folder=snapshot.folder(), encoder_path=encoder, adapter_base=base)
        return self._files

    @property
    def _model(self) -> Any:
        """The transformers model (``None`` until loaded): module 0's ``model``, where a caller may set it."""
        if self._stack is not None:
            from .module_stack import transformers_model

            return transformers_model(self._stack)
        network = self._network
        return getattr(network[0], "model", None) if network is not None and len(network) else None

    def _model_to_change(self) -> Any:
        """The torch model for a caller that may change its weights (training, ``load_state_dict``, the model
        handed out). A cross-encoder that "auto" put on its ONNX export, which holds the files' weights,
        scores on this model from now on."""
        model = self._torch_model()
        self._weights_handed_out = True
        if self._auto and self.backend == "onnx" and self.precision == "fp32":
            self._runner, self.backend = self._start_torch(), "torch"
        return model

    # ------------------------------------------------------------------ torch side (training)

    @property
    def model(self) -> Any:
        """The ``transformers`` sequence-classification model (loaded on first use on ONNX; handed out, so an
        "auto" cross-encoder scores on it from then on)."""
        return self._model_to_change()

    @model.setter
    def model(self, value: Any) -> None:
        # sentence-transformers before 6 kept it as a plain attribute, and clients put a quantized, compiled
        # or BetterTransformer model in its place (infinity-emb's reranker): scores come from it from now on
        self._model_to_change()  # an "auto" cross-encoder on its ONNX export moves to torch, as on a change
        self._network[0].model = value
        if self.backend == "torch":
            self._runner = self._start_torch()

    @property
    def config(self) -> Any:
        """The Hugging Face config of the model (read from its files while the model runs on ONNX; torch and
        transformers needed); setting it sets the transformers model's."""
        if self._model is not None or self._stack is not None:  # a stack without transformers: None
            return getattr(self._model, "config", None)
        require_torch("model.config (the transformers config)")
        from transformers import AutoConfig

        # with the constructor's config_kwargs, as the model will be loaded with them
        return AutoConfig.from_pretrained(
            self._source_files().config_path.parent, **(self._load_options["config_kwargs"] or {})
        )

    @config.setter
    def config(self, value: Any) -> None:
        self.model.config = value

    @batch_encoding
    def tokenize(self, texts: Sequence[tuple[str, str]], **kwargs: Any) -> dict[str, torch.Tensor]:
        """Padded model inputs for the pairs ``texts`` (sentence-transformers' name; truncated to
        ``max_length``) as CPU torch tensors; keywords (``prompt``, ``processing_kwargs``, ...) go to
        :meth:`preprocess`, as there. Deprecated for :meth:`preprocess`, as there."""
        log_renamed_once(TOKENIZE_RENAMED, ST_MODEL)
        items = list(texts)
        if kwargs or not items or self._chat is not None:  # no inputs: {}, as there; conversations
            return self.preprocess(items, **kwargs)
        return self._pair_features(preprocess_items(items))

    def _pair_features(
        self,
        checked: list[Any],
        max_length: int | None = None,
        prompt_length: int | None = None,
        system_prompt: str | None = None,
        call: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """:meth:`tokenize`'s features; ``max_length``: this call's token limit (``processing_kwargs``);
        ``prompt_length``: the tokens of a prompt before each pair, added as sentence-transformers adds it;
        ``system_prompt``: a chat template's prompt, a system message before each input; ``call``: the
        tokenizer call's options where a call's ``processing_kwargs`` set more than a token limit."""
        import torch

        self._check_runnable("score")
        tokenizer = call_tokenizer(self._tokenizer, max_length)
        if self._stack is not None:  # the input module's features
            features = self._stack[0].to_features(tokenizer.pad_encodings(tokenizer.encode_texts(checked)))
        else:
            modality = "text" if self._chat is None else "message"
            if call is not None:  # as sentence-transformers' Transformer calls its tokenizer
                batch = own_call(self.tokenizer, checked, **call)
            elif self._chat is None:
                # texts and pairs (each item as it is)
                batch = tokenizer.pad_encodings(tokenizer.encode_texts(checked))
            else:  # the chat template renders pairs and texts as messages
                batch = self._chat.batch(checked, max_length or self.max_seq_length, system_prompt)
            # in the order a transformers tokenizer gives them, as sentence-transformers lists them, and the
            # input's modality, as its Transformer's preprocess adds it (forward reads the model's inputs)
            types = self._token_types(self._torch_model(), tokenizer)
            names = [n for n in feature_names(types.in_features) if n in batch]
            features = {**{name: torch.as_tensor(batch[name]) for name in names}, "modality": modality}
        if prompt_length is not None:
            features["prompt_length"] = prompt_length
        if self._logit_score is not None:  # a causal reranker reads the last position's logits only
            features["logits_to_keep"] = 1
        return features

    def _token_types(self, model: Any, tokenizer: Any = None) -> TokenTypes:
        """Where ``token_type_ids`` go (``hf_methods.token_types``): in the features where the tokenizer
        makes them, to ``model`` where its forward reads them too."""
        reads = reads_token_types(model)  # remembered per encoder: this runs per batch
        return token_types(self._tokenizer if tokenizer is None else tokenizer, reads)

    def _model_inputs(self) -> set[str]:
        import inspect

        return set(inspect.signature(self._torch_model().forward).parameters)

    def logits(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits ``(B, num_labels)`` of tokenized pairs; differentiable (used by training)."""
        if self._stack is not None:
            device = next(self._stack.parameters()).device
            return self._stack({k: v.to(device) for k, v in features.items()})["scores"]
        self._model_to_change()
        return self._network_logits(features)

    def _network_logits(self, features: dict[str, Any]) -> torch.Tensor:
        """:meth:`logits` by the torch modules, loaded now on ONNX, whose backend stays as it is."""
        device = next(self._torch_model().parameters()).device
        names = self._model_inputs()  # tensors on the model's device; logits_to_keep, an int, as it is
        inputs = {k: v.to(device) if hasattr(v, "to") else v for k, v in features.items() if k in names}
        # through the modules' __call__, as sentence-transformers' training calls its model: hooks registered
        # on the model fire (a causal reranker's LogitScore turns the vocabulary logits into one score)
        return self._network(inputs)["scores"]

    def forward(self, input: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The features ``input`` (``preprocess``/``tokenize`` output; sentence-transformers' name) with
        ``"scores"``, the logits ``(B, num_labels)`` with gradients, added in place, as sentence-transformers
        6's CrossEncoder returns them. ``kwargs``: the modules' keywords there; a cross-encoder's take none,
        so they are ignored, as there."""
        input["scores"] = self.logits(input)
        return input

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.forward(*args, **kwargs)  # through the instance's forward, as torch calls a module

    def _torch_module(self) -> Any:
        self._model_to_change()
        return self._network

    def __getitem__(self, index: int) -> Any:
        return self._torch_module()[index]  # model[0].model: the transformers model, as there

    def __len__(self) -> int:
        if self._stack is not None or self._edited:
            return len(self._network)
        return 2 if self._files.causal else 1  # its modules; len() and bool() load no torch model

    def __iter__(self) -> Any:
        return iter(self._torch_module())

    def _module_names(self) -> list[str]:
        """Its modules' names: the torch modules', else those its modules.json gives (positions where it
        names none), so repr and ``model.<name>`` show sentence-transformers' names before torch loads."""
        from .._modules import child_names

        if self.__dict__.get("_network") is not None:
            return child_names(self._network)
        files = self.__dict__.get("_files")
        count = 2 if files is not None and files.causal else 1
        names = list(files.module_names) if files is not None else []
        return names if len(names) == count else [str(i) for i in range(count)]

    def _modules_to_edit(self, what: str) -> list[Any]:
        """Its torch modules as a list to change (a model "auto" put on ONNX moves to them); a model loaded
        with backend="onnx" cannot change (its graph is the saved classifier's)."""
        if self.backend != "torch" and not self._auto:
            raise InputError(
                f"backend={self.backend!r} runs a graph of the saved classifier; load the model with "
                f"backend='auto' or 'torch' to {what}."
            )
        modules = list(self._torch_modules(what))
        if self._files.export_only or self._files.adapter_base is not None:
            raise InputError(f"{self._folder} holds no full torch model to {what} (an export or an adapter).")
        return modules

    def _use_modules(self, modules: list[Any]) -> None:
        """Score with ``modules`` (an edited list) from now on, on torch, as sentence-transformers' model
        runs its ``nn.Sequential``: every batch through their ``__call__``. Its own Transformer first keeps
        the classifier's tokenizing (chat template, ...); another first module makes a module stack."""
        from .module_stack import architecture, stack_labels, stack_network
        from .network import Transformer

        network = self._in_model_mode(stack_network(modules), edited=True)
        first = network[0]
        if isinstance(first, Transformer) and first.belongs_to(self):
            self._edited = self._network_called = True
        else:  # a cross-encoder built from modules: its input module tokenizes
            self._stack, self._tokenizer = network, first.tokenizer
        self._network = network.to(self._device) if self._device is not None else network
        self._files = replace(
            self._files, num_labels=stack_labels(network), architecture=architecture(network)
        )
        self._weights_handed_out = True
        self.backend, self._runner = "torch", self._start_torch()

    def _hold_modules(self, modules: list[Any]) -> None:
        """An edited list that cannot score (``ModuleEditing._edit``), held as ``nn.Sequential`` holds it: the
        model's modules from now on (len, names, repr); nothing scores until an edit makes a list that can."""
        from collections import OrderedDict

        from .._modules import module_names
        from .._modules.network import ModuleNetwork

        network = ModuleNetwork(OrderedDict(zip(module_names(modules), modules)))
        self._network, self._edited, self._runner = self._in_model_mode(network, edited=True), True, None

    def _to_device(self, device: str | torch.device) -> CrossEncoder:
        device = check_device(device)
        if self._auto and str(device).split(":", 1)[0] != "cpu":
            self._model_to_change()  # "auto" follows the model to the device: torch scores there
        if self.backend == "onnx" and str(device).split(":", 1)[0] != "cpu":
            raise InputError(
                f"The onnx backend runs on the CPU only; load with backend='torch' for {device!r}."
            )
        self._device = str(device)
        if self._network is not None:
            self._network.to(device)
            if self.backend == "torch":
                self._runner.device = device
        return self

    # ------------------------------------------------------------------ properties

    @property
    def num_labels(self) -> int:
        return self._files.num_labels

    @property
    def device(self) -> str:
        return device_name(self._device)

    @property
    def folder(self) -> Path:
        """The local folder this model was loaded from (``None`` for a model built from modules); once that
        folder was changed or removed, a private copy of the files the model was loaded from."""
        return self._snapshot.folder() if self._snapshot is not None else self._folder

    @property
    def tokenizer(self) -> TextTokenizer:
        return self._tokenizer

    @property
    def max_seq_length(self) -> Any:
        """The tokens a pair is cut to; a model built from modules: its first module's, as
        sentence-transformers reports it (``math.inf`` for a StaticEmbedding)."""
        if self._stack is not None:
            return reported_max_seq_length(self._stack[0], "", None)
        return self._tokenizer.max_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        if self._stack is not None:  # a StaticEmbedding refuses, as there
            set_max_seq_length(self._stack[0], "", None, value)
            return
        check_sequence_length("max_length", value)
        self._tokenizer.max_length = value

    @property
    def max_length(self) -> int:
        """``max_seq_length``'s older name: deprecated in sentence-transformers 6, which warns its users."""
        warn_renamed(_MAX_LENGTH_RENAMED)
        return self.max_seq_length

    @max_length.setter
    def max_length(self, value: int) -> None:
        warn_renamed(_MAX_LENGTH_RENAMED)
        self.max_seq_length = value

    def __repr__(self) -> str:
        """sentence-transformers 6.3's: its modules, one line each (from the files while no torch module
        is loaded, so a repr loads none)."""
        if self._network is not None:
            reprs = [repr(module) for module in self._network]
        else:
            settings = dict(self._transformer_config(), architecture=self._files.architecture)
            reprs = [f"Transformer({settings})"]
            if self._logit_score is not None:
                reprs.append(f"LogitScore({ {key: self._logit_score[key] for key in LOGIT_SCORE_KEYS} })")
        return self._pipeline_repr(reprs)

    # ------------------------------------------------------------------ scoring

    @older_texts_keyword
    def predict(  # sentence-transformers 6.3's parameters in its order, then sbert's own (keyword-only)
        self,
        inputs: Any,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        activation_fn: Any = None,
        apply_softmax: bool = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: Any = None,
        pool: dict[str, Any] | None = None,
        chunk_size: int | None = None,
        *,
        max_batch_tokens: int | None = None,
        **renamed: Any,
    ) -> Any:
        """Scores of text pairs: float32 ``(n,)`` for a one-label model, ``(n, num_labels)`` otherwise; one
        pair ``("query", "document")`` gives one score (row), as does one string, scored alone (no pair), as
        sentence-transformers 6 scores it. No pairs give ``np.array([])`` (float64, ``(0,)``), as there.

        ``prompt`` (text) or ``prompt_name`` (a key of ``model.prompts``; neither: ``default_prompt_name``'s)
        goes before the first text of every pair, as there; a model whose tokenizer has a chat template
        renders pairs as messages and gets it as a system message before them, as sentence-transformers 6.3.

        ``activation_fn`` (default the model's) is applied to the logits, then ``apply_softmax`` normalises
        each row of a multi-label model. Pairs are sorted by token length and packed into batches of at most
        ``batch_size`` pairs and ``max_batch_tokens`` padded tokens (default by precision), then returned in
        input order (a tokenizer that pads on the left, or modules hooked or compiled: sentence-transformers'
        batches, longest first by characters, ``batch_size`` at a time, without ``max_batch_tokens``, as its
        scores depend on the batch or the hooks see them). ``convert_to_tensor`` /
        ``convert_to_numpy=False``: sentence-transformers' torch return types.

        ``pool`` (from :meth:`start_multi_process_pool`) or ``device`` a list of devices (a pool for this
        call) scores in worker processes, ``chunk_size`` pairs at a time, as sentence-transformers; ``device``
        a single name must be the model's. ``sentences=`` and ``activation_fct=``: sentence-transformers'
        older names for ``inputs`` and ``activation_fn`` (logged once); its ``num_workers=`` is ignored with
        a warning, as there. Arguments come in sentence-transformers 6's order.
        """
        self._check_runnable("score")
        processing, call_limit = renamed.pop("processing_kwargs", None), renamed.pop("max_length", None)
        in_process = pool is None and not isinstance(device, (list, tuple))
        # tokenizer options beyond a token limit run sentence-transformers' loop through preprocess
        tokenizer_call = in_process and takes_tokenizer_call(processing)
        max_length = None if tokenizer_call else call_max_length(processing, call_limit)
        sentences, activation_fn = inputs, older_keywords("predict", activation_fn, renamed)
        check_positive_int("batch_size", batch_size)  # before the inputs are read, a text alone too, as ST
        one_text = isinstance(sentences, str)  # scored alone, as sentence-transformers 6 scores one text
        if one_text:
            pairs, single = [], True
        elif self._chat is not None:  # pairs, or conversations (chat_pairs), scored as pairs are
            pairs, single = self._chat.predict_items(sentences)
        else:
            pairs, single = check_pairs(sentences)
        given_prompt = resolved_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name)
        call_prompt, system_prompt = given_prompt or "", None
        if self._chat is not None:  # a chat template takes the prompt as a system message
            call_prompt, system_prompt = "", given_prompt
        activation = activations.resolve(activation_fn) or self.activation
        # a user's preprocess or forward (a subclass's or on the model) gets sentence-transformers' batches
        by_user = tokenizer_call or (not one_text and in_process and overrides_encode_steps(self))
        if by_user:
            items = [sentences] if single else list(sentences)  # as given: the override sees the caller's
            keywords = {} if processing is None else {"processing_kwargs": processing}
            keywords.update({} if call_limit is None else {"max_length": call_limit})
            scorer = None if tokenizer_call and not overrides_encode_steps(self) else self
            logits = self._user_logits(
                items, given_prompt, batch_size, show_progress_bar, keywords, device, scorer
            )
        elif one_text:
            logits = self._text_logits(call_prompt + sentences, max_length, system_prompt)
        else:
            batching = (batch_size, max_batch_tokens, show_progress_bar)
            pairs = with_pair_prompt(pairs, call_prompt)
            logits = self._scoring_logits(
                pairs, batching, device, pool, chunk_size, max_length, system_prompt
            )
        scores = activation(logits)
        if self.num_labels == 1:
            scores = scores[:, 0]
        elif apply_softmax:
            scores = activations.from_name("Softmax")(scores)
        scores = scores.astype(np.float32, copy=False)
        if not len(scores):  # no pairs, whatever the labels: sentence-transformers' np.array([]) (float64)
            scores = np.empty(0, np.float32)  # or its empty float32 tensor
            if convert_to_numpy and not convert_to_tensor:
                return np.array([])
        if convert_to_tensor or not convert_to_numpy:
            return self._as_tensors(scores, single, stacked=convert_to_tensor)
        return scores[0] if single else scores

    def _as_tensors(self, scores: np.ndarray, single: bool, *, stacked: bool) -> Any:
        import torch

        tensor = torch.from_numpy(scores).to(self.device)
        if single:
            return tensor[0]
        return tensor if stacked else list(tensor)

    def rank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: int | None = None,
        return_documents: bool = False,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        activation_fn: Any = None,
        device: Any = None,
        pool: dict[str, Any] | None = None,
        chunk_size: int | None = None,
        *,
        max_batch_tokens: int | None = None,
        **renamed: Any,
    ) -> list[dict[str, Any]]:
        """The documents by score for ``query``, best first: ``[{"corpus_id": i, "score": s}, ...]`` (with
        ``"text"`` when ``return_documents``), the first ``top_k`` only when given. A one-label model only.
        ``device``, ``pool``, ``chunk_size``: as for :meth:`predict`. sentence-transformers' older
        ``apply_softmax=``, ``convert_to_tensor=``, ``convert_to_numpy=`` and ``num_workers=`` change nothing
        here and are ignored with a warning, as there; ``activation_fct=`` is ``activation_fn``."""
        processing_kwargs = renamed.pop("processing_kwargs", None)
        activation_fn = older_keywords("rank", activation_fn, renamed)
        if self.num_labels != 1:
            raise InputError(  # sentence-transformers' words, then the count
                "CrossEncoder.rank() only works for models with num_labels=1. Consider using "
                "CrossEncoder.predict() with input pairs instead. rank() needs a one-label model; this one "
                f"has {self.num_labels} labels."
            )
        no_hits = top_k == 0 and not isinstance(top_k, bool)  # as sentence-transformers: [] (top_k=min(k, n))
        if not no_hits:
            check_positive_int("top_k", top_k, optional=True)
        texts = check_query_documents(query, documents)
        if no_hits:
            return []
        scores = self.predict(
            [[query, text] for text in texts],  # lists, as sentence-transformers' rank makes them
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
            activation_fn=activation_fn,
            max_batch_tokens=max_batch_tokens,
            prompt_name=prompt_name,
            prompt=prompt,
            device=device,
            pool=pool,
            chunk_size=chunk_size,
            processing_kwargs=processing_kwargs,
        )
        results = [{"corpus_id": i, "score": float(s)} for i, s in enumerate(scores)]
        if return_documents:
            for result in results:
                result["text"] = texts[result["corpus_id"]]
        results.sort(key=lambda r: r["score"], reverse=True)  # stable: ties keep input order, as ST
        return results[:top_k]

    def logits_batch(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Logits ``(B, num_labels)`` of one padded batch from
        ``model.tokenizer.pad_encodings(encode_pairs(...))``: the per-batch step of :meth:`predict`,
        for callers that batch themselves (the server)."""
        return self._runner.logits(batch)

    def pair_tokenizer(self, side: str = "right") -> Any:
        """sbert's own: a private tokenizer for callers that batch pairs themselves (the server), whose
        ``encode_pairs`` (pairs), ``encode`` (texts alone) and ``pad`` give :meth:`logits_batch` what
        :meth:`predict` scores with no prompt chosen: the default prompt's (a chat template's system
        message), rendered through the chat template where the model has one; cut at ``max_seq_length``
        on ``side``. The model's own tokenizer never changes."""
        prompt = resolved_prompt(self.prompts, self.default_prompt_name, None, None)
        if self._chat is not None:
            return self._chat.tokenizer(self.max_seq_length, prompt, side)
        tokenizer = self._tokenizer.with_truncation_side(side)
        return PromptedTokenizer(tokenizer, prompt) if prompt else tokenizer

    def _logits(
        self,
        pairs: list[tuple[str, str]],
        batch_size: int,
        max_tokens: int | None,
        progress: bool | None,
        max_length: int | None = None,
        system_prompt: str | None = None,
    ) -> np.ndarray:
        """``max_length``: this call's token limit (sentence-transformers' ``processing_kwargs``);
        ``system_prompt``: a chat template's prompt."""
        check_positive_int("batch_size", batch_size)
        max_tokens = batch_limits(self.precision, self.device)[1] if max_tokens is None else max_tokens
        check_positive_int("max_batch_tokens", max_tokens)
        out = np.empty((len(pairs), self.num_labels), dtype=np.float32)
        if not pairs:
            return out
        show = wants_progress(len(pairs), batch_size, progress)
        tokenizer = call_tokenizer(self._tokenizer, max_length)
        self.eval()  # no dropout, and left in eval mode afterwards, as sentence-transformers' predict does
        if self._chat is not None:  # the chat template (see chat_pairs), in sentence-transformers' batches
            batches = sentence_transformers_batches(
                pairs,
                list,
                lambda chunk: self._chat.batch(chunk, max_length or self.max_seq_length, system_prompt),
                batch_size=batch_size,
            )
        elif (
            batch_dependent(tokenizer, self._files.model_type)
            or getattr(self, "_network_called", False)
            or self._hooked()
            or self._quantized()
        ):
            # a pair's logits depend on its batch's padding, or hooked modules see the batches: as ST does
            batches = sentence_transformers_batches(
                pairs, tokenizer.encode_pairs, tokenizer.pad_encodings, batch_size=batch_size
            )
        else:
            batches = prepared_batches(
                pairs,
                tokenizer.encode_pairs,
                tokenizer.pad_encodings,
                max_batch_size=batch_size,
                max_tokens=max_tokens,
            )
        with progress_bar(len(pairs), desc="Scoring", unit="pair", show=show) as bar:
            for indices, batch in batches:
                out[indices] = self._runner.logits(batch)
                bar.update(len(indices))
        return out

    def _hooked(self) -> bool:
        """Whether a caller hooked one of the torch modules (``model[0]``, a layer, ...; ``_modules.hooks``):
        the scorer then runs the batches through the modules' ``__call__``, as sentence-transformers."""
        if self.backend != "torch" or self._network is None:
            return False
        from .._modules.hooks import forward_hooked

        return forward_hooked(self._network)

    def _quantized(self) -> bool:
        """Whether torch's dynamic quantization was applied to the model's modules in place (cherche's
        ``utils.quantize(model)``: ``quantize_dynamic(model, {nn.Linear})``). Its layers scale a call's inputs
        by their range, padding included, so pairs go in sentence-transformers' batches through the padded
        forward: the scorer started before the quantization, padding-free, is started again."""
        if not self._weights_handed_out or self.backend != "torch" or self._network is None:
            return False  # nobody got the modules to change
        from .._modules.padding_free import is_dynamically_quantized

        if not is_dynamically_quantized(self._network):
            return False
        if getattr(self._runner, "head", None) is not None:  # its padding-free head: a float model's
            self._runner = self._start_torch()
        return True

    # ------------------------------------------------------------------ saving and exporting

    def save(
        self,
        path: str | os.PathLike | None,
        model_name: str | None = None,
        create_model_card: bool = True,
        train_datasets: Sequence[str] | None = None,
        safe_serialization: bool = True,
    ) -> None:
        """Write the model in sentence-transformers' CrossEncoder layout with a README.md card, atomically.

        sentence-transformers' options: ``create_model_card=False`` leaves the card out; ``train_datasets``
        is accepted (the card lists the datasets sbert trained on); weights are always safetensors
        (``safe_serialization=False`` is accepted and changes nothing, as in transformers 5).

        The folder loads in sbert, in sentence-transformers' ``CrossEncoder`` and in transformers'
        ``AutoModelForSequenceClassification``.
        """
        if path is None:  # sentence-transformers' save(None) writes nothing
            return
        from .card import model_card

        with layout.model_directory(path) as tmp:
            self._write(tmp, model_name or Path(path).name, card=False)
            if create_model_card:
                plain = self._stack is None
                write = functools.partial(model_card, self, plain_transformers=plain)
                self._save_card(tmp, model_name, path, write)

    def export(
        self, path: str | os.PathLike, *, quantize: str | None = None, model_name: str | None = None
    ) -> None:
        """Write a self-contained ONNX folder (graph, tokenizer, configs, card), atomically: it loads and
        predicts with only sbert, onnxruntime, tokenizers and numpy. ``quantize="int8"``: the int8 graph."""
        if quantize not in (None, "int8"):
            raise InputError(f"quantize must be None or 'int8', got {quantize!r}")
        if self._files.causal:
            raise InputError(
                "sbert exports no ONNX graph of a causal language model reranker (LogitScore): it runs on "
                "the torch backend; save it with model.save(path) instead."
            )
        if self._stack is not None or self._edited:
            raise InputError(
                "sbert exports no ONNX graph of a CrossEncoder built from modules "
                f"({self._files.architecture}): it runs on backend='torch'; save it with model.save(path)."
            )
        precisions = [quantize or "fp32"]
        if self._builds_export(quantize):
            with layout.model_directory(path, export=True) as tmp:
                self._write(tmp, model_name or Path(path).name, weights=False, export_only=True)
                export_built_graph(self.folder, tmp / EXPORT_DIR, precisions[0], classifier=True)
            return
        require_exporter(precisions)  # before loading the torch model
        model = self._torch_model()
        with layout.model_directory(path, export=True) as tmp:
            self._write(tmp, model_name or Path(path).name, export_only=True)
            for weights in tmp.glob("model*.safetensors*"):  # shards and their index too
                weights.unlink()  # the graph holds the weights
            meta = {"fingerprint": None, "info": {"export_only": True}, "classifier": True}
            write_graphs(
                model, tmp / EXPORT_DIR, precisions, token_types=makes_token_types(self._tokenizer), **meta
            )

    def _builds_export(self, quantize: str | None) -> bool:
        """Whether :meth:`export` writes the graph with the graph builder, from the folder's files, without
        torch: the weights are the files' (the torch model was never loaded, so nothing changed them) and
        ``exports_without_torch`` says the builder writes this export."""
        files = self._files
        if self._model is not None or files.fresh_head or files.export_only or files.adapter_base:
            return False
        return exports_without_torch(self.folder, quantize or "fp32", classifier=True)

    def _write(
        self,
        folder: Path,
        model_name: str,
        *,
        weights: bool = True,
        export_only: bool = False,
        card: bool = True,
    ) -> None:
        """The folder's files; without ``weights`` (an export the graph builder writes) the encoder's
        config.json is copied instead of saving the torch model. ``export_only``: the card of an export."""
        from .card import model_card

        if self._stack is not None:  # each module in its own folder, listed in modules.json
            from .._modules import save_modules

            save_modules(self._stack, folder)
        else:
            self._write_classifier(folder, weights=weights)
        (folder / layout.MODEL_CONFIG_FILE).write_text(json.dumps(self._saved_model_config(), indent=2))
        if card:
            (folder / "README.md").write_text(
                model_card(self, model_name, export_only=export_only, plain_transformers=self._stack is None),
                encoding="utf-8",
            )

    def _saves_without_torch(self) -> bool:
        """Whether a save copies the files the ONNX graph was built from: torch is not installed, and the
        torch model was never loaded (nothing changed its weights)."""
        plain = self._stack is None and not self._edited and not self._files.causal
        return plain and self._network is None and not self._files.export_only and not torch_installed()

    def _write_classifier(self, folder: Path, *, weights: bool) -> None:
        """The transformers model's files (its config.json only without ``weights``), the tokenizer's, and
        the Transformer module's (a causal reranker's LogitScore too)."""
        from .loading import write_transformer

        # sentence-transformers reads the chat template's use from its sentence_bert_config.json
        copied = not weights or self._saves_without_torch()  # the files, not the torch model's save
        model = None if copied else self._torch_model()
        write_transformer(folder, model, self._tokenizer, self._transformer_config())
        encoder = self._source_files().encoder_path
        if copied and weights:  # the safetensors its graph was built from
            copy_checkpoint(encoder, folder)
        elif copied:
            shutil.copyfile(encoder / "config.json", folder / "config.json")
        # sentence-transformers 4.x/5.x read the activation here; 6.x reads the files below. A model with a
        # PEFT adapter saves the adapter only (no config.json: its adapter_config.json names the base).
        # The pre-4.0 key is dropped, as sentence-transformers drops it once read.
        if (folder / "config.json").is_file():
            settings = {"activation_fn": self.activation.path, "version": __version__}
            _update_json(
                folder / "config.json",
                {"sentence_transformers": settings},
                drop=("sbert_ce_default_activation_function",),
            )
        (folder / layout.MODULES_FILE).write_text(json.dumps(self._module_entries(folder), indent=2))

    def _module_entries(self, folder: Path) -> list[dict[str, Any]]:
        """modules.json of its classic modules, the Transformer (written at the root) as sentence-transformers
        names it; the modules after it written to ``folder`` (a causal reranker's LogitScore, those an edit
        added)."""
        from .._modules import ENTRY_KWARGS, child_names, save_module

        if self._edited:
            saved = [save_module(module, folder, i) for i, module in enumerate(self._network) if i > 0]
            kwargs = [getattr(module, ENTRY_KWARGS, ()) for module in self._network]
            entries = layout.modules_json([("Transformer", ""), *saved], kwargs, child_names(self._network))
            return [{**entries[0], "type": TRANSFORMER_TYPE}, *entries[1:]]
        names = self._module_names()
        modules = [{"idx": 0, "name": names[0], "path": "", "type": TRANSFORMER_TYPE}]
        if self._logit_score is not None:  # sentence-transformers 6.3's causal reranker: LogitScore after it
            modules.append({"idx": 1, "name": names[1], "path": LOGIT_SCORE_DIR, "type": LOGIT_SCORE_TYPE})
            (folder / LOGIT_SCORE_DIR).mkdir()
            (folder / LOGIT_SCORE_DIR / "config.json").write_text(json.dumps(self._logit_score, indent=4))
        return modules

    def _transformer_config(self) -> dict[str, Any]:
        return transformer_config(self._logit_score is not None, self._chat and self._chat.format)

    def _saved_model_config(self) -> dict[str, Any]:
        return {
            "__version__": layout.saved_versions(__version__),
            "activation_fn": self.activation.path,
            "default_prompt_name": self.default_prompt_name,
            "model_type": self.model_type,
            "prompts": self.prompts,
        } | ({"keep_in_fp32_modules": self.keep_in_fp32_modules} if self.keep_in_fp32_modules else {})


def _tokenizer(files: CrossEncoderFolder, max_length: int | None, options: dict[str, Any]) -> TextTokenizer:
    """The pair tokenizer; ``max_length`` as sentence-transformers: the caller's (saved as the tokenizer's
    ``model_max_length``), else ``tokenizer_kwargs``' ``model_max_length``, else sentence_bert_config.json's,
    else the tokenizer's and the encoder's limit. ``options``: the checked ``tokenizer_kwargs``."""
    max_length = max_length or options.get("model_max_length")
    options = {**options, "model_max_length": max_length} if max_length is not None else options
    tokenizer = TextTokenizer.from_folder(files.encoder_path, **options)
    tokenizer.max_length = (
        max_length
        or files.max_seq_length
        or layout.default_max_seq_length(tokenizer, files.max_position_embeddings)
    )
    return tokenizer


def _logit_score(files: CrossEncoderFolder, tokenizer: TextTokenizer) -> dict[str, Any]:
    """The LogitScore config of a causal reranker: the saved one, else the ids of the tokenizer's "yes" and
    "no" (sentence-transformers' defaults). Pairs are left-padded, so the last position is a real token."""
    tokenizer.padding_side = "left"  # as sentence-transformers' text-generation Transformer sets it
    if files.logit_score is not None:
        return {"module_input_name": "causal_logits", **files.logit_score}
    true_id, false_id = (tokenizer.backend.token_to_id(token) for token in DEFAULT_SCORE_TOKENS)
    if true_id is None or false_id is None:
        raise InputError(  # sentence-transformers' words
            "The tokenizer does not have 'yes' and/or 'no' tokens, which are used as the default true/false "
            "tokens for the LogitScore post-processing module. Please provide custom modules with your "
            "desired LogitScore configuration, or use a model with a tokenizer that supports these tokens."
        )
    return {"true_token_id": true_id, "false_token_id": false_id, "module_input_name": "causal_logits"}


def _update_json(path: Path, values: dict[str, Any], drop: tuple[str, ...] = ()) -> None:
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data = {key: value for key, value in data.items() if key not in drop}
    path.write_text(json.dumps({**data, **values}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
