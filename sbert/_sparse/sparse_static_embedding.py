"""SparseStaticEmbedding: a text's sparse vector is a fixed weight (an IDF, say) for each vocabulary token it
contains, and zero elsewhere; no encoder runs.

The query side of inference-free SPLADE: a Router sends queries here and documents through a masked-LM and
SpladePooling, so queries cost a tokenization. Texts are tokenized without special tokens and truncated at
the tokenizer's ``model_max_length``, as sentence-transformers does; a token counts once however often it
occurs. Saved as sentence-transformers saves it: ``config.json`` (``frozen``), ``model.safetensors``
(``weight``, one value per token) and the tokenizer's files.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._compat import with_prompt
from .._errors import TOKENIZE_RENAMED, InputError, ModelLoadError, log_renamed_once
from .._format.hub import resolve_model_path
from .._format.layout import read_json
from .._modules.base import InputModule
from .._modules.config_module import WEIGHTS_FILE, read_weights
from .._modules.loading import st_loading
from .._st_loggers import ST_INPUT_MODULE
from .._tokens.tokenizer import TextTokenizer

IDF_FILE = "idf.json"  # the file name a hub repository holds the weights of from_json under


class SparseStaticEmbedding(InputModule):
    """sentence-transformers' ``SparseStaticEmbedding``: same arguments, files and numbers.

    Args:
        tokenizer: the tokenizer of the vocabulary (sbert's ``model.tokenizer`` or a ``transformers``
            tokenizer); the vector has one dimension per token of it.
        weight: the ``(vocab_size,)`` weights (e.g. IDF values); ``None``: all ones.
        frozen: keep the weights fixed in training.

    Example::

        mlm = MLMTransformer("naver/splade-v3")
        idf = SparseStaticEmbedding.from_json("idf.json", tokenizer=mlm.tokenizer, frozen=True)
        router = Router.for_query_document([idf], [mlm, SpladePooling("max")])
        model = SparseEncoder(modules=[router], similarity_fn_name="dot")
    """

    config_keys = ["frozen"]
    save_in_root = True  # an input module: at the model's root when it is first
    takes_token_type_ids = False
    do_lower_case = False  # the tokenizer's own normalizer lowercases where the vocabulary needs it
    adds_special_tokens = False  # texts are read without [CLS]/[SEP] (the server reads them so too)

    def __init__(self, tokenizer: Any, weight: Any = None, frozen: bool = False) -> None:
        super().__init__()
        if not isinstance(frozen, bool):
            raise InputError(f"SparseStaticEmbedding: frozen must be True or False, got {frozen!r}.")
        self.tokenizer = text_tokenizer(tokenizer)
        vocab_size = len(self.tokenizer.get_vocab())
        values = torch.ones(vocab_size) if weight is None else _weight_tensor(weight, vocab_size)
        self.weight = nn.Parameter(values, requires_grad=not frozen)
        self.frozen = frozen
        self.num_dimensions = int(self.weight.shape[0])
        # recorded as sentence-transformers records it; the tokenizer's model_max_length cuts the texts
        self.max_seq_length = self.tokenizer.max_length

    @classmethod
    def from_json(
        cls,
        json_path: str | os.PathLike,
        tokenizer: Any,
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **config: Any,
    ) -> SparseStaticEmbedding:
        """Weights from a JSON file of ``{token: weight}`` (tokens it lacks weigh 0); ``json_path`` may also
        be a folder or hub repository holding ``idf.json``. ``config``: the constructor's ``frozen``."""
        path = _idf_file(json_path, token, cache_folder, revision, local_files_only)
        try:
            weights = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{path} could not be read as JSON: {e}") from e
        if not isinstance(weights, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in weights.values()
        ):
            raise InputError(f"{path} must hold a JSON object of token -> weight (a number).")
        tokenizer = text_tokenizer(tokenizer)
        values = torch.zeros(len(tokenizer.get_vocab()), dtype=torch.float32)
        # An unknown token gets the [UNK] id (none without one); of tokens with one id, the last one's weight.
        by_id = dict(zip(tokenizer.convert_tokens_to_ids(list(weights)), weights.values()))
        by_id.pop(None, None)
        if by_id:
            values[torch.tensor(list(by_id))] = torch.tensor(list(by_id.values()), dtype=torch.float32)
        return cls(tokenizer, weight=values, **config)

    # ------------------------------------------------------------------ the input-module contract

    def tokenize(self, texts: list[str], **kwargs: Any) -> dict[str, torch.Tensor]:
        """Token ids and attention mask ``(B, T)`` (and token type ids), no special tokens, cut at the
        tokenizer's limit."""
        log_renamed_once(TOKENIZE_RENAMED, ST_INPUT_MODULE)  # when called from outside sbert
        encodings = self.tokenizer.backend.encode_batch(list(texts), add_special_tokens=False)
        batch = self.tokenizer.pad_encodings(encodings)
        # token type ids too, as the tokenizer gives them there (forward reads ids and mask only)
        return {**self.to_features(batch), "token_type_ids": torch.from_numpy(batch["token_type_ids"])}

    def preprocess(self, inputs: list[str], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """sentence-transformers 6's features of ``inputs``, ``prompt`` before each."""
        return self.tokenize(with_prompt(list(inputs), prompt))

    def to_features(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {
            "input_ids": torch.from_numpy(batch["input_ids"]),
            "attention_mask": torch.from_numpy(batch["attention_mask"]),
        }

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        input_ids, mask = features["input_ids"], features["attention_mask"]  # (B, T), (B, T)
        # (B, V): 1 where a real (unmasked) token of the text is, as sentence-transformers scatters it
        present = torch.zeros(
            input_ids.shape[0], self.num_dimensions, dtype=torch.int64, device=input_ids.device
        )
        present.scatter_(1, input_ids, mask.to(torch.int64))
        embeddings = present * self.weight
        if features.get("sentence_embedding") is not None:  # an earlier module's vector, weighted
            embeddings = embeddings * features["sentence_embedding"]
        features["sentence_embedding"] = embeddings
        return features

    def get_embedding_dimension(self) -> int:
        return self.num_dimensions

    def get_config_dict(self) -> dict[str, Any]:
        return {"frozen": self.frozen}

    def __repr__(self) -> str:
        return (
            f"SparseStaticEmbedding({self.get_config_dict()}, dim={self.num_dimensions}, "
            f"tokenizer={self.tokenizer.tokenizer_class or type(self.tokenizer).__name__})"
        )

    # ------------------------------------------------------------------ files

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(folder)
        save_file({"weight": self.weight.detach().contiguous().cpu()}, folder / WEIGHTS_FILE)
        (folder / "config.json").write_text(json.dumps(self.get_config_dict(), indent=4), encoding="utf-8")

    @classmethod
    @st_loading
    def load(
        cls, folder: str | os.PathLike, *, allow_pickle: bool = False, **options: Any
    ) -> SparseStaticEmbedding:
        """From the folder's files; a config whose ``path`` names a JSON file takes the weights from it."""
        folder = Path(folder)
        config = read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
        unknown = sorted(set(config) - {"frozen", "path"})
        if unknown or not isinstance(config.get("frozen", False), bool):
            raise ModelLoadError(f"{folder / 'config.json'}: expected only 'frozen' (a bool), found {config}")
        tokenizer = TextTokenizer.from_folder(folder)
        path = config.pop("path", None)
        if isinstance(path, str) and path.endswith(".json"):
            json_path = folder / path if (folder / path).is_file() else path
            return cls.from_json(json_path, tokenizer, **config)
        weights = read_weights(folder, allow_pickle=allow_pickle)
        if set(weights) != {"weight"}:
            raise ModelLoadError(
                f"{folder}: expected one tensor 'weight' in the weights, found {sorted(weights)}"
            )
        try:
            return cls(tokenizer, weight=weights["weight"], **config)
        except InputError as e:
            raise ModelLoadError(f"{folder}: {e}") from e


def text_tokenizer(tokenizer: Any) -> TextTokenizer:
    """sbert's tokenizer for ``tokenizer``: itself, or a ``transformers`` tokenizer read from its files."""
    if isinstance(tokenizer, TextTokenizer):
        return tokenizer
    if not callable(getattr(tokenizer, "save_pretrained", None)):
        raise InputError(
            f"SparseStaticEmbedding needs a tokenizer (sbert's model.tokenizer or a transformers tokenizer), "
            f"got {type(tokenizer).__name__}."
        )
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        return TextTokenizer.from_folder(folder)


def _weight_tensor(weight: Any, vocab_size: int) -> torch.Tensor:
    values = (
        weight.detach().clone() if isinstance(weight, torch.Tensor) else torch.as_tensor(np.asarray(weight))
    )
    if values.dim() != 1 or not values.is_floating_point():
        raise InputError(
            f"SparseStaticEmbedding: weight must be a 1-D float tensor (one weight per token), got shape "
            f"{tuple(values.shape)} of {values.dtype}."
        )
    if values.shape[0] < vocab_size:
        raise InputError(
            f"SparseStaticEmbedding: weight has {values.shape[0]} values but the tokenizer has {vocab_size} "
            "tokens; give one weight per token."
        )
    return values


def _idf_file(
    json_path: str | os.PathLike, token: Any, cache_folder: Any, revision: Any, local_files_only: bool
) -> Path:
    """The JSON file ``json_path`` names: itself, or ``idf.json`` in a folder or hub repository."""
    path = Path(json_path).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        try:
            path = resolve_model_path(
                json_path,
                cache_folder=cache_folder,
                revision=revision,
                token=token,
                local_files_only=local_files_only,
                default_namespace=None,
            )
        except ModelLoadError:
            path = Path(json_path)
    if not (path / IDF_FILE).is_file():
        raise InputError(f"IDF JSON file not found at {json_path}. Please provide a valid path.")
    return path / IDF_FILE
