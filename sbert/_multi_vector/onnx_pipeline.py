"""A MultiVectorEncoder's pipeline on ONNX Runtime (``backend="onnx"``), without torch: the encoder and its
token-level Dense and Normalize run as one graph (:mod:`sbert._backends.multi_vector_onnx`), built from the
folder's files (:mod:`.onnx_plan`); this module holds what the model shows of the modules (the
Transformer's tokenizer, limits and per-task settings; the MultiVectorMask's settings), tokenizes each
batch for its task (:func:`.task_inputs.preprocess`, numpy) and keeps each text's scored tokens. With torch
installed the batches become torch tensors and :func:`.encoding.batch_outputs` cuts them as on the torch
backend (token pooling included); without it, or where the call asks for numpy arrays, they stay numpy
arrays (:func:`array_outputs`) and torch is not imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._backends.graph_builder import position_limit
from .._backends.graph_builder.multi_vector import TokenDense
from .._backends.multi_vector_onnx import MultiVectorOnnxRunner, multi_vector_graph_path
from .._compat import check_tokenizer_kwargs, with_prompt
from .._errors import InputError, ModelLoadError, torch_installed
from .._format import layout
from .._format.transformer_config import merge_processing
from .._modules.renamed_dimension import RenamedDimensionMethods
from .._modules.transformer_outputs import PromptLengths, tokenizer_call_options
from .._numeric import normalize
from .._pipeline_model import OnnxModules, TokenizerLength
from .._tokens.hf_methods import own_call
from .._tokens.tokenizer import TextTokenizer
from .encode_options import EncodeOptions, encode_sorted
from .legacy_format import register_prefix_tokens
from .mask_arrays import scoring_mask, skiplist_token_ids
from .onnx_plan import MultiVectorPlan
from .task_inputs import TASK_SETTINGS, preprocess, set_task_settings

_TOKENS = "token_embeddings"
_MASK_KEYS = ("skiplist_words", "skiplist_tasks", "keep_only_token_ids")


class OnnxTokenTransformer(PromptLengths, RenamedDimensionMethods, TokenizerLength):
    """The Transformer's side of the ONNX pipeline: its tokenizer, limits and per-task settings
    (``query_length``, ``document_length``, ``query_expansion``); the graph holds its weights."""

    stands_for = "Transformer"

    def __init__(self, plan: MultiVectorPlan, runner: Any, tokenizer_options: dict[str, Any]) -> None:
        tokenizer_options = check_tokenizer_kwargs(tokenizer_options, chat="MultiVectorEncoder on ONNX")
        self.tokenizer = TextTokenizer.from_folder(plan.encoder, **tokenizer_options)
        options = layout.read_transformer_options(plan.encoder)
        self.do_lower_case = bool(options.get("do_lower_case", False))
        if self.do_lower_case:
            self.tokenizer.lowercase_inputs()
        config = layout.read_json(plan.encoder / "config.json")
        self.width = int(config.get("hidden_size") or config.get("dim") or 0)
        limit = tokenizer_options.get("model_max_length") or options.get("max_seq_length")
        self.max_seq_length = limit or layout.default_max_seq_length(
            self.tokenizer, config.get("max_position_embeddings")
        )
        settings = layout.read_transformer_settings(plan.encoder)
        if isinstance(settings.get("modality_config"), dict) and "message" in settings["modality_config"]:
            raise InputError(  # its inputs are rendered by the chat template there, which sbert does on torch
                f"{plan.encoder} takes chat input (a 'message' modality): sbert renders a "
                "MultiVectorEncoder's chat template on torch only. Load it with backend='torch'."
            )
        self.processing_kwargs: dict[str, Any] = settings.get("processing_kwargs") or {}
        set_task_settings(self, plan.task_settings)
        register_prefix_tokens(self.tokenizer, plan.prefixes)
        self.runner = runner
        self.folder = plan.encoder

    def get_embedding_dimension(self) -> int:
        return self.width

    def preprocess(
        self,
        inputs: list[str],
        prompt: str | None = None,
        processing_kwargs: dict[str, Any] | None = None,
        max_length: int | None = None,
        task: str | None = None,  # a chat template's variable, where the torch Transformer renders one
    ) -> dict[str, Any]:
        """The Transformer's features of ``inputs`` as numpy arrays (``prompt`` before each): the tokenizer's,
        ``"modality": "text"`` and, with a prompt, its ``prompt_length``."""
        if not inputs:
            return {}
        processing = merge_processing(self.processing_kwargs, processing_kwargs)
        options = {**tokenizer_call_options(processing, max_length), "return_tensors": "np"}
        features: dict[str, Any] = dict(own_call(self.tokenizer, with_prompt(inputs, prompt), **options))
        features["modality"] = "text"
        if prompt:
            features["prompt_length"] = self._prompt_length(prompt)
        return features

    def get_config_dict(self) -> dict[str, Any]:
        settings = {key: getattr(self, key) for key in TASK_SETTINGS if getattr(self, key) is not None}
        return {"max_seq_length": self.max_seq_length, "do_lower_case": self.do_lower_case, **settings}

    def __repr__(self) -> str:
        return f"Transformer({self.get_config_dict()}) on ONNX Runtime: {self.runner.graph}"


class OnnxTokenStep:
    """A token-level Dense or Normalize the graph runs (shown, not run, here)."""

    def __init__(self, step: TokenDense | str) -> None:
        self.step = step
        self.stands_for = "Dense" if isinstance(step, TokenDense) else "Normalize"

    def __repr__(self) -> str:
        if isinstance(self.step, TokenDense):
            settings = {"bias": self.step.bias, "activation": self.step.activation or "Identity"}
            return f"Dense({settings}, module_input_name='token_embeddings') in the graph"
        return "Normalize(module_input_name='token_embeddings') in the graph"


class OnnxMultiVectorMask:
    """The MultiVectorMask's settings and its scoring mask of a numpy batch (:mod:`.mask_arrays`)."""

    stands_for = "MultiVectorMask"

    forward_kwargs = {"task"}

    def __init__(self, config: dict[str, Any], tokenizer: Any, path: Path) -> None:
        unknown = sorted(set(config) - set(_MASK_KEYS))
        words, tasks = config.get("skiplist_words") or [], config.get("skiplist_tasks") or ["document"]
        tasks = [tasks] if isinstance(tasks, str) else tasks
        keep = config.get("keep_only_token_ids")
        lists = (words, tasks)
        if unknown or not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in lists):
            raise ModelLoadError(
                f"{path}: MultiVectorMask settings must be {list(_MASK_KEYS)} (lists of strings, token ids), "
                f"found {config!r}."
            )
        self.skiplist_words, self.skiplist_tasks = list(words), list(tasks)
        self.keep_only_token_ids = None if keep is None else [int(i) for i in keep]
        self.resolve_with_tokenizer(tokenizer)

    def resolve_with_tokenizer(self, tokenizer: Any) -> None:
        """The skiplist's token ids, as the torch module's method of that name (call it after changing
        ``skiplist_words``)."""
        self.skiplist_ids = skiplist_token_ids(tokenizer, self.skiplist_words) if self.skiplist_words else []

    def scoring_mask(self, features: dict[str, Any], task: str | None) -> np.ndarray:
        return scoring_mask(features, task, self.skiplist_ids, self.skiplist_tasks, self.keep_only_token_ids)

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _MASK_KEYS}

    def __repr__(self) -> str:
        return f"MultiVectorMask({self.get_config_dict()})"


class OnnxMultiVectorNetwork(OnnxModules):
    """``[OnnxTokenTransformer, OnnxTokenStep..., OnnxMultiVectorMask]``, with what a model asks of its
    ``nn.Sequential`` (:class:`~sbert._pipeline_model.OnnxModules`)."""

    model_class = "MultiVectorEncoder"

    def __init__(self, *items: Any, width: int) -> None:
        super().__init__(*items)
        self.width = width

    @property
    def mask(self) -> OnnxMultiVectorMask | None:
        return next((m for m in self.items if isinstance(m, OnnxMultiVectorMask)), None)

    def __call__(self, features: dict[str, Any], task: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """:meth:`arrays`, as tensors when the inputs are tensors or torch is installed."""
        tensors = any(hasattr(v, "numpy") for v in features.values())
        out = self.arrays(features, task)
        if tensors or torch_installed():
            import torch

            out = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in out.items()}
        return out

    def arrays(self, features: dict[str, Any], task: str | None = None) -> dict[str, Any]:
        """The graph on tokenized features (numpy arrays or CPU tensors), in numpy: ``token_embeddings``
        ``(B, T, dim)`` and the scoring ``attention_mask`` (bool)."""
        arrays = {k: v.numpy() if hasattr(v, "numpy") else v for k, v in features.items()}
        tokens = self.items[0].runner.embed(arrays)
        mask = self.mask
        real = arrays["attention_mask"].astype(bool)
        scored = mask.scoring_mask(arrays, task) if mask is not None else real
        return {**arrays, "token_embeddings": tokens, "attention_mask": scored}

    forward = __call__

    def modules(self) -> Iterator[Any]:
        return iter(self.items)


def load_onnx_network(
    folder: Path,
    plan: MultiVectorPlan,
    tokenizer_options: dict[str, Any],
    precision: str = "fp32",
    trust_remote_code: bool = False,
) -> OnnxMultiVectorNetwork:
    """The ONNX pipeline of the model in ``folder`` read as ``plan`` (its graph built or taken from the
    cache). ``tokenizer_options``: sentence-transformers' ``processor_kwargs``; ``precision``: "fp32" or
    "int8"; ``trust_remote_code``: the encoder may run its folder's code (then its graph is traced)."""
    graph = multi_vector_graph_path(
        folder,
        plan.encoder,
        plan.steps,
        precision,
        torch_modules=lambda: torch_modules(plan, trust_remote_code),
        trust_remote_code=trust_remote_code,
    )
    runner = MultiVectorOnnxRunner(graph, precision=precision, max_tokens=position_limit(plan.encoder))
    transformer = OnnxTokenTransformer(plan, runner, tokenizer_options)
    items: list[Any] = [transformer, *map(OnnxTokenStep, plan.steps)]
    if plan.mask is not None:
        items.append(OnnxMultiVectorMask(plan.mask, transformer.tokenizer, folder))
    return OnnxMultiVectorNetwork(*items, width=runner.width or transformer.width)


def torch_modules(plan: MultiVectorPlan, trust_remote_code: bool = False) -> list[Any]:
    """The plan's Transformer and token steps as sbert's torch modules, which the graph of an encoder family
    the graph builder does not write (or of one running its folder's code) is traced from."""
    from safetensors.torch import load_file

    from .._backends.graph_builder.activations import DENSE_ACTIVATIONS
    from .._backends.graph_builder.checkpoint import Checkpoint
    from .._modules.dense import Dense
    from .._modules.normalize import Normalize
    from .._modules.transformer import Transformer

    activations = {op: path for path, op in DENSE_ACTIVATIONS.items()}
    modules: list[Any] = [Transformer.load(plan.encoder, trust_remote_code=trust_remote_code)]
    for step in plan.steps:
        if not isinstance(step, TokenDense):  # NORMALIZE
            modules.append(Normalize(_TOKENS))
            continue
        prefix = Checkpoint([step.file], "linear.weight").prefix  # a Stanford-NLP checkpoint's own file
        tensors = load_file(step.file)
        weight = tensors[prefix + "linear.weight"]
        bias = tensors[prefix + "linear.bias"] if step.bias else None
        dense = Dense(
            weight.shape[1],
            weight.shape[0],
            bias=step.bias,
            activation_function=activations[step.activation],
            init_weight=weight,
            init_bias=bias,
            module_input_name=_TOKENS,
        )
        modules.append(dense)
    return modules


def run_onnx_encode(network: OnnxMultiVectorNetwork, texts: list[str], options: EncodeOptions) -> list[Any]:
    """One ``(tokens_i, dim)`` item per text (a feature dict per text with ``output_value=None``), in input
    order: torch tensors where torch is installed (cut by :func:`.encoding.batch_outputs`), else numpy; numpy
    without importing torch where the call asks for arrays and no token pooling (a torch module) runs."""
    in_numpy = not torch_installed() or (options.arrays and options.token_pooling is None)
    if in_numpy:
        run, outputs = network.arrays, array_outputs
    else:
        from .encoding import batch_outputs as outputs

        run = network

    def run_batch(batch: list[str]) -> list[Any]:
        features = preprocess(network[0], batch, options.prompt, options.task, options.processing_kwargs)
        return outputs(run(features, task=options.task), len(batch), options)

    return encode_sorted(texts, options, run_batch)


def array_outputs(features: dict[str, Any], size: int, options: EncodeOptions) -> list[Any]:
    """:func:`.encoding.batch_outputs` in numpy (no token pooling: that needs torch)."""
    cut = options.truncate_dim
    if options.output_value is None:
        if cut is not None:
            features["token_embeddings"] = normalize(features["token_embeddings"][..., :cut])
        return [
            {
                name: value[i]
                if isinstance(value, np.ndarray) and value.ndim and len(value) == size
                else value
                for name, value in features.items()
            }
            for i in range(size)
        ]
    items = [tokens[keep] for tokens, keep in zip(features["token_embeddings"], features["attention_mask"])]
    if options.normalize:
        items = [normalize(item) for item in items]
    return items if cut is None else [normalize(item[..., :cut]) for item in items]
