"""StaticEmbedding: a text's vector is the mean of trained per-token vectors (model2vec, static retrieval).

No encoder runs: encoding is a table lookup, 100x+ faster than a Transformer on a CPU. The folder layout is
sentence-transformers' (``model.safetensors`` with ``embedding.weight``, ``tokenizer.json``); model2vec
folders (``embeddings``, optionally a token mapping and weights) load too. Distillation from a Transformer
model is the ``model2vec`` library's (the ``distill`` extra); sbert only hands it the encoder.
"""

from __future__ import annotations

import inspect
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import check_positive_int
from .._errors import TOKENIZE_RENAMED, InputError, ModelLoadError, log_renamed_once, missing_extra
from .._format.hub import resolve_model_path
from .._format.layout import describe_pipeline, pooling_config_from_file
from .._io.atomic import atomic_directory
from .._st_loggers import ST_INPUT_MODULE
from .base import InputModule
from .loading import st_loading
from .static_vectors import TOKENIZER_FILE, WEIGHTS_FILE, StaticTokenizer, fold_model2vec, read_static_folder

ST_SUBFOLDER = "0_StaticEmbedding"  # where older sbert releases saved the module: such folders still load
# sbert's pooling of the source model -> the model2vec pooling that distils the same token vectors.
_MODEL2VEC_POOLING = {"mean": "mean", "cls": "first", "lasttoken": "last"}
# Table dtypes kept as given and saved, as sentence-transformers keeps them (its encode then returns that
# dtype); sbert widens the rest (integer tables) to fp32.
_KEPT_DTYPES = (torch.float16, torch.bfloat16, torch.float64)


class StaticEmbedding(InputModule):
    """The mean of per-token vectors (an ``nn.EmbeddingBag``), trainable, as in sentence-transformers.

    Args:
        tokenizer: a ``tokenizers.Tokenizer`` or a fast ``transformers`` tokenizer (copied, not changed).
            Texts are tokenized without special tokens and without truncation (unless the tokenizer's own
            file sets one); an empty text gives a zero vector.
        embedding_weights: the ``(vocab, dim)`` table (numpy or torch); or
        embedding_dim: the width of a new random table (normal init, as ``nn.EmbeddingBag``).

    Example::

        static = StaticEmbedding.from_model2vec("./potion-base-8M")
        model = SentenceTransformer(modules=[static])
    """

    takes_token_type_ids = False
    do_lower_case = False  # the tokenizer's own normalizer lowercases where the model needs it
    save_in_root = True  # first in a pipeline, its files go in the model's root, as sentence-transformers 6

    @property
    def max_seq_length(self) -> float:
        """``math.inf``, read-only, as sentence-transformers reports it: texts are read whole (a truncation
        in the tokenizer's own file still applies, there too)."""
        return math.inf

    def __init__(
        self,
        tokenizer: Any,
        embedding_weights: np.ndarray | torch.Tensor | None = None,
        embedding_dim: int | None = None,
        *,
        base_model: str | None = None,
    ) -> None:
        super().__init__()
        self.tokenizer = _static_tokenizer(tokenizer)
        if embedding_weights is not None:
            weights = _table(embedding_weights)
            self.embedding = nn.EmbeddingBag.from_pretrained(weights, freeze=False, mode="mean")
        elif embedding_dim is not None:
            check_positive_int("embedding_dim", embedding_dim)
            self.embedding = nn.EmbeddingBag(self.tokenizer.backend.get_vocab_size(), embedding_dim)
        else:
            raise InputError("StaticEmbedding needs embedding_weights or embedding_dim.")
        self.base_model = base_model  # for the model card

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Token ids and attention mask as ``(B, T)`` tensors (no special tokens)."""
        log_renamed_once(TOKENIZE_RENAMED, ST_INPUT_MODULE)  # when called from outside sbert
        return self.to_features(self.tokenizer.encode_padded(texts))

    def to_features(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {
            "input_ids": torch.from_numpy(batch["input_ids"]),
            "attention_mask": torch.from_numpy(batch["attention_mask"]),
        }

    def preprocess(
        self, inputs: list[Any], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """sentence-transformers 6's features: all texts' token ids in one flat ``(N,)`` tensor and where each
        text starts in it, ``offsets`` ``(B,)``, the form ``nn.EmbeddingBag`` takes. ``forward`` reads these
        and :meth:`tokenize`'s padded ``(B, T)`` ids alike."""
        if prompt:
            inputs = [prompt + text if isinstance(text, str) else text for text in inputs]
        ids = [encoding.ids for encoding in self.tokenizer.encode_texts(inputs)]
        lengths = torch.tensor([0] + [len(row) for row in ids[:-1]], dtype=torch.long)
        flat = torch.tensor([token for row in ids for token in row], dtype=torch.long)
        return {"input_ids": flat, "offsets": torch.cumsum(lengths, dim=0)}

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        if "offsets" in features:  # preprocess's flat ids
            ids, offsets = features["input_ids"], features["offsets"]
        else:  # padded (B, T) ids and their mask
            mask = features["attention_mask"].bool()  # (B, T)
            lengths = mask.sum(dim=1)  # (B,)
            offsets = torch.cumsum(lengths, dim=0) - lengths  # where each row's tokens start in the flat list
            ids = features["input_ids"][mask]
        features["sentence_embedding"] = self.embedding(ids, offsets)  # (B, d)
        return features

    @property
    def num_embeddings(self) -> int:
        """The table's rows (its vocabulary), as sentence-transformers' module holds it."""
        return int(self.embedding.num_embeddings)

    @property
    def embedding_dim(self) -> int:
        return int(self.embedding.embedding_dim)

    def get_embedding_dimension(self) -> int:
        return self.embedding_dim

    def __repr__(self) -> str:
        return "StaticEmbedding({})"  # sentence-transformers' form: the module has no config keys

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        from safetensors.torch import save_file

        folder = Path(folder)
        weights = self.embedding.weight.detach()
        if weights.dtype not in _KEPT_DTYPES:
            weights = weights.float()
        weights = weights.contiguous().cpu()
        save_file({"embedding.weight": weights}, folder / WEIGHTS_FILE)
        # tokenizer.json alone, as sentence-transformers writes it: at the root a tokenizer_config.json would
        # give AutoTokenizer a limit the model does not have
        self.tokenizer.backend.save(str(folder / TOKENIZER_FILE))

    @classmethod
    @st_loading
    def load(
        cls, folder: str | os.PathLike, *, allow_pickle: bool = False, **options: Any
    ) -> StaticEmbedding:
        tokenizer, table = read_static_folder(Path(folder), allow_pickle=allow_pickle)
        return cls(tokenizer, table)

    @classmethod
    def from_model2vec(cls, model_id_or_path: str | os.PathLike) -> StaticEmbedding:
        """The token table and tokenizer of a model2vec model (a local folder or a hub name).

        Reads the files directly: the ``model2vec`` package is not needed.
        """
        folder = resolve_model_path(model_id_or_path, default_namespace=None)
        if not (folder / WEIGHTS_FILE).is_file() and (folder / ST_SUBFOLDER / WEIGHTS_FILE).is_file():
            folder = folder / ST_SUBFOLDER
        tokenizer, table = read_static_folder(folder)
        return cls(tokenizer, table, base_model=str(model_id_or_path))

    @classmethod
    def from_distillation(
        cls,
        model_name_or_path: str | os.PathLike,
        vocabulary: list[str] | None = None,
        device: str | None = None,
        pca_dims: int | None = 256,
        apply_zipf: bool = True,
        sif_coefficient: float | None = 1e-4,
        token_remove_pattern: str | None = r"\[unused\d+\]",
        quantize_to: str = "float32",
        use_subword: bool = True,
        **options: Any,
    ) -> StaticEmbedding:
        """model2vec's distillation of the encoder of ``model_name_or_path`` (an sbert/ST model or a plain
        Hugging Face encoder), with sentence-transformers' arguments: the ones the installed model2vec
        takes are passed on (``vocabulary``, ``pca_dims``, ``sif_coefficient``, ``token_remove_pattern``,
        ``quantize_to``, ...), the others are left out with a warning, as there. Needs
        ``pip install 'sbert[distill]'``."""
        wanted = {
            "vocabulary": vocabulary,
            "sif_coefficient": sif_coefficient,
            "token_remove_pattern": token_remove_pattern,
            "quantize_to": quantize_to,
            **options,
        }
        # older model2vec releases' switches: what model2vec does anyway when left on
        wanted.update(
            {name: False for name, on in (("apply_zipf", apply_zipf), ("use_subword", use_subword)) if not on}
        )
        static = distill_model2vec(model_name_or_path, pca_dims=pca_dims, device=device, options=wanted)
        table = fold_model2vec(
            static.embedding, getattr(static, "token_mapping", None), getattr(static, "weights", None)
        )
        return cls(static.tokenizer, table, base_model=str(model_name_or_path))


def distill_model2vec(
    model_name_or_path: str | os.PathLike | None,
    *,
    pca_dims: int | None = 256,
    device: str | None = None,
    allow_pickle: bool = False,
    options: dict[str, Any] | None = None,
) -> Any:
    """A ``model2vec.StaticModel`` distilled by model2vec from the encoder of an sbert model.

    The encoder is loaded by sbert (name resolution, weight checks); model2vec embeds every vocabulary
    token with it, pooled like the source model pools (mean, CLS or last token), then applies PCA to
    ``pca_dims`` and SIF weighting. Weights stay float32 (unless ``options`` says ``quantize_to``) so every
    loader computes the same numbers. ``options``: more of ``distill_from_model``'s keywords; those the
    installed model2vec lacks are left out with a warning.
    """
    try:
        from model2vec.distill import distill_from_model
    except ImportError as e:
        raise missing_extra("model2vec", "distill") from e
    from transformers import AutoTokenizer

    from .transformer import Transformer

    if pca_dims is not None:
        check_positive_int("pca_dims", pca_dims)
    folder = resolve_model_path(model_name_or_path, allow_pickle=allow_pickle)
    info = describe_pipeline(folder)
    if info.input_kind != "Transformer":
        raise InputError(f"{folder} starts with a {info.input_kind}: distillation needs a Transformer model.")
    encoder = Transformer.load(info.transformer_path, allow_pickle=allow_pickle).model
    tokenizer = AutoTokenizer.from_pretrained(info.transformer_path, use_fast=True)
    options = {"quantize_to": "float32", **(options or {})}
    accepted = set(inspect.signature(distill_from_model).parameters)
    left_out = sorted(name for name in options if name not in accepted)
    if left_out:
        warnings.warn(
            f"The installed model2vec's distillation does not take {left_out}; they are left out "
            "(a newer model2vec may).",
            stacklevel=3,
        )
    return distill_from_model(
        model=encoder,
        tokenizer=tokenizer,
        pca_dims=pca_dims,
        device=device or "cpu",
        pooling=_source_pooling(folder, info.entries),
        **{name: value for name, value in options.items() if name in accepted},
    )


def distill_to_folder(
    model_name_or_path: str | os.PathLike | None,
    out: str | os.PathLike,
    *,
    pca_dims: int | None = 256,
    device: str | None = None,
    allow_pickle: bool = False,
) -> int:
    """Distil a static model and write it to ``out`` atomically; returns its width.

    The folder is model2vec's own layout (``config.json``, ``model.safetensors``, ``tokenizer.json`` at the
    root, plus the ``modules.json`` model2vec writes: StaticEmbedding then Normalize), so sbert,
    sentence-transformers and ``model2vec.StaticModel.from_pretrained`` all load it with the same vectors.
    """
    static = distill_model2vec(
        model_name_or_path, pca_dims=pca_dims, device=device, allow_pickle=allow_pickle
    )
    with atomic_directory(out) as tmp:
        static.save_pretrained(tmp, model_name=Path(out).name)
    return int(static.dim)


def _source_pooling(folder: Path, entries: list[Any]) -> str:
    """The model2vec pooling matching the source model's first Pooling (mean when there is none)."""
    pooling = next((e for e in entries if e.kind == "Pooling"), None)
    if pooling is None or not pooling.path:
        return "mean"
    modes = pooling_config_from_file(folder / pooling.path / "config.json")[1]
    if len(modes) != 1 or modes[0] not in _MODEL2VEC_POOLING:
        raise InputError(f"{folder}: model2vec distils mean, CLS or last-token pooling, not {modes}.")
    return _MODEL2VEC_POOLING[modes[0]]


def _table(weights: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A copy of ``weights`` as a torch table: float16, bfloat16 and float64 are kept, as
    sentence-transformers keeps them (its encode computes in that dtype); other dtypes become float32."""
    if isinstance(weights, torch.Tensor):
        table = weights.detach()
    else:
        table = torch.from_numpy(np.asarray(weights))
    if table.dtype not in _KEPT_DTYPES:
        table = table.float()
    return table.clone()


def _static_tokenizer(tokenizer: Any) -> StaticTokenizer:
    """A :class:`StaticTokenizer` over a copy of ``tokenizer`` (the caller's object keeps its settings)."""
    if isinstance(tokenizer, StaticTokenizer):
        return tokenizer
    from tokenizers import Tokenizer

    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)  # a transformers fast tokenizer
    if not isinstance(backend, Tokenizer):
        raise InputError(
            f"StaticEmbedding needs a fast tokenizer (tokenizers.Tokenizer), got {type(tokenizer).__name__}."
        )
    try:
        return StaticTokenizer(Tokenizer.from_str(backend.to_str()))
    except Exception as e:  # the Rust parser raises plain Exception subclasses
        raise ModelLoadError(f"The tokenizer could not be copied: {e}") from e
