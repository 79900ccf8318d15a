"""Pooling side by side with sentence-transformers 6.3 (its tests/modules/test_pooling.py as a checklist): the
word-weighted path (WordWeights' ``token_weights_sum``) for every mode, with and without the prompt, the
classic ``pooling_mode_*`` flags' FutureWarning, the older ``word_embedding_dimension`` notice and the
invalid-mode error."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch

import sbert.models as sb

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from sentence_transformers.sentence_transformer.modules import Pooling as StPooling

MODES = list(StPooling.POOLING_MODES)
MASK = torch.tensor([[0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 0, 0]])


def _features(dtype, weights_dtype, seed):
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randn(4, 5, 3, generator=generator).to(dtype)
    weights = (torch.rand(4, generator=generator) * 3).to(weights_dtype)
    features = {"token_embeddings": tokens, "attention_mask": MASK, "token_weights_sum": weights}
    return {**features, "prompt_length": 1}


@pytest.mark.parametrize("mode", [*MODES, tuple(MODES)], ids=[*MODES, "all"])
@pytest.mark.parametrize("include_prompt", [True, False])
@pytest.mark.parametrize(
    ("dtype", "weights_dtype"),
    [(torch.float32, torch.float32), (torch.float16, torch.float32), (torch.float32, torch.float64)],
    ids=["fp32", "fp16", "fp64-weights"],
)
def test_word_weighted_pooling_matches_sentence_transformers(mode, include_prompt, dtype, weights_dtype):
    """After WordWeights, weightedmean divides by the word weights too, and include_prompt=False leaves the
    prompt out of every mode, as there."""
    ref = StPooling(3, mode, include_prompt)(_features(dtype, weights_dtype, 0))["sentence_embedding"]
    ours = sb.Pooling(3, mode, include_prompt)(_features(dtype, weights_dtype, 0))["sentence_embedding"]
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    torch.testing.assert_close(ours, ref, rtol=1e-3, atol=1e-3, equal_nan=True)


@pytest.mark.parametrize(
    "flags",
    [
        {"pooling_mode_cls_token": True},
        {"pooling_mode_max_tokens": True, "pooling_mode_cls_token": True},
        {"pooling_mode_mean_tokens": False},
    ],
)
def test_classic_flags_warn_as_in_sentence_transformers(flags):
    with pytest.warns(FutureWarning) as theirs:
        ref = StPooling(3, **flags)
    with pytest.warns(FutureWarning) as ours:
        pooling = sb.Pooling(3, **flags)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert pooling.pooling_mode == ref.pooling_mode
    assert {w.filename for w in ours} == {__file__}  # at the caller's line


def test_older_dimension_keyword_is_logged_as_in_sentence_transformers(caplog):
    from sbert._errors import _LOGGED  # the once-per-process record

    # ST logs it through transformers' warning_once (an lru_cache on Logger): a module that ran earlier in
    # this worker may have logged it already
    logging.Logger.warning_once.cache_clear()
    with caplog.at_level(logging.WARNING):
        StPooling(word_embedding_dimension=3)
    theirs = [(r.name, r.getMessage()) for r in caplog.records]
    caplog.clear()
    _LOGGED.discard(("sentence_transformers.util.decorators", theirs[0][1]))
    with caplog.at_level(logging.WARNING):
        pooling = sb.Pooling(word_embedding_dimension=3)
    assert [(r.name, r.getMessage()) for r in caplog.records] == theirs
    assert pooling.get_embedding_dimension() == 3


@pytest.mark.parametrize("mode", ["bogus", ("mean", "MEAN")])
def test_invalid_mode_error_matches_sentence_transformers(mode):
    with pytest.raises(ValueError) as theirs:
        StPooling(3, mode)
    with pytest.raises(ValueError) as ours:
        sb.Pooling(3, mode)
    assert str(ours.value) == str(theirs.value)


def _router_libraries(reference: bool) -> dict:
    if reference:
        import sentence_transformers as top
        from sentence_transformers.base.modules import Router
        from sentence_transformers.sentence_transformer import losses, modules
    else:
        import sbert as top
        from sbert import losses
        from sbert import models as modules
        from sbert.models import Router
    return {
        "SentenceTransformer": top.SentenceTransformer,
        "SentenceTransformerTrainer": top.SentenceTransformerTrainer,
        "Arguments": top.SentenceTransformerTrainingArguments,
        "MultipleNegativesRankingLoss": losses.MultipleNegativesRankingLoss,
        "Router": Router,
        "StaticEmbedding": modules.StaticEmbedding,
    }


class _RouteTrace(torch.nn.ModuleDict):
    """sentence-transformers' own test double: records every route the Router looks up."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks = []

    def get(self, key, default=None):
        self.tasks.append(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.tasks.append(key)
        return super().__getitem__(key)


def _train_static_router(reference: bool, tokenizer, weights, folder):
    from datasets import Dataset

    lib = _router_libraries(reference)
    embedding = lib["StaticEmbedding"](tokenizer, embedding_weights=weights.clone())
    router = lib["Router"]({"query": [embedding], "document": [embedding]}, allow_empty_key=False)
    model = lib["SentenceTransformer"](modules=[router], device="cpu")
    model.model_card_data.generate_widget_examples = False
    trace = _RouteTrace(router.sub_modules)
    router.sub_modules = trace
    losses = []

    class Recording(lib["MultipleNegativesRankingLoss"]):
        def forward(self, features, labels=None):
            loss = super().forward(features, labels)
            losses.append(loss.item())
            return loss

    data = Dataset.from_dict(
        {
            "question": ["what is the capital", "which ocean is largest", "who plays guitar", "is she happy"],
            "answer": ["paris is the capital", "the pacific ocean", "a man plays guitar", "she is happy"],
        }
    )
    args = lib["Arguments"](
        output_dir=str(folder / "run"),
        router_mapping={"question": "query", "answer": "document"},
        per_device_train_batch_size=2,
        learning_rate=1e-2,
        seed=5,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        use_cpu=True,
    )
    trace.tasks.clear()
    loss = Recording(model)
    lib["SentenceTransformerTrainer"](model=model, train_dataset=data, loss=loss, args=args).train()
    model.save(str(folder / "saved"))
    return losses, list(trace.tasks)


def test_static_router_trains_saves_and_cross_loads_as_sentence_transformers(tmp_path):
    """sentence-transformers' test_router_with_trainer (one StaticEmbedding in both routes, router_mapping):
    the same per-step losses, the same route lookups, and each saved folder encodes alike in both
    libraries."""
    import numpy as np
    import sentence_transformers as st
    from conftest import build_tiny_bert
    from tokenizers import Tokenizer

    import sbert

    tokenizer = Tokenizer.from_file(str(build_tiny_bert(tmp_path / "bert") / "tokenizer.json"))
    weights = torch.randn(tokenizer.get_vocab_size(), 16, generator=torch.Generator().manual_seed(0))
    theirs = _train_static_router(True, tokenizer, weights, tmp_path / "st")
    ours = _train_static_router(False, tokenizer, weights, tmp_path / "sb")
    assert len(ours[0]) == len(theirs[0]) == 6
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)
    assert ours[1] == theirs[1] and ours[1][:4] == ["query", "document"] * 2
    texts = ["what is the capital", "the ocean is big"]
    for saved in (tmp_path / "st" / "saved", tmp_path / "sb" / "saved"):
        ref, model = st.SentenceTransformer(str(saved), device="cpu"), sbert.SentenceTransformer(str(saved))
        for method in ("encode_query", "encode_document"):
            np.testing.assert_allclose(getattr(model, method)(texts), getattr(ref, method)(texts), atol=1e-6)
