"""MultiVectorEncoder: token-level (late-interaction, ColBERT-style) embeddings, sentence-transformers'
``MultiVectorEncoder`` for inference (same files, same numbers).

A model is a pipeline of modules: a Transformer, a token-level Dense projection, a :class:`MultiVectorMask`
(the tokens MaxSim scores) and a token-level Normalize, as sentence-transformers builds and saves it. Each
text becomes a ``(tokens, dim)`` tensor of its scored tokens; :meth:`similarity` scores queries against
documents with MaxSim (``sbert._maxsim``). Importing this module does not import torch.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._backends import refuse_adapter_backend
from .._backends.devices import check_device, note_default_device
from .._checks import check_positive_int, check_texts
from .._compat import (
    batch_encoding,
    check_kernels,
    check_onnx_backend,
    check_prompt_name,
    dict_texts,
    loaded_default_prompt_name,
    log_prompts,
    merged_prompts,
    option_dicts_checked,
    overrides_encode_steps,
    resolve_prompt,
    task_encode_method,
    unexpected_keywords,
)
from .._errors import (
    TOKENIZE_RENAMED,
    InputError,
    ModelLoadError,
    log_renamed_once,
    require_torch,
    torch_installed,
)
from .._format import layout
from .._format.card_data import card_data_dict, note_base_model
from .._format.conversion import converted_from
from .._format.hub import model_cache_folder, resolve_model_path
from .._format.requirements import check_requirements
from .._format.snapshot import FolderSnapshot
from .._modules.global_rng import draw_as_linear, draw_as_loaded
from .._numeric import MULTI_VECTOR_SIMILARITIES
from .._pipeline_model import PipelineModel, default_device
from .._progress import wants_progress
from .._st_loggers import ST_MODEL
from .._st_registration import count_as_sentence_transformers
from .._tokens.chat import chat_inputs
from .._torch_base import become_torch_module
from .._version import __version__
from .card import TASK_NAME, MultiVectorEncoderModelCardData

if TYPE_CHECKING:
    import torch

MODEL_TYPE = "MultiVectorEncoder"
SIMILARITY_FN_NAMES = MULTI_VECTOR_SIMILARITIES
# encode's keywords of sentence-transformers that sbert accepts beyond its own: processing_kwargs (the
# tokenizer's options)
_IGNORED = ("processing_kwargs",)


class MultiVectorEncoder(PipelineModel):
    """Map texts to one vector per token and score them with MaxSim.

    Args:
        model_name_or_path: a folder sentence-transformers' MultiVectorEncoder saved (or its hub name).
        modules: the pipeline instead of a name, e.g. ``[Transformer(path), Dense(d, 128, bias=False,
            activation_function=nn.Identity(), module_input_name="token_embeddings"), MultiVectorMask(),
            Normalize("token_embeddings")]``.
        device: ``"cpu"``, ``"cuda"``, ... (default: a GPU when there is one).
        prompts, default_prompt_name: named texts put before the inputs, over the saved ones.
        model_card_data: a :class:`MultiVectorEncoderModelCardData` (or dict) for the card of :meth:`save`.
        similarity_fn_name: ``"maxsim"`` (default) or ``"meanmaxsim"`` (divided by the query's token count).
        truncate_dim: keep the first ``truncate_dim`` values of each token vector (then re-normalized).
        allow_pickle, trust_remote_code, cache_folder, revision, token, local_files_only, model_kwargs,
            config_kwargs, processor_kwargs: as for :class:`sbert.SentenceTransformer`.
        token_pooling: a :class:`~sbert.multi_vector_encoder.modules.BaseTokenPooling` (e.g.
            ``HierarchicalTokenPooling(pool_factor=2)``) that ``encode`` applies to the texts of its tasks
            (documents by default) unless a call passes its own; it is not saved with the model (a pooling
            module at the end of the pipeline is).
        backend: ``"torch"`` (the default, as sentence-transformers') or ``"onnx"``: the encoder and its token
            Dense / Normalize modules of a BERT-family model as one ONNX Runtime graph built from its files
            (``onnx_plan``: sentence-transformers' saves, PyLate's and Stanford-NLP ColBERT's checkpoints)
            and cached in ``<model>/onnx/sbert/multi_vector/``, on the CPU, without torch (where torch is
            not installed, ``encode`` returns numpy arrays and :meth:`similarity` numpy scores).
            ``model_kwargs``: only sentence-transformers' ``provider`` (the CPU one) and ``export``;
            ``file_name`` with ``qint8`` / ``quint8`` in its name chooses sbert's int8 graph.

    Example::

        model = MultiVectorEncoder("path/to/colbert")
        queries = model.encode_query(["What is the capital of France?"])
        documents = model.encode_document(["Paris is the capital of France.", "Berlin is in Germany."])
        model.similarity(queries, documents)  # (1, 2) MaxSim scores
    """

    __module__ = "sbert.sentence_transformers"  # the path libraries recognise models by (see that module)
    model_type = MODEL_TYPE
    model_card_data_class = MultiVectorEncoderModelCardData
    _model_card_model_id_placeholder = "multi_vector_encoder_model_id"
    SUPPORTED_SIMILARITY_FN_NAMES = SIMILARITY_FN_NAMES
    default_huggingface_organization: str | None = None

    @option_dicts_checked
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
        config_kwargs: dict[str, Any] | None = None,
        model_card_data: MultiVectorEncoderModelCardData | dict[str, Any] | None = None,
        backend: str = "torch",
        similarity_fn_name: str | None = None,
        token_pooling: Any = None,
        truncate_dim: int | None = None,
        allow_pickle: bool = False,
        use_kernels: bool = False,
        kernel_config: Any = None,
    ) -> None:
        check_kernels(use_kernels, kernel_config)
        self.use_kernels, self.kernel_config = False, None  # sentence-transformers' attributes
        self.trust_remote_code = trust_remote_code
        self._backend, self._precision = _choose_backend(backend, modules, model_kwargs, config_kwargs)
        self.token_pooling = token_pooling
        device = check_device(device)
        note_default_device(device, model_kwargs, bool(model_name_or_path) and backend == "torch")
        self.model_card_data = card_data_dict(model_card_data, self.model_card_data_class, self)
        self.model_card_data.register_defaults(TASK_NAME)
        settings: dict[str, Any] = {}
        self.name_or_path: str | None = None
        self._folder: Path | None = None
        if modules is not None:
            if model_name_or_path is not None:
                raise InputError("Pass either model_name_or_path or modules, not both.")
            from .pipeline import pipeline_from_modules  # torch loads here

            self._network = pipeline_from_modules(modules)
        elif model_name_or_path is None:
            raise InputError("MultiVectorEncoder needs a model: a folder or hub name, or modules=[...].")
        else:
            folder = resolve_model_path(
                model_name_or_path,
                cache_folder=model_cache_folder(cache_folder),
                revision=revision,
                token=token,
                allow_pickle=allow_pickle,
                local_files_only=local_files_only,
                default_namespace=None,
            )
            self.name_or_path = str(model_name_or_path)
            self._folder = folder
            note_base_model(self.model_card_data, model_name_or_path, folder, revision, local_files_only)
            options = {
                "model_kwargs": model_kwargs,
                "config_kwargs": config_kwargs,
                "processor_kwargs": processor_kwargs,
            }
            self._network, settings = self._load(folder, allow_pickle, trust_remote_code, options)
        self._apply_settings(settings, prompts, default_prompt_name, similarity_fn_name, truncate_dim)
        self.to(device or ("cpu" if self._backend == "onnx" else default_device()))
        become_torch_module(MultiVectorEncoder)
        count_as_sentence_transformers(MultiVectorEncoder, "MultiVectorEncoder")

    def _load(
        self, folder: Path, allow_pickle: bool, trust_remote_code: bool, options: dict[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        """The folder's pipeline and saved settings: torch modules, or on ``backend="onnx"`` its graph."""
        if self._backend == "onnx":
            from .onnx_pipeline import load_onnx_network
            from .onnx_plan import read_plan

            if (folder / layout.ADAPTER_CONFIG_FILE).is_file():
                refuse_adapter_backend()
            plan = read_plan(folder)
            self._snapshot = FolderSnapshot(folder)  # the files as loaded, which its save copies later
            tokenizer_options = options["processor_kwargs"] or {}
            network = load_onnx_network(folder, plan, tokenizer_options, self._precision, trust_remote_code)
            if plan.entries:  # as sentence-transformers' constructors of its modules
                draw_as_loaded(folder, plan.entries, allow_pickle=allow_pickle)
            else:  # a Stanford-NLP checkpoint: sentence-transformers builds its projection's nn.Linear
                draw_as_linear(plan.steps[0].file, "linear.weight", bias=False)
            return network, plan.settings
        from .legacy import load_legacy  # torch loads here
        from .pipeline import load_converted, load_pipeline

        # sentence-transformers' notice; PyLate 3's "ColBERT" is this class's own format
        kind = converted_from(folder, MODEL_TYPE, str(self.name_or_path), own=("ColBERT",))
        if kind not in (None, "SentenceTransformer"):  # a SentenceTransformer's folder: legacy converts it
            return load_converted(folder, kind, allow_pickle, trust_remote_code, options), {}
        # PyLate's and Stanford-NLP ColBERT's checkpoints (sbert._multi_vector.legacy), else sbert's
        loaded = load_legacy(folder, allow_pickle, trust_remote_code, options)
        if loaded is None:
            network = load_pipeline(folder, allow_pickle, trust_remote_code, options)
            # a plain folder's settings are not read, as there (a SentenceTransformer's are, converted)
            own = layout.is_own_folder(folder, MODEL_TYPE, own=("ColBERT", "SentenceTransformer"))
            loaded = network, _saved_settings(folder) if own else {}
        return loaded

    def _apply_settings(
        self,
        settings: dict[str, Any],
        prompts: dict[str, str] | None,
        default_prompt_name: str | None,
        similarity_fn_name: str | None,
        truncate_dim: int | None,
    ) -> None:
        """The caller's prompts, default prompt, similarity and ``truncate_dim`` over the saved ones."""
        self.prompts: dict[str, str] = merged_prompts(settings.get("prompts"), prompts)
        self.default_prompt_name = loaded_default_prompt_name(default_prompt_name, settings)
        check_prompt_name(self.default_prompt_name, self.prompts, default=True)
        log_prompts(self.prompts, self.default_prompt_name)
        saved_similarity = settings.get("similarity_fn_name")
        if similarity_fn_name is None and saved_similarity in SIMILARITY_FN_NAMES:
            similarity_fn_name = saved_similarity
        self._similarity_fn_name: str | None = None
        if similarity_fn_name is not None:
            self.similarity_fn_name = similarity_fn_name
        self.truncate_dim = truncate_dim if truncate_dim is not None else settings.get("truncate_dim")
        check_positive_int("truncate_dim", self.truncate_dim, optional=True)

    @property
    def token_pooling(self) -> Any:
        """The token pooling ``encode`` applies when a call passes none (``None``: no pooling)."""
        return self._token_pooling

    @token_pooling.setter
    def token_pooling(self, value: Any) -> None:
        if value is not None:  # a token pooling module is a torch module
            from .token_pooling import check_token_pooling

            check_token_pooling(value)
        self._token_pooling = value

    # ------------------------------------------------------------------ the torch pipeline
    # (indexing, repr, device, the torch.nn.Module methods: sbert._pipeline_model.PipelineModel)

    def _use_modules(self, modules: list[Any]) -> None:
        """An edited list of modules as the pipeline (a MultiVectorMask learns the skiplist's token ids)."""
        from .pipeline import pipeline_from_modules

        network = pipeline_from_modules(modules).to(self._device)
        self._network = self._in_model_mode(network, edited=True)

    @batch_encoding
    def preprocess(
        self, inputs: Any, prompt: str | None = None, task: str | None = None, **kwargs: Any
    ) -> Any:
        """sentence-transformers 6's features of ``inputs`` for ``task``: the tokenizer's, and for a query
        with ``query_expansion`` its ``query_expansion_positions``; ``max_length`` (a trainer's) caps the
        texts in place of the task's length."""
        from .task_inputs import preprocess

        self._check_runnable()
        texts = self._inputs(inputs)[0]
        options = kwargs.get("processing_kwargs")
        return preprocess(self._network[0], texts, prompt, task, options, kwargs.get("max_length"))

    def _inputs(self, inputs: Any) -> tuple[list[Any], bool]:
        """One call's texts and whether it was one input; chat messages and conversations too where the
        Transformer reads chat input (its tokenizer's chat template renders them), else refused in
        sentence-transformers' words."""
        if getattr(self._network[0], "chat", None) is not None:
            return chat_inputs(inputs)
        inputs = dict_texts(inputs, model=MODEL_TYPE)
        single = isinstance(inputs, str)
        return check_texts([inputs] if single else inputs, name="inputs"), single

    @batch_encoding
    def tokenize(self, texts: Any, task: str | None = None, **kwargs: Any) -> Any:
        """:meth:`preprocess` (deprecated for it, as in sentence-transformers 6), given the keywords."""
        log_renamed_once(TOKENIZE_RENAMED, ST_MODEL)
        return self.preprocess(texts, task=task, **kwargs)

    def forward(self, input: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The pipeline on tokenized features (``input``, sentence-transformers' name): ``token_embeddings``
        ``(B, T, dim)`` and the scoring ``attention_mask``; the keyword ``task`` picks a Router's route
        (sentence-transformers' signature, ``(input, **kwargs)``)."""
        return self._network(input, task=kwargs.get("task"))

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.forward(*args, **kwargs)

    def get_embedding_dimension(self) -> int | None:
        """The width of each token vector: ``truncate_dim`` when set, else the pipeline's."""
        width = self._get_untruncated_embedding_dimension()
        return min(width, self.truncate_dim) if width and self.truncate_dim else width

    @property
    def full_embedding_dimension(self) -> int | None:
        """The pipeline's token width, before any ``truncate_dim`` (as ``SentenceTransformer``'s)."""
        return self._get_untruncated_embedding_dimension()

    def _get_untruncated_embedding_dimension(self) -> int | None:
        """The pipeline's token width, before any ``truncate_dim`` (sentence-transformers' helper, which its
        MatryoshkaLoss reads)."""
        if self._backend == "onnx":
            return self._network.width
        from .pipeline import token_width

        return token_width(self._network)

    def get_model_kwargs(self) -> list[str]:
        """The keywords ``encode`` hands on to the modules (their ``forward_kwargs``)."""
        return sorted({name for module in self._network for name in getattr(module, "forward_kwargs", ())})

    # ------------------------------------------------------------------ encoding

    def encode(
        self,
        inputs: Any,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        output_value: str | None = "token_embeddings",
        convert_to_numpy: bool = False,
        device: str | None = None,
        normalize_embeddings: bool = False,
        token_pooling: Any = None,
        truncate_dim: int | None = None,
        pool: dict[str, Any] | None = None,
        chunk_size: int | None = None,
        task: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """One ``(tokens_i, dim)`` tensor per text (its scored tokens), in input order; numpy arrays with
        ``convert_to_numpy``; one item for a single string. ``output_value=None``: each text's features
        (every key, padded to its batch). ``normalize_embeddings``: unit-length token vectors;
        ``token_pooling`` (default: the model's): fewer vectors for the texts of its tasks, after
        ``normalize_embeddings`` and before ``truncate_dim``. ``task``: ``"query"`` or ``"document"`` (prefer
        :meth:`encode_query` / :meth:`encode_document`). ``pool`` (of :meth:`start_multi_process_pool`) or
        ``device`` a list of devices: encoded by worker processes, ``chunk_size`` texts at a time (CPU
        tensors back)."""
        from .encode_options import EncodeOptions

        self._check_runnable()
        check_positive_int("batch_size", batch_size)
        token_pooling = token_pooling if token_pooling is not None else self.token_pooling
        if token_pooling is not None:  # a torch module
            from .token_pooling import check_token_pooling, warn_if_compounding

            check_token_pooling(token_pooling)
            warn_if_compounding(self._network, token_pooling, task)
        self._check_keywords(kwargs)
        if output_value not in ("token_embeddings", None):
            raise InputError(
                'output_value must be "token_embeddings" or None (each text\'s features), '
                f"got {output_value!r}."
            )
        texts, single = self._inputs(inputs)
        truncate_dim = truncate_dim if truncate_dim is not None else self.truncate_dim
        check_positive_int("truncate_dim", truncate_dim, optional=True)
        multi_process = pool is not None or (isinstance(device, list) and len(device) > 0)
        if device is not None and not multi_process:
            self.to(device)
        options = EncodeOptions(
            prompt=resolve_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name),
            task=task,
            batch_size=batch_size,
            output_value=output_value,
            normalize=normalize_embeddings,
            truncate_dim=truncate_dim,
            progress=wants_progress(len(texts), batch_size, show_progress_bar),
            processing_kwargs=kwargs.get("processing_kwargs"),
            token_pooling=token_pooling,
            arrays=convert_to_numpy and output_value is not None,
        )
        if multi_process:  # sentence-transformers' multi-process encoding
            from .multi_process import encode_with_pool

            result = encode_with_pool(self, texts, options, pool, device, chunk_size)
        else:  # a user's preprocess or forward (a subclass's or on the model) gets the call's keywords
            result = self._run_encode(texts, options, kwargs if overrides_encode_steps(self) else None)
        if convert_to_numpy and output_value is not None:
            result = [_to_numpy(item) for item in result]
        return result[0] if single else result

    encode_query = task_encode_method(
        "query",
        encode,
        "chunk_size",
        """:meth:`encode` with ``task="query"`` and the ``"query"`` prompt when none is given.""",
    )
    encode_document = task_encode_method(
        "document",
        encode,
        "chunk_size",
        """:meth:`encode` with ``task="document"`` and the first of the ``"document"`` / ``"passage"`` /
        ``"corpus"`` prompts when none is given.""",
    )

    def _run_encode(self, texts: list[str], options: Any, user: dict[str, Any] | None = None) -> list[Any]:
        if self._backend == "onnx":
            from .onnx_pipeline import run_onnx_encode

            return run_onnx_encode(self._network, texts, options)
        from .encoding import run_encode

        return run_encode(self._network, texts, options, None if user is None else (self, user))

    def _pool_settings(self) -> Any:
        from .multi_process import worker_settings

        return worker_settings(self)

    def _check_keywords(self, kwargs: dict[str, Any]) -> None:
        valid = self.get_model_kwargs()
        unknown = [k for k in kwargs if k not in valid and k not in _IGNORED]
        if "convert_to_tensor" in unknown:
            raise InputError(
                "MultiVectorEncoder.encode() has no convert_to_tensor: token embeddings differ in length per "
                "text, so they stay a list of tensors. Drop the argument, or pass convert_to_numpy=True "
                "for a list of arrays."
            )
        if unknown:
            raise unexpected_keywords(type(self).__name__, unknown, valid)

    # ------------------------------------------------------------------ scoring

    @property
    def similarity_fn_name(self) -> str:
        """``"maxsim"`` (default) or ``"meanmaxsim"``: what :meth:`similarity` computes."""
        if self._similarity_fn_name is None:
            self._similarity_fn_name = "maxsim"
        return self._similarity_fn_name

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: Any) -> None:
        value = getattr(value, "value", value)  # sentence-transformers' SimilarityFunction enum
        if value is not None and value not in SIMILARITY_FN_NAMES:  # None: back to the default, lazily
            raise InputError(
                f"MultiVectorEncoder scores with {SIMILARITY_FN_NAMES}, got {value!r}: cosine, dot, "
                "euclidean and manhattan are for one vector per text (SentenceTransformer)."
            )
        self._similarity_fn_name = value

    def similarity(self, embeddings1: Any, embeddings2: Any, **kwargs: Any) -> torch.Tensor:
        """``(len(embeddings1), len(embeddings2))`` MaxSim scores of queries against documents (lists of
        ``(tokens, dim)`` items, padded ``(n, tokens, dim)`` tensors, or one item); ``kwargs`` go to
        :func:`sbert.util.maxsim` (``chunk_elements``, ``device``, ``length_normalize``)."""
        return self._maxsim(embeddings1, embeddings2, False, kwargs)

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any, **kwargs: Any) -> torch.Tensor:
        """The MaxSim score of each query with the document at its position."""
        return self._maxsim(embeddings1, embeddings2, True, kwargs)

    def _maxsim(self, embeddings1: Any, embeddings2: Any, pairwise: bool, kwargs: dict[str, Any]) -> Any:
        """MaxSim with this model's length normalization; in numpy where torch is not installed."""
        from .. import _maxsim

        kwargs.setdefault("length_normalize", self.similarity_fn_name == "meanmaxsim")
        if not torch_installed():
            return _maxsim.maxsim_arrays(
                embeddings1, embeddings2, length_normalize=kwargs["length_normalize"], pairwise=pairwise
            )
        score = _maxsim.maxsim_pairwise if pairwise else _maxsim.maxsim
        return score(embeddings1, embeddings2, **kwargs)

    # ------------------------------------------------------------------ saving

    def save(
        self,
        path: str | os.PathLike | None,
        model_name: str | None = None,
        create_model_card: bool = True,
        train_datasets: Sequence[str] | None = None,
        safe_serialization: bool = True,
    ) -> None:
        """Write the model as sentence-transformers' MultiVectorEncoder saves it, with a README.md card,
        atomically. Weights are always safetensors (``safe_serialization`` changes nothing). On
        ``backend="onnx"``: the files its graph was built from (``onnx_save``)."""
        if path is None:  # sentence-transformers' save(None) writes nothing
            return
        from .card import model_card

        with layout.model_directory(path) as tmp:
            if self._backend == "onnx":
                from .onnx_save import save_source

                source = self.folder
                assert source is not None  # the ONNX backend loads a folder
                save_source(source, self._network, tmp)
            else:
                from .pipeline import save_pipeline

                save_pipeline(self._network, tmp)
            (tmp / layout.MODEL_CONFIG_FILE).write_text(json.dumps(self._saved_model_config(), indent=2))
            if create_model_card:
                write = functools.partial(model_card, self, card_data=self.model_card_data)
                self._save_card(tmp, model_name, path, write)

    def _saved_model_config(self) -> dict[str, Any]:
        config = {
            "__version__": layout.saved_versions(__version__),
            "prompts": self.prompts,
            "default_prompt_name": self.default_prompt_name,
            "similarity_fn_name": self._similarity_fn_name,
            "model_type": self.model_type,
        }
        return config | ({"truncate_dim": self.truncate_dim} if self.truncate_dim is not None else {})


def _choose_backend(backend: str, *options: Any) -> tuple[str, str]:
    """``("torch", "")`` (torch required) or ``("onnx", precision)``; ``options``: modules, model_kwargs,
    config_kwargs, checked for the ONNX backend."""
    chosen, _, precision = check_onnx_backend(MODEL_TYPE, backend, *options).partition("-")
    if chosen == "torch":
        require_torch("multi-vector encoders (MultiVectorEncoder) on backend='torch' (or backend='onnx')")
    return chosen, precision


def _saved_settings(folder: Path) -> dict[str, Any]:
    path = folder / layout.MODEL_CONFIG_FILE
    settings = layout.read_json(path) if path.is_file() else {}
    check_requirements(settings.get("requirements"), str(folder), for_sbert=True)
    kind = settings.get("model_type")
    if kind not in (None, MODEL_TYPE):
        raise ModelLoadError(
            f"{path}: this folder holds a {kind}, not a MultiVectorEncoder; load it with sbert.{kind}."
        )
    return settings


def _to_numpy(item: Any) -> np.ndarray:
    """A tensor as numpy (bfloat16, which numpy lacks, as float32); an array as it is."""
    if isinstance(item, np.ndarray):
        return item
    import torch

    return (item.float() if item.dtype == torch.bfloat16 else item).cpu().numpy()
