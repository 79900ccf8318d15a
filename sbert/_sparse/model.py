"""SparseEncoder: sparse embeddings, sentence-transformers' ``SparseEncoder`` (same files, same numbers).

Loads sentence-transformers' sparse-encoder folders (5.x and 6.x spellings: SPLADE, inference-free SPLADE
with a Router, CSR with a SparseAutoEncoder) and plain Hugging Face ``*ForMaskedLM`` folders, encodes on
torch, and saves folders that sentence-transformers loads. Importing this module does not import torch;
making a model needs the torch extra.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._backends import refuse_adapter_backend
from .._backends.devices import batch_to_device, check_device, note_default_device
from .._checks import check_positive_int, check_texts, check_texts_or_pairs, is_positive_int
from .._compat import (
    batch_encoding,
    check_kernels,
    check_onnx_backend,
    check_prompt_name,
    dict_texts,
    loaded_default_prompt_name,
    log_prompts,
    merged_prompts,
    older_texts_keyword,
    option_dicts_checked,
    overrides_encode_steps,
    per_call_max_length,
    resolve_prompt,
    takes_tokenizer_call,
    task_encode_method,
    tokenizer_kwargs_renamed,
    unexpected_keywords,
)
from .._errors import (
    EMBEDDING_DIMENSION_RENAMED,
    TOKENIZE_RENAMED,
    InputError,
    log_renamed_once,
    require_torch,
    warn_renamed,
)
from .._format import layout
from .._format.card_data import card_data_dict, note_base_model
from .._format.hub import model_cache_folder, resolve_model_path
from .._format.snapshot import FolderSnapshot
from .._numeric import SIMILARITY_FUNCTIONS
from .._pipeline_model import PipelineModel, default_device
from .._progress import progress_bar, wants_progress
from .._st_loggers import ST_MODEL
from .._st_registration import count_as_sentence_transformers
from .._tokens.batching import st_order
from .._tokens.chat import chat_inputs
from .._torch_base import become_torch_module
from .._version import __version__
from .arrays import output_functions
from .card import TASK_NAME, SparseEncoderModelCardData, model_card
from .card import model_type as architecture_name
from .folder import MODEL_TYPE, read_sparse_folder, st_model_logger  # notices in its words, as there

if TYPE_CHECKING:
    import torch

# encode's keywords of sentence-transformers beyond its own: the task (a Router's route; others ignore it),
# always accepted; the modules' forward_kwargs (get_model_kwargs)
_ALWAYS_ACCEPTED = ("task",)


class SparseEncoder(PipelineModel):
    """Map texts to sparse vocabulary-sized vectors with a SPLADE model.

    Args:
        model_name_or_path: a sentence-transformers sparse-encoder folder, a Hugging Face ``*ForMaskedLM``
            folder (pooled with max and relu, as sentence-transformers builds it) or a hub name (bare names
            are looked up under ``sparse-encoder/``).
        modules: the pipeline, instead of a name: ``[MLMTransformer(...), SpladePooling(...)]`` (SPLADE),
            ``[Router.for_query_document([SparseStaticEmbedding(...)], [MLMTransformer(...),
            SpladePooling(...)])]`` (inference-free SPLADE) or ``[Transformer(...), Pooling(...),
            SparseAutoEncoder(...)]`` (CSR), from ``sbert.sparse_encoder.modules`` and ``sbert.models``.
        device: ``"cpu"``, ``"cuda"``, ... (default: a GPU when there is one).
        prompts, default_prompt_name: named texts put before the inputs, over the saved ones.
        similarity_fn_name: ``"dot"`` (the default), ``"cosine"``, ``"euclidean"`` or ``"manhattan"``.
        max_active_dims: keep only this many largest weights per embedding (saved with the model; a CSR
            model's default is its SparseAutoEncoder's ``k``).
        allow_pickle, trust_remote_code, cache_folder, revision, token, local_files_only, model_kwargs,
            config_kwargs, processor_kwargs (``tokenizer_kwargs``): as for :class:`sbert.SentenceTransformer`.
        model_card_data: a :class:`SparseEncoderModelCardData` (or dict) for the card :meth:`save` writes.
        backend: ``"torch"`` (the default, as sentence-transformers') or ``"onnx"``: a SPLADE model (a
            BERT-family masked-LM and SpladePooling; in inference-free SPLADE, a Router's document route, its
            query route's SparseStaticEmbedding in numpy) as one ONNX Runtime graph built from its files and
            cached in ``<model>/onnx/sbert/sparse/``, on the CPU, without torch (where torch is not installed,
            ``encode`` returns numpy arrays: dense ``(n, vocab)``, or 1-D rows). ``model_kwargs``: only
            sentence-transformers' ``provider`` (the CPU one) and ``export``; ``file_name`` may name an fp32
            graph (sbert runs its own).

    Example::

        model = SparseEncoder("naver/splade-cocondenser-ensembledistil")
        embeddings = model.encode(["The weather is lovely today.", "It's so sunny outside!"])
        model.similarity(embeddings, embeddings)  # dot products, a dense (2, 2) tensor
        model.decode(embeddings[0], top_k=5)  # [(token, weight), ...]
    """

    __module__ = "sbert.sentence_transformers"  # the path libraries recognise models by (see that module)
    model_type = MODEL_TYPE
    model_card_data_class = SparseEncoderModelCardData
    _model_card_model_id_placeholder = "sparse_encoder_model_id"
    SUPPORTED_SIMILARITY_FN_NAMES = SIMILARITY_FUNCTIONS
    default_huggingface_organization: str | None = "sparse-encoder"

    @option_dicts_checked
    @tokenizer_kwargs_renamed()
    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *,
        modules: Sequence[Any] | None = None,
        device: str | None = None,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
        cache_folder: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        local_files_only: bool = False,
        token: bool | str | None = None,
        model_kwargs: dict[str, Any] | None = None,
        processor_kwargs: dict[str, Any] | None = None,
        tokenizer_kwargs: dict[str, Any] | None = None,
        config_kwargs: dict[str, Any] | None = None,
        model_card_data: SparseEncoderModelCardData | dict[str, Any] | None = None,
        backend: str = "torch",
        similarity_fn_name: str | None = None,
        max_active_dims: int | None = None,
        allow_pickle: bool = False,
        use_kernels: bool = False,
        kernel_config: Any = None,
    ) -> None:
        check_kernels(use_kernels, kernel_config)
        self.use_kernels, self.kernel_config = False, None  # sentence-transformers' attributes
        self.trust_remote_code = trust_remote_code
        self._backend, _, self._precision = check_onnx_backend(
            "SparseEncoder", backend, modules, model_kwargs, config_kwargs
        ).partition("-")
        onnx = self._backend == "onnx"
        if not onnx:
            require_torch("sparse encoders (SparseEncoder) on backend='torch' (or pass backend='onnx')")
        device = check_device(device)  # before any slow work: a device this machine lacks fails now
        note_default_device(device, model_kwargs, bool(model_name_or_path) and not onnx)
        self.model_card_data: dict[str, Any] = card_data_dict(
            model_card_data, self.model_card_data_class, self
        )
        settings: dict[str, Any] = {}
        self._folder: Path | None = None
        self.name_or_path: str | None = None
        if modules is not None:
            if model_name_or_path is not None:
                raise InputError("Pass either model_name_or_path or modules, not both.")
            from .pipeline import network_from_modules  # torch loads here

            self._network = network_from_modules(modules)
        elif model_name_or_path is None:
            raise InputError("SparseEncoder needs a sparse model: a folder or hub name, or modules=[...].")
        else:
            self._folder = resolve_model_path(
                model_name_or_path,
                cache_folder=model_cache_folder(cache_folder),
                revision=revision,
                token=token,
                allow_pickle=allow_pickle,
                local_files_only=local_files_only,
                default_namespace=self.default_huggingface_organization,
            )
            self.name_or_path = str(model_name_or_path)
            card = self.model_card_data
            note_base_model(card, model_name_or_path, self._folder, revision, local_files_only)
            files = read_sparse_folder(self._folder, self.name_or_path)
            settings = files.settings
            tokenizer_options = {**(tokenizer_kwargs or {}), **(processor_kwargs or {})}
            self._network = self._load_network(
                files, allow_pickle, trust_remote_code, model_kwargs, config_kwargs, tokenizer_options
            )
        self._apply_settings(settings, prompts, default_prompt_name, similarity_fn_name, max_active_dims)
        # as sentence-transformers' register_model: "splade", "csr", ... (the architecture's words) as tags
        self.model_card_data.add_tags([word.lower() for word in architecture_name(self).split()[:-2]])
        self.model_card_data.register_defaults(TASK_NAME)
        self.to(device or ("cpu" if onnx else default_device()))
        become_torch_module(SparseEncoder)
        count_as_sentence_transformers(SparseEncoder, "SparseEncoder")

    def _load_network(self, files: Any, *options: Any) -> Any:
        """The folder's pipeline: torch modules, or on ``backend="onnx"`` its graph (options: allow_pickle,
        trust_remote_code, model_kwargs, config_kwargs, tokenizer options; the graph takes the last)."""
        if self._backend == "onnx":
            from .onnx_pipeline import load_onnx_network

            if (files.folder / layout.ADAPTER_CONFIG_FILE).is_file():
                refuse_adapter_backend()
            # the files as loaded: the masked-LM's save and torch model read them, whatever becomes of
            # the folder
            self._snapshot = FolderSnapshot(files.folder)
            trust_remote_code = options[1]
            precision = self._precision or "fp32"
            return load_onnx_network(files, options[-1], precision, self._snapshot, trust_remote_code)
        from .pipeline import load_network  # torch loads here

        return load_network(files, *options)

    def _apply_settings(
        self,
        settings: dict[str, Any],
        prompts: dict[str, str] | None,
        default_prompt_name: str | None,
        similarity_fn_name: str | None,
        max_active_dims: int | None,
    ) -> None:
        """The caller's prompts, default prompt, similarity and ``max_active_dims`` over the saved ones."""
        self.prompts: dict[str, str] = merged_prompts(settings.get("prompts"), prompts)
        self.default_prompt_name = loaded_default_prompt_name(default_prompt_name, settings)
        check_prompt_name(self.default_prompt_name, self.prompts, default=True)
        log_prompts(self.prompts, self.default_prompt_name)
        self.similarity_fn_name = similarity_fn_name or settings.get("similarity_fn_name")
        if max_active_dims is None:
            max_active_dims = settings.get("max_active_dims")
        if max_active_dims is None:  # a CSR model keeps its SparseAutoEncoder's k, as sentence-transformers
            max_active_dims = next(
                (m.k for m in self._network if layout.kind_of_module(m) == "SparseAutoEncoder"), None
            )
        _check_max_active_dims(max_active_dims)
        self.max_active_dims = max_active_dims

    # ------------------------------------------------------------------ the torch pipeline
    # (indexing, repr, device, the torch.nn.Module methods: sbert._pipeline_model.PipelineModel)

    @property
    def full_embedding_dimension(self) -> int:
        """The width of the embeddings: the vocabulary size (a SentenceTransformer's name for it)."""
        return self.get_embedding_dimension()

    def prompt_length(self, prompt: str | None, task: str | None = None) -> None:
        """``None``: SpladePooling pools the prompt's tokens too (nothing to leave out)."""
        return None

    @property
    def splade_pooling_chunk_size(self) -> int | None:
        """SpladePooling pools this many positions at a time (less memory); ``None``: all at once, or no
        SpladePooling among the pipeline's modules (CSR, a Router)."""
        pooling = self._splade_pooling()
        if pooling is None:
            st_model_logger.warning("SpladePooling module not found. Cannot get chunk_size.")
            return None
        return pooling.chunk_size

    @splade_pooling_chunk_size.setter
    def splade_pooling_chunk_size(self, value: int | None) -> None:
        check_positive_int("splade_pooling_chunk_size", value, optional=True)
        pooling = self._splade_pooling()
        if pooling is None:
            st_model_logger.warning("SpladePooling module not found. Cannot set chunk_size.")
        else:
            pooling.chunk_size = value

    def _get_splade_pooling(self) -> Any:
        """sentence-transformers' helper: the pipeline's SpladePooling, or ``None``."""
        return self._splade_pooling()

    def _splade_pooling(self) -> Any:
        """The pipeline's SpladePooling (among its modules, not inside a Router's routes), or ``None``."""
        return next((m for m in self._network if layout.kind_of_module(m) == "SpladePooling"), None)

    def _use_modules(self, modules: list[Any]) -> None:
        """An edited list of modules (``append``, ``model[1] = ...``, ...) as the pipeline, checked."""
        from .pipeline import network_from_modules

        network = network_from_modules(modules).to(self._device)
        self._network = self._in_model_mode(network, edited=True)

    def set_pooling_include_prompt(self, include_prompt: bool) -> None:
        """Whether the pipeline's first Pooling module (a CSR model's) pools the prompt's tokens too, as
        sentence-transformers sets it; a model without one is left as it is."""
        pooling = next((m for m in self._network if layout.kind_of_module(m) == "Pooling"), None)
        if pooling is not None:
            pooling.include_prompt = include_prompt

    def get_model_kwargs(self) -> list[str]:
        """What :meth:`encode` takes beyond every model's options and passes on to the modules: their
        ``forward_kwargs`` (``task`` is always accepted, as in sentence-transformers)."""
        if self._backend == "onnx":
            return []
        from .pipeline import model_kwargs

        return model_kwargs(self._network)

    def get_embedding_dimension(self) -> int | None:
        """The output width: the vocabulary size (SPLADE), the latents (CSR); the last module's that says."""
        if self._backend == "onnx":
            return self._network[-1].get_embedding_dimension()
        from .._modules import output_width

        return next((w for w in map(output_width, reversed(self._network)) if w is not None), None)

    def get_sentence_embedding_dimension(self) -> int | None:
        """:meth:`get_embedding_dimension`'s older name (a FutureWarning in sentence-transformers 6)."""
        warn_renamed(EMBEDDING_DIMENSION_RENAMED, FutureWarning)
        return self.get_embedding_dimension()

    @batch_encoding
    def tokenize(
        self, texts: Sequence[str], *, task: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """Padded model inputs for ``texts`` (truncated to ``max_seq_length``) as CPU torch tensors; a
        Router tokenizes with the route of ``task``; other keywords (``prompt``, ``processing_kwargs``, ...)
        go to :meth:`preprocess`, as there. Deprecated for :meth:`preprocess`, as there."""
        log_renamed_once(TOKENIZE_RENAMED, ST_MODEL)
        self._check_runnable()
        # the ONNX modules' features name the modality there; a chat template renders as preprocess does
        if kwargs or self._backend == "onnx" or self._reads_chat(task):
            return self.preprocess(texts, task=task, **kwargs)
        first = self._network[0]
        texts = check_texts(texts)
        return first.tokenize(texts, task=task) if hasattr(first, "input_modules") else first.tokenize(texts)

    @batch_encoding
    def preprocess(
        self, inputs: str | Sequence[str], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """sentence-transformers 6's features of ``inputs``: tokenized with ``prompt`` before every text (and
        its token count), by the route of ``task=`` in a Router (which the features then name); numpy arrays
        on backend="onnx"; no inputs: ``{}``, as there."""
        self._check_runnable()
        task = kwargs.get("task")
        texts = chat_inputs(inputs)[0] if self._reads_chat(task) else check_texts(inputs)
        if not texts:
            return {}
        if self._backend == "onnx":
            from .onnx_pipeline import preprocess as onnx_preprocess

            return onnx_preprocess(self._network, texts, prompt, kwargs.get("task"))
        from .pipeline import preprocess

        return preprocess(self._network, texts, prompt, kwargs.get("task"), kwargs.get("processing_kwargs"))

    def forward(self, input: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The pipeline on tokenized inputs (``input``, sentence-transformers' name): ``sentence_embedding``
        is ``(B, width)``, dense; ``kwargs`` (``task``, ``max_active_dims``, ...) reach the modules that take
        them."""
        return self._network(input, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.forward(*args, **kwargs)  # through the instance's forward, as torch calls a module

    # ------------------------------------------------------------------ encoding

    @older_texts_keyword
    def encode(  # sentence-transformers 6.3's parameters, in its order
        self,
        inputs: str | Sequence[str] | None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        convert_to_tensor: bool = True,
        convert_to_sparse_tensor: bool = True,
        save_to_cpu: bool = False,
        device: str | Sequence[str] | None = None,
        max_active_dims: int | None = None,
        pool: dict[str, Any] | None = None,
        chunk_size: int | None = None,
        **st_options: Any,
    ) -> Any:
        """Sparse embeddings of ``inputs``, as sentence-transformers returns them (``sentences=``: its older
        name, logged once, as there).

        A list gives one ``(n, V)`` tensor: sparse COO (coalesced) by default, dense with
        ``convert_to_sparse_tensor=False``; ``convert_to_tensor=False`` gives a list of 1-D rows instead. One
        string gives one 1-D row. ``max_active_dims`` keeps each row's largest weights (default: the
        model's). ``device`` moves the model there; ``save_to_cpu`` returns CPU tensors. ``task`` picks a
        Router's route (``encode_query`` / ``encode_document`` pass it); the modules' own keywords
        (:meth:`get_model_kwargs`) reach them. ``pool`` (of :meth:`start_multi_process_pool`) or ``device`` a
        list of devices: encoded by worker processes, ``chunk_size`` texts at a time (CPU tensors back).
        """
        self._check_runnable()
        texts, single = self._texts(inputs, st_options.get("task"))
        processing = st_options.pop("processing_kwargs", None)
        options = self._forward_options(st_options)
        multi_process = pool is not None or (isinstance(device, list) and len(device) > 0)
        # tokenizer options beyond a token limit run sentence-transformers' loop through preprocess
        in_process = not multi_process and self._backend != "onnx"
        tokenizer_call = (
            in_process and takes_tokenizer_call(processing) and _takes_call_options(self._network)
        )
        max_length = None if tokenizer_call else per_call_max_length(processing)
        if device is not None and not multi_process:
            self.to(device)
        check_positive_int("batch_size", batch_size)
        prompt = resolve_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name)
        tensors = output_functions()  # numpy's twins on the ONNX backend where torch is not installed
        if not texts:
            where = "cpu" if save_to_cpu or multi_process else self.device
            empty = tensors.empty_output(where, convert_to_sparse_tensor)
            return empty if convert_to_tensor else []
        # checked once there are rows to cut, after the prompt, as sentence-transformers does
        top = self.max_active_dims if max_active_dims is None else max_active_dims
        _check_max_active_dims(top)
        if top is not None:
            options["max_active_dims"] = top
        if multi_process:  # the workers get the resolved prompt: they add no default one
            from .multi_process import encode_with_pool

            # the call's token limit too, as sentence-transformers' workers take the call's keywords
            worker = {**options, "prompt": prompt or "", "batch_size": batch_size}
            worker |= {} if processing is None else {"processing_kwargs": processing}
            worker["convert_to_sparse_tensor"] = convert_to_sparse_tensor
            out = encode_with_pool(self, texts, worker, pool, device, chunk_size)
        else:
            # a user's preprocess or forward (a subclass's or on the model) gets sentence-transformers'
            # batches and keywords: preprocess the call's (not max_active_dims), forward those and it
            user = None
            if tokenizer_call or (self._backend != "onnx" and overrides_encode_steps(self)):
                user = {k: v for k, v in options.items() if k != "max_active_dims"}
                user.update({} if processing is None else {"processing_kwargs": processing})
            show = wants_progress(len(texts), batch_size, show_progress_bar)
            out = self._encode_sorted(
                texts,
                prompt,
                options,
                batch_size,
                convert_to_sparse_tensor,
                save_to_cpu,
                show,
                max_length,
                user=user,
            )
        if not convert_to_tensor:
            out = tensors.rows(out)
        return out[0] if single else out

    def _encode_sorted(
        self,
        texts: list[Any],
        prompt: str | None,
        options: dict[str, Any],
        *batching: Any,
        user: dict[str, Any] | None = None,
    ) -> Any:
        """One ``(n, width)`` output of ``texts`` (or text pairs), encoded longest first (less padding) and
        put back in input order; ``batching``: batch size, sparse, to the CPU, progress bar, token limit (of
        :meth:`_embed`)."""
        if user is not None:  # a user's steps: sentence-transformers' order, ties as there
            order = st_order(texts)
        else:
            lengths = [sum(map(len, t)) if isinstance(t, tuple) else len(t) for t in texts]
            order = np.argsort([-n for n in lengths], kind="stable")
        batches = self._embed([texts[i] for i in order], prompt, options, *batching, user=user)
        return output_functions().in_input_order(batches, order)

    encode_query = task_encode_method(
        "query",
        encode,
        "chunk_size",
        """:meth:`encode` with the ``query`` prompt unless a prompt is given.""",
        older_name=True,
    )
    encode_document = task_encode_method(
        "document",
        encode,
        "chunk_size",
        """:meth:`encode` with the first of the ``document``, ``passage``, ``corpus`` prompts unless a
        prompt is given.""",
        older_name=True,
    )

    def _texts(self, sentences: Any, task: str | None = None) -> tuple[list[Any], bool]:
        """The texts (or ``[text, text_pair]`` pairs, embedded as one input as sentence-transformers does) of
        one call and whether it was one input; conversations too where ``task``'s input module reads chat
        input (its tokenizer's chat template renders them)."""
        if self._reads_chat(task):
            return chat_inputs(sentences)
        sentences = dict_texts(sentences, model="SparseEncoder")
        return check_texts_or_pairs(sentences), isinstance(sentences, str)

    def _reads_chat(self, task: str | None) -> bool:
        """Whether the module that reads ``task``'s inputs (a Router's route) renders its chat template."""
        first = self._network[0]
        try:
            reader = first.input_module(task) if hasattr(first, "input_module") else first
        except InputError:  # an unknown route fails where the inputs are read
            return False
        return getattr(reader, "chat", None) is not None

    def _pool_settings(self) -> Any:
        from .multi_process import worker_settings

        return worker_settings(self)

    def _forward_options(self, st_options: dict[str, Any]) -> dict[str, Any]:
        """The keywords of an encode call for the modules (``task`` and their ``forward_kwargs``), the others
        checked (per-call tokenizer options are not supported)."""
        accepted = self.get_model_kwargs()
        unknown = set(st_options) - {*_ALWAYS_ACCEPTED, *accepted}
        if unknown:
            raise unexpected_keywords("SparseEncoder", unknown, accepted)
        return {k: v for k, v in st_options.items() if k == "task" or k in accepted}

    def _embed(
        self,
        texts: list[str],
        prompt: str | None,
        options: dict[str, Any],
        batch_size: int,
        sparse: bool,
        to_cpu: bool,
        show: bool | None,
        max_length: int | None = None,
        user: dict[str, Any] | None = None,
    ) -> list[torch.Tensor]:
        """``(B, width)`` embeddings of ``texts`` (``prompt`` before each) in batches of ``batch_size``;
        ``options``: the modules' keywords (``task``, ``max_active_dims``: the weights each row keeps);
        ``max_length``: this call's token limit; ``user``: the keywords of a user's ``preprocess``, called
        with the prompt, then the model (its ``forward``) with ``options`` and them, as there."""
        top = options.get("max_active_dims")
        if self._backend == "onnx":
            from .onnx_pipeline import embed

            task = options.get("task")
            return embed(self._network, texts, prompt, batch_size, top, sparse, show, task, max_length)
        import torch

        from .._modules.padding_free import own_inference
        from .pipeline import preprocess
        from .tensors import keep_top

        self._network.eval()
        batches = []
        bar = progress_bar(len(texts), desc="Batches", unit="text", show=show)
        # a user's preprocess or forward runs as sentence-transformers runs it: every position computed
        inference = own_inference(self._network) if user is None else torch.inference_mode()
        limit = None if max_length is None else {"text": {"max_length": max_length}}  # this call's only
        with bar, inference:
            for start in range(0, len(texts), batch_size):
                chunk = texts[start : start + batch_size]
                if user is None:
                    features = preprocess(self._network, chunk, prompt, options.get("task"), limit)
                else:
                    features = dict(self.preprocess(chunk, prompt=prompt, **user))
                features = batch_to_device(features, self.device)
                if user is None:
                    embeddings = _sentence_embedding(self._network(features, **options))
                else:
                    embeddings = _sentence_embedding(self(features, **{**user, **options}))
                if top is not None:
                    embeddings = keep_top(embeddings, top)
                if sparse:
                    embeddings = embeddings.to_sparse()
                batches.append(embeddings.cpu() if to_cpu else embeddings)
                bar.update(len(chunk))
        return batches

    # ------------------------------------------------------------------ reading embeddings

    @property
    def similarity_fn_name(self) -> str:
        """How :meth:`similarity` scores: ``"dot"`` unless set or saved otherwise."""
        return self._similarity_fn_name

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: str | None) -> None:
        value = getattr(value, "value", value)  # a SimilarityFunction member
        if value is not None and value not in SIMILARITY_FUNCTIONS:
            raise InputError(
                f"{type(self).__name__} only supports similarity_fn_name in {SIMILARITY_FUNCTIONS}, "
                f"got {value!r}."
            )
        self._similarity_fn_name = value or "dot"

    def similarity(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        """Scores ``(n, m)`` of two sets of embeddings (sparse or dense tensors, arrays, lists of rows)."""
        return output_functions().similarity(embeddings1, embeddings2, self.similarity_fn_name)

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        """Scores ``(n,)`` of row ``i`` of ``embeddings1`` with row ``i`` of ``embeddings2``."""
        return output_functions().similarity_pairwise(embeddings1, embeddings2, self.similarity_fn_name)

    def decode(self, embeddings: torch.Tensor, top_k: int | None = None) -> list[Any]:
        """``(token, weight)`` pairs, heaviest first: a list for one embedding, a list per row of a batch."""
        return output_functions().decode(embeddings, self.tokenizer, top_k)

    @staticmethod
    def sparsity(embeddings: torch.Tensor) -> dict[str, float]:
        """``{"active_dims": mean non-zero count, "sparsity_ratio": mean share of zeros}``."""
        return output_functions().sparsity(embeddings)

    @staticmethod
    def intersection(embeddings_1: torch.Tensor, embeddings_2: torch.Tensor) -> torch.Tensor:
        """The dimensions active in ``embeddings_1`` (1-D) and in each row of ``embeddings_2``, weighted by
        the product of their weights (sparse); :meth:`decode` shows which tokens two texts share."""
        return output_functions().intersection(embeddings_1, embeddings_2)

    # ------------------------------------------------------------------ saving

    def save(
        self,
        path: str | os.PathLike | None,
        model_name: str | None = None,
        create_model_card: bool = True,
        train_datasets: Sequence[str] | None = None,
        safe_serialization: bool = True,
    ) -> None:
        """Write the model in sentence-transformers' sparse-encoder layout (with a README.md card),
        atomically: a crash mid-save leaves whatever was at ``path`` before. Weights are always safetensors
        (``safe_serialization=False`` is accepted and changes nothing, as in transformers 5)."""
        if path is None:  # sentence-transformers' save(None) writes nothing
            return
        with layout.model_directory(path) as tmp:
            if self._backend == "onnx":
                self._network.save(tmp)  # the files its graph was built from
            else:
                from .._modules import save_modules

                save_modules(self._network, tmp)
            (tmp / layout.MODEL_CONFIG_FILE).write_text(json.dumps(self._saved_model_config(), indent=2))
            if create_model_card:
                self._save_card(tmp, model_name, path, lambda name: model_card(self, name))

    def _saved_model_config(self) -> dict[str, Any]:
        config = {
            "__version__": layout.saved_versions(__version__),
            "prompts": self.prompts,
            "default_prompt_name": self.default_prompt_name,
            "similarity_fn_name": self.similarity_fn_name,
            "model_type": self.model_type,
        }
        return config | ({"max_active_dims": self.max_active_dims} if self.max_active_dims else {})


def _check_max_active_dims(value: Any) -> None:
    """``None`` or an int >= 1, in sentence-transformers' words (an ``InputError``, a ``ValueError``)."""
    if value is not None and not is_positive_int(value):
        raise InputError(f"max_active_dims must be a positive integer, got {value!r}.")


def _sentence_embedding(features: dict[str, Any]) -> torch.Tensor:
    """The pipeline's output vectors ``(B, width)``: its last module must write ``sentence_embedding``."""
    embeddings = features.get("sentence_embedding")
    if embeddings is None:
        raise InputError(
            "The SparseEncoder's modules wrote no 'sentence_embedding': end the pipeline with a module that "
            "makes one (SpladePooling after a masked-LM, SparseAutoEncoder after a Pooling, or a Router "
            "whose routes end so)."
        )
    return embeddings


def _takes_call_options(network: Any) -> bool:
    """Whether the input module's ``preprocess`` takes a call's tokenizer options (a Router's does not)."""
    from .pipeline import Router

    return not isinstance(network[0], Router)
