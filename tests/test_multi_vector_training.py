"""MultiVectorEncoder training as sentence-transformers 6.3 trains it: the scoring functions of
``multi_vector_encoder.scoring`` give its values (1e-6) on random padded token embeddings with masks;
MultiVectorEncoderTrainer with each multi-vector loss logs the same losses (1e-5) and ends with the same
weights (1e-5) as its MultiVectorEncoderTrainer on the same data, arguments and seed (dropout off), and the
saved model loads there with the same outputs (1e-5); the default loss, the data collator and the public
paths are its."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert, without_dropout

import sbert
from sbert import InputError

TOL = 1e-5
WORDS = (
    "the cat sat on mat a dog ran in house he drove to stadium weather is lovely today sunny outside".split()
)


# ------------------------------------------------------------------ scoring


def _embeddings(seed=0, queries=3, per_query=2, query_tokens=5, document_tokens=7, dim=8):
    """Random padded token embeddings (padding rows zero) and their masks (a real token in each text)."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(queries, query_tokens, dim, generator=g)
    d = torch.randn(queries, per_query, document_tokens, dim, generator=g)
    q_mask = torch.rand(queries, query_tokens, generator=g) > 0.3
    d_mask = torch.rand(queries, per_query, document_tokens, generator=g) > 0.3
    q_mask[:, 0] = d_mask[..., 0] = True
    return q * q_mask[..., None], d * d_mask[..., None], q_mask, d_mask


GROUPED = ["colbert_scores", "mean_colbert_scores", "colbert_kd_scores", "mean_colbert_kd_scores"]
PAIRWISE = ["colbert_scores_pairwise", "mean_colbert_scores_pairwise"]


@pytest.mark.parametrize("masks", [True, False])
@pytest.mark.parametrize("name", GROUPED + PAIRWISE)
def test_colbert_scores_equal_sentence_transformers(name, masks):
    """Every ColBERT scoring function, with masks and without (zero rows are padding), as there (1e-6)."""
    from sentence_transformers.multi_vector_encoder import scoring as reference

    from sbert.multi_vector_encoder import scoring

    q, d, q_mask, d_mask = _embeddings()
    if name in PAIRWISE:
        d, d_mask = d[:, 0], d_mask[:, 0]
    given = (q_mask, d_mask) if masks else (None, None)
    expected = getattr(reference, name)(q, d, *given)
    got = getattr(scoring, name)(q, d, *given)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    # the unnormalized and normalized versions differ
    assert (
        not torch.allclose(got, getattr(scoring, name.replace("mean_", ""))(q, d, *given))
        or "mean" not in name
    )


@pytest.mark.parametrize(("top_k", "chunk_elements"), [(1, None), (3, 50), (256, None)])
def test_xtr_scores_equal_sentence_transformers(top_k, chunk_elements):
    """xtr_scores, xtr_kd_scores, xtr_scores_pairwise and the configured XTRScores / XTRKDScores, with and
    without masks, as there (1e-6); a document without a real token scores -1e9 there and here."""
    from sentence_transformers.multi_vector_encoder import scoring as reference

    from sbert.multi_vector_encoder import scoring

    q, d, q_mask, d_mask = _embeddings(seed=1)
    d_mask[1, 1] = False  # an empty document
    d = d * d_mask[..., None]
    for given in [(q_mask, d_mask), (None, None)]:
        for name in ("xtr_scores", "xtr_kd_scores"):
            expected = getattr(reference, name)(q, d, *given, top_k=top_k, chunk_elements=chunk_elements)
            got = getattr(scoring, name)(q, d, *given, top_k=top_k, chunk_elements=chunk_elements)
            torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
        expected = reference.xtr_scores_pairwise(q, d[:, 0], q_mask, d_mask[:, 0], top_k=top_k)
        torch.testing.assert_close(
            scoring.xtr_scores_pairwise(q, d[:, 0], q_mask, d_mask[:, 0], top_k=top_k),
            expected,
            atol=1e-6,
            rtol=0,
        )
    torch.testing.assert_close(
        scoring.XTRKDScores(top_k)(q, d, q_mask, d_mask), reference.XTRKDScores(top_k)(q, d, q_mask, d_mask)
    )
    assert scoring.XTRScores(top_k).get_config_dict() == reference.XTRScores(top_k).get_config_dict()
    assert scoring.colbert_scores(q, d, q_mask, d_mask)[0, 3].item() == -1e9
    with pytest.raises(InputError, match="top_k"):
        scoring.xtr_scores(q, d, top_k=0)


# ------------------------------------------------------------------ training


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """sentence-transformers' MultiVectorEncoder around a tiny dropout-free BERT (its default pipeline:
    a random 128-wide token projection, MultiVectorMask, Normalize), saved."""
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("mv-training")
    bert = without_dropout(build_tiny_bert(root / "bert"))
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(root / "model"))
    return root / "model"


def _texts(n, seed):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(2, 8))) for _ in range(n)]


ROWS = 8
QUERIES, POSITIVES, NEGATIVES, MORE = (_texts(ROWS, seed) for seed in range(4))
SCORES = np.random.default_rng(9).normal(size=(ROWS, 3)).round(3).tolist()
# case -> (columns, loss factory (losses, scoring, model) -> loss, extra training arguments)
CASES = {
    "mnrl": (
        {"query": QUERIES, "positive": POSITIVES, "negative": NEGATIVES},
        lambda L, S, m: L.MultiVectorMultipleNegativesRankingLoss(m, scale=2.0),
        {"max_length": {"document": 6}},
    ),
    "matryoshka-cached": (
        {"query": QUERIES, "positive": POSITIVES},
        lambda L, S, m: L.MultiVectorMatryoshkaLoss(
            m, L.CachedMultiVectorMultipleNegativesRankingLoss(m, mini_batch_size=3), [128, 16]
        ),
        {},
    ),
    "margin-mse-xtr": (
        {"query": QUERIES, "positive": POSITIVES, "negative": NEGATIVES, "score": [s[0] for s in SCORES]},
        lambda L, S, m: L.MultiVectorMarginMSELoss(m, similarity_fct=partial(S.xtr_scores_pairwise, top_k=6)),
        {},
    ),
    "matryoshka-distill-kl": (
        {"query": QUERIES, "d1": POSITIVES, "d2": NEGATIVES, "d3": MORE, "scores": SCORES},
        lambda L, S, m: L.MultiVectorMatryoshkaLoss(
            m, L.MultiVectorDistillKLDivLoss(m, temperature=2.0), [128, 32]
        ),
        {},
    ),
    "token-pooling": (
        {"query": QUERIES, "positive": POSITIVES},
        lambda L, S, m: L.MultiVectorTokenPoolingLoss(
            m,
            L.MultiVectorMultipleNegativesRankingLoss(m),
            [None, _pooling_class(L)(pool_factor=2)],
            weights=[1.0, 0.5],
        ),
        {},
    ),
    "token-pooling-cached": (  # the variants pool the cached embeddings
        {"query": QUERIES, "positive": POSITIVES, "negative": NEGATIVES},
        lambda L, S, m: L.MultiVectorTokenPoolingLoss(
            m,
            L.CachedMultiVectorMultipleNegativesRankingLoss(m, mini_batch_size=3),
            [None, _pooling_class(L)(pool_factor=2)],
            weights=[1.0, 0.5],
        ),
        {},
    ),
    "token-pooling-matryoshka-cached": (  # pooled, then truncated (the wrapped Matryoshka)
        {"query": QUERIES, "positive": POSITIVES},
        lambda L, S, m: L.MultiVectorTokenPoolingLoss(
            m,
            L.MultiVectorMatryoshkaLoss(
                m, L.CachedMultiVectorMultipleNegativesRankingLoss(m, mini_batch_size=3), [128, 16]
            ),
            [None, _pooling_class(L)(pool_factor=2), _pooling_class(L)(pool_factor=3)],
        ),
        {},
    ),
}


def _pooling_class(losses_module):
    """HierarchicalTokenPooling of the library whose losses module this is."""
    import importlib

    package = losses_module.__name__.rsplit(".", 1)[0]
    return importlib.import_module(f"{package}.modules").HierarchicalTokenPooling


def _train(library, folder, out, case):
    from datasets import Dataset
    from transformers import TrainerCallback

    if library == "st":
        import sentence_transformers.multi_vector_encoder as namespace
        from sentence_transformers.multi_vector_encoder import losses, scoring
    else:
        import sbert.multi_vector_encoder as namespace
        from sbert.multi_vector_encoder import losses, scoring

    class Record(TrainerCallback):
        def __init__(self):
            self.losses = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            if "loss" in logs:
                self.losses.append(logs["loss"])

    columns, make_loss, extra = CASES[case]
    model = namespace.MultiVectorEncoder(str(folder), device="cpu")
    record = Record()
    args = namespace.MultiVectorEncoderTrainingArguments(
        str(out),
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        max_steps=2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=3,
        disable_tqdm=True,
        **extra,
    )
    trainer = namespace.MultiVectorEncoderTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict(columns),
        loss=make_loss(losses, scoring, model),
        callbacks=[record],
    )
    trainer.train()
    return model, record.losses


@pytest.mark.parametrize("case", list(CASES))
def test_training_equals_sentence_transformers_trainer(folder, tmp_path, case):
    """Each loss (a cached one, XTR scores and Matryoshka among them), trained 2 steps by both trainers:
    every logged loss (1e-5) and every weight (1e-5), which moved well beyond that; saved,
    sentence-transformers loads the model and encodes as ours (1e-5)."""
    reference, theirs = _train("st", folder, tmp_path / "st", case)
    model, ours = _train("ours", folder, tmp_path / "ours", case)
    assert len(ours) == len(theirs) == 2
    np.testing.assert_allclose(ours, theirs, atol=TOL, rtol=0)
    their_weights = reference.state_dict()
    our_weights = model.state_dict()
    assert our_weights.keys() == their_weights.keys()
    initial = sbert.MultiVectorEncoder(str(folder), device="cpu").state_dict()
    moved = 0.0
    for name, value in our_weights.items():
        torch.testing.assert_close(value, their_weights[name], atol=TOL, rtol=0, msg=name)
        moved = max(moved, float((value - initial[name]).abs().max()))
    assert moved > 1e-3
    if case == "mnrl":
        from sentence_transformers import MultiVectorEncoder as Reference

        model.save(str(tmp_path / "saved"))
        loaded = Reference(str(tmp_path / "saved"), device="cpu")
        for ours_, theirs_ in zip(model.encode_query(QUERIES[:3]), loaded.encode_query(QUERIES[:3])):
            torch.testing.assert_close(ours_, theirs_, atol=TOL, rtol=0)


def test_default_loss_arguments_and_collator_as_sentence_transformers(folder, tmp_path):
    """Without a loss the trainer trains with MultiVectorMultipleNegativesRankingLoss; the arguments take
    max_length (an int or a dict by task) and refuse others; the data collator gives the batch of
    sentence-transformers' (column 0 the query, the others documents, router_mapping over both)."""
    from datasets import Dataset
    from sentence_transformers.multi_vector_encoder import MultiVectorEncoderDataCollator as Reference

    from sbert.multi_vector_encoder import (
        MultiVectorEncoderDataCollator,
        MultiVectorEncoderTrainer,
        MultiVectorEncoderTrainingArguments,
    )
    from sbert.multi_vector_encoder.losses import MultiVectorMultipleNegativesRankingLoss

    model = sbert.MultiVectorEncoder(str(folder), device="cpu")
    args = MultiVectorEncoderTrainingArguments(str(tmp_path), max_length=5, report_to="none")
    assert args.max_length == 5 and args.to_dict()["max_length"] == 5
    data = Dataset.from_dict({"query": QUERIES[:4], "positive": POSITIVES[:4]})
    trainer = MultiVectorEncoderTrainer(model=model, args=args, train_dataset=data)
    assert type(trainer.losses[0]) is MultiVectorMultipleNegativesRankingLoss
    for bad in (0, {"query": -1}, "32"):
        with pytest.raises(InputError, match="max_length"):
            MultiVectorEncoderTrainingArguments(str(tmp_path), max_length=bad)
    rows = [{"q": q, "p": p, "label": 1.0} for q, p in zip(QUERIES[:3], POSITIVES[:3])]
    for options in ({}, {"router_mapping": {"p": "query"}, "max_length": {"query": 4}, "prompts": "x: "}):
        ours = MultiVectorEncoderDataCollator(model.preprocess, **options)(rows)
        theirs = Reference(model.preprocess, **options)(rows)
        assert ours.keys() == theirs.keys()
        for key, value in theirs.items():
            assert torch.equal(ours[key], value) if torch.is_tensor(value) else ours[key] == value, key


def test_trainer_loss_and_top_level_names_as_sentence_transformers(folder, tmp_path):
    """``from sbert import MultiVectorEncoderTrainer, MultiVectorEncoderTrainingArguments`` works as from
    sentence_transformers (both in ``__all__``); ``trainer.loss`` is the loss (the default one without a
    loss), or the dict of losses by dataset name, as sentence-transformers' trainer.loss."""
    import sentence_transformers as st
    from datasets import Dataset, DatasetDict

    for name in ("MultiVectorEncoderTrainer", "MultiVectorEncoderTrainingArguments"):
        assert name in st.__all__ and name in sbert.__all__
        assert getattr(sbert, name) is getattr(sbert.multi_vector_encoder, name)
    data = Dataset.from_dict({"query": QUERIES[:4], "positive": POSITIVES[:4]})
    for library, path in ((sbert, str(folder)), (st, str(folder))):
        model = library.MultiVectorEncoder(path, device="cpu")
        args = library.MultiVectorEncoderTrainingArguments(str(tmp_path / library.__name__), report_to="none")
        trainer = library.MultiVectorEncoderTrainer(model=model, args=args, train_dataset=data)
        assert type(trainer.loss).__name__ == "MultiVectorMultipleNegativesRankingLoss"
        cached = library.multi_vector_encoder.losses.CachedMultiVectorMultipleNegativesRankingLoss(model)
        losses = {"a": cached, "b": trainer.loss}
        trainer = library.MultiVectorEncoderTrainer(
            model=model, args=args, train_dataset=DatasetDict(a=data, b=data), loss=losses
        )
        assert trainer.loss == losses


def test_public_paths_as_sentence_transformers():
    """sentence-transformers' names and file paths of multi-vector training import from sbert, without torch
    until used."""
    import importlib

    import sentence_transformers.multi_vector_encoder.losses as reference_losses
    import sentence_transformers.multi_vector_encoder.scoring as reference_scoring

    from sbert.multi_vector_encoder import losses, scoring

    assert set(reference_losses.__all__) <= set(losses.__all__)
    assert set(scoring.__all__) == set(reference_scoring.__all__)
    for path, name in [
        ("losses.multiple_negatives_ranking", "MultiVectorMultipleNegativesRankingLoss"),
        ("losses.cached_multiple_negatives_ranking", "CachedMultiVectorMultipleNegativesRankingLoss"),
        ("losses.margin_mse", "MultiVectorMarginMSELoss"),
        ("losses.distill_kl_div", "MultiVectorDistillKLDivLoss"),
        ("losses.matryoshka", "MultiVectorMatryoshkaLoss"),
        ("losses.token_pooling", "MultiVectorTokenPoolingLoss"),
        ("scoring.colbert", "colbert_kd_scores"),
        ("scoring.xtr", "XTRScores"),
        ("trainer", "MultiVectorEncoderTrainer"),
        ("training_args", "MultiVectorEncoderTrainingArguments"),
        ("data_collator", "MultiVectorEncoderDataCollator"),
    ]:
        module = importlib.import_module(f"sbert.multi_vector_encoder.{path}")
        assert getattr(module, name) is getattr(sbert.multi_vector_encoder, path.split(".")[0]).__getattr__(
            name
        )


def _override_run(library, folder, out):
    """A MultiVectorEncoderTrainer subclass overriding compute_loss (half the default loss, via super()),
    trained 2 steps and evaluated; and the card data the trainer recorded when made."""
    from datasets import Dataset

    if library == "st":
        import sentence_transformers.multi_vector_encoder as namespace
    else:
        import sbert.multi_vector_encoder as namespace
    seen: dict = {"loss": [], "columns": [], "eval": []}

    class Halved(namespace.MultiVectorEncoderTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            features, _ = self.collect_features(inputs)
            shapes = [
                {k: v if isinstance(v, str) else tuple(v.shape) for k, v in f.items()} for f in features
            ]
            seen["columns"].append([{k: v for k, v in s.items() if k != "modality"} for s in shapes])
            out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            loss = out[0] if return_outputs else out
            seen["eval" if return_outputs else "loss"].append(loss.detach().item())
            return (loss * 0.5, {}) if return_outputs else loss * 0.5

    model = namespace.MultiVectorEncoder(str(folder), device="cpu")
    data = Dataset.from_dict({"query": QUERIES, "positive": POSITIVES})
    args = namespace.MultiVectorEncoderTrainingArguments(
        str(out), max_steps=2, per_device_train_batch_size=4, per_device_eval_batch_size=4,
        learning_rate=1e-3, logging_steps=1, save_strategy="no", disable_tqdm=True, seed=3, report_to="none",
    )  # fmt: skip
    trainer = Halved(model=model, args=args, train_dataset=data, eval_dataset=data)
    card = model.model_card_data
    keys = ("name", "split", "size", "columns", "examples")
    seen["card"] = (
        [{k: d.get(k) for k in keys} for d in card.train_datasets + card.eval_datasets],
        [
            t
            for t in card.tags
            if t not in ("sentence-transformers", "multi-vector", "colbert", "late-interaction")
        ],
    )
    trainer.train()
    seen["history"] = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    seen["evaluated"] = trainer.evaluate()["eval_loss"]
    seen["weights"] = {n: p.detach().clone() for n, p in model.named_parameters()}
    return seen


def test_compute_loss_override_and_card_data_as_sentence_transformers(folder, tmp_path):
    """A subclass's compute_loss gets sentence-transformers' collated batches (each column with its task) and
    what it returns (half the loss) is back-propagated and logged: the same losses, eval loss and weights
    as its trainer; the trainer, when made, recorded the datasets and loss tags in model_card_data as
    there."""
    theirs = _override_run("st", folder, tmp_path / "st")
    ours = _override_run("sbert", folder, tmp_path / "sbert")
    assert ours["card"] == theirs["card"]
    assert ours["columns"] == theirs["columns"]
    assert ours["loss"] == pytest.approx(theirs["loss"], abs=TOL)
    assert ours["eval"] == pytest.approx(theirs["eval"], abs=TOL)
    assert ours["history"] == pytest.approx([v / 2 for v in ours["loss"]], abs=1e-6)
    assert ours["history"] == pytest.approx(theirs["history"], abs=TOL)
    assert ours["evaluated"] == pytest.approx(theirs["evaluated"], abs=TOL)
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=TOL, rtol=0, msg=name)
