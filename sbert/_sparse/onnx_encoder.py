"""The text-reading side of a SparseEncoder's ONNX pipeline: the module that stands for its Transformer (a
SPLADE model's masked-LM, a CSR model's encoder), with its tokenizer, limits and settings, and the runner of
the graph that holds its weights (:mod:`sbert._backends.sparse_onnx`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._backends.graph_builder.checkpoint import copy_checkpoint
from .._compat import check_tokenizer_kwargs, with_prompt
from .._format import layout
from .._format.chat_template import inferred_modality_config
from .._format.snapshot import FolderSnapshot
from .._format.transformer_config import config_dict
from .._modules.renamed_dimension import RenamedDimensionMethods
from .._modules.transformer_outputs import PromptLengths
from .._pipeline_model import TokenizerLength
from .._tokens.chat import ChatInput
from .._tokens.hf_methods import feature_names, token_types
from .._tokens.tokenizer import TextTokenizer
from .folder import write_masked_lm_settings


class OnnxMaskedLM(ChatInput, RenamedDimensionMethods, TokenizerLength):
    """The masked-LM's side of the ONNX pipeline: its tokenizer and limits (the graph holds its weights), and
    its ``modality_config`` (``None``: inferred from the tokenizer, as for a new torch module), whose
    "message" entry renders the inputs through the tokenizer's chat template."""

    stands_for = "MLMTransformer"  # saved under 5.x's type name, which every release reads
    processing_kwargs: dict[str, Any] = {}  # sentence-transformers 6's module setting; none saved here
    task = "fill-mask"  # its transformer_task

    def __init__(
        self,
        folder: Path,
        *,
        max_seq_length: int | None,
        do_lower_case: bool,
        runner: Any,
        tokenizer_options: dict[str, Any],
        snapshot: FolderSnapshot | None = None,
        trust_remote_code: bool = False,
        modality_config: dict[Any, dict[str, Any]] | None = None,
    ) -> None:
        tokenizer_options = check_tokenizer_kwargs(tokenizer_options)
        self.tokenizer = TextTokenizer.from_folder(folder, **tokenizer_options)
        max_seq_length = tokenizer_options.get("model_max_length") or max_seq_length
        self.do_lower_case = do_lower_case
        if do_lower_case:  # in the tokenizer's normalizer, as the torch masked-LM's
            self.tokenizer.lowercase_inputs()
        self.folder = folder
        self._snapshot = snapshot  # the model folder's files as loaded: the weights this graph was built from
        self._auto_model: Any = None
        self._trust_remote_code = trust_remote_code  # the load's: a folder's own masked-LM class runs
        config = layout.read_json(folder / "config.json")
        self.encoder_model_type = config.get("model_type")
        if modality_config is None:  # as the torch module infers it
            modality_config = inferred_modality_config(
                self.task, folder, self.encoder_model_type, tokenizer_options
            )
        self.modality_config = modality_config
        self.vocab_size = int(config["vocab_size"])
        self.runner = runner
        limit = config.get("max_position_embeddings")
        self.max_seq_length = max_seq_length or layout.default_max_seq_length(self.tokenizer, limit)

    @property
    def auto_model(self) -> Any:
        """The ``transformers`` masked-LM, loaded with torch on first use: sentence-transformers' export
        functions (``sbert.backend``) trace it (``model.transformers_model``); encoding never loads it."""
        if self._auto_model is None:
            from .mlm_transformer import load_masked_lm

            options = {"allow_pickle": False, "trust_remote_code": self._trust_remote_code}
            folder = self._source()
            self._auto_model = load_masked_lm(folder, **options, model_kwargs={}, config_kwargs={})
        return self._auto_model

    def get_embedding_dimension(self) -> int:
        """The vocabulary size: the width of the scores SpladePooling pools."""
        return self.vocab_size

    @property
    def takes_token_type_ids(self) -> bool:
        return bool(self.runner.takes_token_type_ids)

    def preprocess(
        self, inputs: list[Any], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, np.ndarray]:
        """The features of ``inputs`` (``prompt`` before each text, or, through the chat template, a system
        message); ``kwargs``: the call's ``task``."""
        if self.chat is not None:
            return self.chat_arrays(inputs, prompt, None, kwargs)
        return self.tokenize(with_prompt(inputs, prompt))

    def tokenize(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Token ids and attention mask (token type ids where the tokenizer makes them), ``(B, T)`` int64."""
        batch = self.tokenizer.encode_padded(texts)
        # as the torch module's features (hf_methods.token_types); the runner feeds the graph its inputs
        # (zeros for token_type_ids the tokenizer makes none of)
        types = token_types(self.tokenizer, self.runner.takes_token_type_ids)
        return {name: batch[name] for name in feature_names(types.in_features)}

    def get_config_dict(self) -> dict[str, Any]:
        """As the torch module's: sentence-transformers 6's fill-mask Transformer settings."""
        return config_dict({"transformer_task": self.task, "modality_config": self.modality_config})

    def save(self, folder: Path) -> None:
        """The masked-LM's files as the torch module saves them: its config.json and safetensors (copied:
        the graph was built from them), the tokenizer and ``sentence_bert_config.json``."""
        copy_checkpoint(self._source(), folder)
        self.tokenizer.save(folder)  # the limit as its model_max_length, as sentence-transformers 6 keeps it
        settings = (self.max_seq_length, self.do_lower_case, self.modality_config)
        write_masked_lm_settings(folder, *settings, task=self.task)

    def _source(self) -> Path:
        """The encoder's folder as loaded, whatever became of the model folder since (``FolderSnapshot``)."""
        return self._snapshot.locate(self.folder) if self._snapshot is not None else self.folder

    def __repr__(self) -> str:
        return f"MLMTransformer({self.get_config_dict()}) on ONNX Runtime: {self.runner.graph}"


class OnnxFeatureEncoder(PromptLengths, OnnxMaskedLM):
    """A CSR model's Transformer on ONNX Runtime: its tokenizer and limits; the graph holds its weights and
    runs the modules after it, up to the SparseAutoEncoder."""

    stands_for = "Transformer"
    task = "feature-extraction"

    def __init__(self, folder: Path, **options: Any) -> None:
        super().__init__(folder, **options)
        self.width = int(layout.hidden_size(layout.read_json(folder / "config.json")))

    def get_embedding_dimension(self) -> int:
        return self.width

    def preprocess(
        self, inputs: list[Any], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, np.ndarray]:
        """The masked-LM's features, and with a prompt its ``prompt_length``, which a Pooling with
        ``include_prompt: false`` leaves out, as sentence-transformers' Transformer gives it."""
        features = super().preprocess(inputs, prompt, **kwargs)
        if prompt and self.chat is None:
            features["prompt_length"] = self._prompt_length(prompt)
        return features

    @property
    def auto_model(self) -> Any:
        """The ``transformers`` encoder, loaded with torch on first use (encoding never loads it)."""
        if self._auto_model is None:
            from .._modules.transformer import Transformer

            folder = self._source()
            self._auto_model = Transformer.load(folder, trust_remote_code=self._trust_remote_code).auto_model
        return self._auto_model

    def __repr__(self) -> str:
        return f"Transformer({self.get_config_dict()}) on ONNX Runtime: {self.runner.graph}"
