"""DenoisingAutoEncoderLoss (TSDAE): a decoder rebuilds the original text from the noisy text's embedding."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._errors import InputError
from .._st_loggers import ST_DENOISING_AUTO_ENCODER_LOSS
from .base import Features, Loss
from .citations import TSDAE


class DenoisingAutoEncoderLoss(Loss):
    """TSDAE (Wang et al. 2021, https://arxiv.org/abs/2104.06979): unsupervised training on plain sentences.

    Each row is a damaged sentence (e.g. with 60 % of its words deleted) and the sentence itself. The model
    embeds the damaged one; a transformer decoder, which sees nothing but that one vector (through
    cross-attention), must write the original sentence token by token. The loss is the decoder's
    cross-entropy on the original's tokens (padding left out).

    The decoder is built from the encoder's own folder as a causal language model with cross-attention
    (``AutoModelForCausalLM``), and by default shares the encoder's weights (``tie_encoder_decoder``), as in
    the paper: only its cross-attention and language-model head are new (randomly initialized from torch's
    generator). It is part of the loss, not of the saved model.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train; its first module must be a transformer
            :class:`sbert.Transformer`, and its sentence embeddings as wide as the decoder.
        decoder_name_or_path: a separate decoder (a folder, or a name in the local Hugging Face cache) when
            ``tie_encoder_decoder=False``; texts are re-tokenized for it if its vocabulary differs.
        tie_encoder_decoder: share the encoder's weights with the decoder (default True).

    Requirements:
        (damaged sentence, original sentence) pairs, no labels.

    Inputs:

        +-----------------------------------------+--------+
        | Texts                                   | Labels |
        +=========================================+========+
        | (damaged_sentence, original_sentence)   | none   |
        +-----------------------------------------+--------+

    Example::

        import random
        from sbert import (DenoisingAutoEncoderLoss, SentenceTransformer, Trainer, TrainingArguments,
                           load_dataset)

        def damage(text, keep=0.4):
            words = text.split()
            kept = [w for w in words if random.random() < keep]
            return " ".join(kept or words[:1])

        model = SentenceTransformer("bert-base-uncased-folder")  # a plain encoder, CLS pooling
        sentences = open("sentences.txt").read().splitlines()
        train = load_dataset([(damage(s), s) for s in sentences])
        args = TrainingArguments(output_dir="out", batch_size=8, learning_rate=3e-5)
        Trainer(model, train, DenoisingAutoEncoderLoss(model), args=args).train()
    """

    citation = TSDAE

    min_columns = 2
    max_columns = 2

    def __init__(
        self, model: Any, decoder_name_or_path: str | None = None, tie_encoder_decoder: bool = True
    ) -> None:
        super().__init__(model)
        from transformers import AutoConfig, AutoModelForCausalLM

        encoder = _encoder(model)
        if decoder_name_or_path is None and not tie_encoder_decoder:
            raise InputError(
                "DenoisingAutoEncoderLoss: with tie_encoder_decoder=False, name the decoder "
                "(decoder_name_or_path=...)."
            )
        if tie_encoder_decoder and decoder_name_or_path:  # sentence-transformers' notice, on its logger
            logging.getLogger(ST_DENOISING_AUTO_ENCODER_LOSS).warning(
                "When tie_encoder_decoder=True, the decoder_name_or_path will be invalid."
            )
        self.tokenizer_encoder = model.tokenizer
        if tie_encoder_decoder:
            folder = _encoder_folder(encoder.config.name_or_path)
            config = copy.deepcopy(encoder.config) if folder is None else AutoConfig.from_pretrained(folder)
            self.tokenizer_decoder = model.tokenizer
        else:
            from transformers import AutoTokenizer

            from .._format.hub import resolve_model_path

            folder = resolve_model_path(decoder_name_or_path, default_namespace=None)
            config = AutoConfig.from_pretrained(folder)
            self.tokenizer_decoder = AutoTokenizer.from_pretrained(folder)
        config.is_decoder, config.add_cross_attention = True, True
        self.need_retokenization = not tie_encoder_decoder and (
            self.tokenizer_decoder.get_vocab() != self.tokenizer_encoder.get_vocab()
        )
        if config.hidden_size != model.full_embedding_dimension:
            raise InputError(
                f"DenoisingAutoEncoderLoss: the decoder's hidden size {config.hidden_size} differs from the "
                f"model's {model.full_embedding_dimension}-dimensional embeddings; the decoder attends to "
                "the sentence embedding, so they must match (leave out a Dense layer, or pick a decoder)."
            )
        self.decoder = _causal_lm(AutoModelForCausalLM, folder, config)
        if getattr(self.tokenizer_decoder, "pad_token", "") is None:  # e.g. GPT-2: pad with the end token
            self.tokenizer_decoder.pad_token = self.tokenizer_decoder.eos_token
            self.decoder.config.pad_token_id = self.decoder.config.eos_token_id
        self.tie_encoder_decoder = tie_encoder_decoder
        if tie_encoder_decoder:
            rows = encoder.get_input_embeddings().weight.shape[0]
            if self.decoder.get_input_embeddings().weight.shape[0] != rows:  # the encoder's vocabulary grew
                self.decoder.resize_token_embeddings(rows)
            _tie(encoder, self.decoder.base_model)
        self.decoder.to(model.device)

    @property
    def encoder(self) -> Any:
        """The model being trained (sentence-transformers' name for it in this loss)."""
        return self.model

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        sentence_features = list(sentence_features)
        if len(sentence_features) != 2:
            raise InputError(
                "DenoisingAutoEncoderLoss takes (damaged sentence, original sentence) pairs, got "
                f"{len(sentence_features)} columns."
            )
        source, target = sentence_features
        if self.need_retokenization:
            target = self.retokenize(target)
        # One forward of the damaged batch as given, as sentence-transformers': length groups would sample
        # other dropout masks in training, and the decoder's vocabulary logits dominate a step anyway.
        embeddings = self.model(source)["sentence_embedding"]  # (B, D)
        ids = target["input_ids"]  # (B, T): the decoder reads tokens 0..T-2 and predicts 1..T-1
        logits = self.decoder(
            input_ids=ids[:, :-1],
            attention_mask=None,  # causal attention only, padding included, as sentence-transformers'
            encoder_hidden_states=embeddings[:, None],  # (B, 1, D): one vector to attend to
            encoder_attention_mask=source["attention_mask"][:, 0:1],
            use_cache=False,
        ).logits  # (B, T - 1, V)
        pad = self.tokenizer_decoder.pad_token_id
        return nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), ignore_index=pad
        )

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        raise InputError(
            "DenoisingAutoEncoderLoss decodes the original texts' tokens, so it cannot run on embeddings "
            "computed elsewhere: train it on its own, not inside MatryoshkaLoss or AdaptiveLayerLoss."
        )

    def check_truncation(self, dims: Sequence[int]) -> None:
        self.compute_loss_from_embeddings([], None)

    def retokenize(self, features: Features) -> Features:
        """The texts of ``features`` re-tokenized for a decoder with another vocabulary."""
        ids = features["input_ids"]
        texts = self.tokenizer_encoder.batch_decode(ids.tolist(), skip_special_tokens=True)
        tokens = self.tokenizer_decoder(texts, padding=True, truncation="longest_first", return_tensors="pt")
        return {k: v.to(ids.device) for k, v in tokens.items()}

    def config(self) -> dict[str, Any]:
        return {
            "decoder_name_or_path": str(self.decoder.config.name_or_path),
            "need_retokenization": self.need_retokenization,
        }


def _encoder(model: Any) -> Any:
    """The transformers model of ``model``'s first module (InputError for a model without one)."""
    first = next(iter(model), None)
    if not hasattr(first, "auto_model"):
        raise InputError(
            "DenoisingAutoEncoderLoss trains a transformer encoder with a decoder built from it; this "
            f"model's first module is a {type(first).__name__}. Use another loss (e.g. "
            "MultipleNegativesRankingLoss)."
        )
    return first.model


def _encoder_folder(name: str) -> Path | None:
    """The folder sentence-transformers builds the tied decoder from: the encoder's ``name_or_path``, which is
    a hub name for the default model or a cached one (the embedded default model, a cache snapshot), found
    without the network; ``None`` when there is none (a model built in memory).

    Building from the folder matters beyond the weights: ``from_pretrained`` draws from torch's generator only
    for the new weights (cross-attention, head), ``from_config`` for all of them, so under one seed only the
    former gives sentence-transformers' decoder."""
    from .._format.hub import resolve_model_path

    if not name:
        return None
    try:
        folder = resolve_model_path(name, default_namespace=None, local_files_only=True)
    except (OSError, ValueError):  # sbert's ModelLoadError is an OSError
        return None
    return folder if (folder / "config.json").is_file() else None


def _causal_lm(auto_class: Any, folder: Path | None, config: Any) -> Any:
    """The decoder: the folder's weights where it has them (new weights from torch's generator), or a new
    model of ``config`` when the encoder has no folder (its weights are tied in afterwards)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the load report lists the decoder's new weights: expected here
    hf_logging.disable_progress_bar()
    try:
        if folder is None:
            return auto_class.from_config(config).eval()  # in eval mode, as from_pretrained leaves a model
        return auto_class.from_pretrained(folder, config=config)
    except ValueError as e:
        raise InputError(
            f"DenoisingAutoEncoderLoss: {config.model_type} has no causal language model class for a decoder "
            f"({e}); pick a decoder (decoder_name_or_path=..., tie_encoder_decoder=False)."
        ) from e
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _tie(encoder: nn.Module, decoder: nn.Module) -> None:
    """Share the weights the encoder and the decoder's base model both have: each encoder module takes the
    decoder's parameter (so the language-model head, tied to the decoder's embeddings, stays tied), after the
    parameter takes the encoder's current values."""
    modules = dict(encoder.named_modules())
    tied = 0
    for name, parameter in decoder.named_parameters():
        module_name, _, attribute = name.rpartition(".")
        module = modules.get(module_name)
        current = getattr(module, attribute, None) if module is not None else None
        if not isinstance(current, torch.Tensor) or current.shape != parameter.shape:
            continue
        with torch.no_grad():
            parameter.copy_(current)
        setattr(module, attribute, parameter)
        tied += 1
    if not tied:
        raise InputError(
            "DenoisingAutoEncoderLoss: the decoder shares no weights with the encoder; are they the same "
            "architecture? Pass tie_encoder_decoder=False with a decoder."
        )
