"""``SentenceTransformer.old_fit`` and ``CrossEncoder.old_fit``: sentence-transformers' training loop from
before v3 / v4, which it keeps for scripts that depend on it (``model.old_fit(train_objectives=...)``,
``model.old_fit(train_dataloader=...)``). Same data, same torch seed, same calls: the same weights, the
same evaluation scores handed to the callback, the same best model and checkpoints on disk."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _module(library, name):
    return importlib.import_module(f"{library.__name__}.{name}")


def old_fitted(library, folder, out, **options):
    """Two objectives (10 and 3 batches a pass) for two epochs of the shorter's length, with an evaluator
    every 2 steps, its scores recorded, the best model saved and checkpoints kept."""
    from torch.utils.data import DataLoader

    losses = _module(library, "sentence_transformer.losses")
    evaluation = _module(library, "sentence_transformer.evaluation")
    model = library.SentenceTransformer(str(folder), device="cpu")
    pairs = [library.InputExample(texts=[WORDS[i % 12], WORDS[(i + 3) % 12]]) for i in range(20)]
    scored = [library.InputExample(texts=[WORDS[i], WORDS[-i - 1]], label=i / 11) for i in range(12)]
    evaluator = evaluation.EmbeddingSimilarityEvaluator(
        WORDS[:6], WORDS[6:], [0.1, 0.9, 0.3, 0.7, 0.5, 0.2], name="sts"
    )
    calls = []
    torch.manual_seed(0)  # the shuffling loaders draw their order from torch's global generator
    objectives = [
        (DataLoader(pairs, shuffle=True, batch_size=2), losses.MultipleNegativesRankingLoss(model)),
        (DataLoader(scored, shuffle=True, batch_size=4), losses.CosineSimilarityLoss(model)),
    ]
    model.old_fit(
        train_objectives=objectives,
        evaluator=evaluator,
        epochs=2,
        steps_per_epoch=5,  # the second loader restarts (a new shuffle) within each epoch
        warmup_steps=2,
        optimizer_params={"lr": 1e-3},
        evaluation_steps=2,
        output_path=str(out / "best"),
        callback=lambda score, epoch, steps: calls.append((round(score, 6), epoch, steps)),
        show_progress_bar=False,
        checkpoint_path=str(out / "checkpoints"),
        checkpoint_save_steps=3,
        checkpoint_save_total_limit=2,
        **options,
    )
    return model, calls


@pytest.mark.parametrize(
    "options",
    [{}, {"scheduler": "WarmupCosine", "weight_decay": 0.5}],
    ids=["linear", "cosine"],
)
def test_old_fit_gives_sentence_transformers_weights_scores_and_folders(dropout_free_st, tmp_path, options):
    import sentence_transformers

    before = sentence_transformers.SentenceTransformer(str(dropout_free_st), device="cpu").encode(WORDS)
    theirs, their_calls = old_fitted(sentence_transformers, dropout_free_st, tmp_path / "st", **options)
    ours, our_calls = old_fitted(sbert, dropout_free_st, tmp_path / "sbert", **options)
    trained = theirs.encode(WORDS)
    assert np.abs(trained - before).max() > 1e-2  # it trained
    np.testing.assert_allclose(ours.encode(WORDS), trained, atol=1e-5, rtol=0)
    assert (
        [c[1:] for c in our_calls]
        == [c[1:] for c in their_calls]
        == [(0, 2), (0, 4), (0, -1), (1, 2), (1, 4), (1, -1)]
    )
    np.testing.assert_allclose([c[0] for c in our_calls], [c[0] for c in their_calls], atol=1e-5)
    assert ours.best_score == pytest.approx(theirs.best_score, abs=1e-5)
    for name in ("st", "sbert"):  # steps 3, 6, 9 and the final 10 saved; the oldest beyond two removed
        assert sorted(p.name for p in (tmp_path / name / "checkpoints").iterdir()) == ["10", "9"]
        assert (tmp_path / name / "best" / "eval" / "similarity_evaluation_sts_results.csv").is_file()
    best = [
        sentence_transformers.SentenceTransformer(str(tmp_path / n / "best")).encode(WORDS)
        for n in ("st", "sbert")
    ]
    np.testing.assert_allclose(best[1], best[0], atol=1e-5, rtol=0)


def test_old_fit_use_amp_runs_the_losses_under_autocast_as_sentence_transformers(dropout_free_st, tmp_path):
    """With ``use_amp`` the whole loss runs under autocast (bf16 on a CPU) and a gradient scaler steps: the
    weights then differ from sentence-transformers' by bf16 rounding of different kernels (about 2e-3), so
    what is compared is where autocast is on, and that training happened."""
    import sentence_transformers
    from torch.utils.data import DataLoader

    seen = {}
    for library in (sentence_transformers, sbert):
        losses = _module(library, "sentence_transformer.losses")
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        inner = losses.MultipleNegativesRankingLoss(model)

        class Watched(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner, self.autocast = inner, []

            def forward(self, features, labels):
                self.autocast.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
                return self.inner(features, labels)

        loss = Watched(inner)
        pairs = [library.InputExample(texts=[WORDS[i], WORDS[(i + 3) % 12]]) for i in range(12)]
        before = model.encode(WORDS)
        model.old_fit(
            [(DataLoader(pairs, batch_size=4), loss)],
            warmup_steps=1,
            optimizer_params={"lr": 1e-3},
            use_amp=True,
            show_progress_bar=False,
        )
        assert np.abs(model.encode(WORDS) - before).max() > 1e-2
        seen[library.__name__] = loss.autocast
    assert seen["sbert"] == seen["sentence_transformers"] == [(True, torch.bfloat16)] * 3


def test_old_fit_refuses_an_unknown_scheduler_as_a_value_error(dropout_free_st, tmp_path):
    with pytest.raises(ValueError, match="Unknown scheduler 'Warmup'"):
        old_fitted(sbert, dropout_free_st, tmp_path, scheduler="Warmup")


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    root = tmp_path_factory.mktemp("old_fit_classifiers")
    return {n: build_tiny_classifier(root / f"labels{n}", num_labels=n, seed=n) for n in (1, 3)}


def cross_old_fitted(library, folder, out, num_labels, **options):
    from torch.utils.data import DataLoader

    evaluation = _module(library, "cross_encoder.evaluation")
    model = library.CrossEncoder(str(folder), device="cpu")
    label = (lambda i: float(i % 2)) if num_labels == 1 else (lambda i: i % 3)
    examples = [library.InputExample(texts=[WORDS[i], WORDS[-i - 1]], label=label(i)) for i in range(12)]
    pairs = [[WORDS[i], WORDS[-i - 1]] for i in range(6)]
    evaluator = (
        evaluation.CrossEncoderCorrelationEvaluator(pairs, [0.1, 0.9, 0.3, 0.7, 0.5, 0.2], name="pairs")
        if num_labels == 1
        else evaluation.CrossEncoderClassificationEvaluator(pairs, [0, 1, 2, 0, 1, 2], name="pairs")
    )
    calls = []
    torch.manual_seed(0)
    model.old_fit(
        train_dataloader=DataLoader(examples, shuffle=True, batch_size=4),
        evaluator=evaluator,
        epochs=2,
        warmup_steps=2,
        optimizer_params={"lr": 1e-2},
        evaluation_steps=2,
        output_path=str(out / "best"),
        callback=lambda score, epoch, steps: calls.append((score, epoch, steps)),
        show_progress_bar=False,
        **options,
    )
    return model, calls


@pytest.mark.parametrize("num_labels", [1, 3])
def test_cross_encoder_old_fit_gives_sentence_transformers_weights_and_scores(
    classifiers, tmp_path, num_labels
):
    import sentence_transformers

    folder = classifiers[num_labels]
    pairs = [[WORDS[i], WORDS[(i + 5) % 12]] for i in range(12)]
    before = sentence_transformers.CrossEncoder(str(folder), device="cpu").predict(pairs)
    theirs, their_calls = cross_old_fitted(sentence_transformers, folder, tmp_path / "st", num_labels)
    ours, our_calls = cross_old_fitted(sbert, folder, tmp_path / "sbert", num_labels)
    trained = theirs.predict(pairs)
    assert np.abs(trained - before).max() > 1e-2
    np.testing.assert_allclose(ours.predict(pairs), trained, atol=1e-5, rtol=0)
    # the CrossEncoder loop hands the callback the evaluator's whole result dict
    assert [c[1:] for c in our_calls] == [c[1:] for c in their_calls] == [(0, 2), (0, -1), (1, 2), (1, -1)]
    for (ours_dict, *_), (theirs_dict, *_) in zip(our_calls, their_calls):
        assert ours_dict.keys() == theirs_dict.keys()
        np.testing.assert_allclose(list(ours_dict.values()), list(theirs_dict.values()), atol=1e-5)
    saved = [
        sentence_transformers.CrossEncoder(str(tmp_path / n / "best")).predict(pairs) for n in ("st", "sbert")
    ]
    np.testing.assert_allclose(saved[1], saved[0], atol=1e-5, rtol=0)


def test_cross_encoder_old_fit_with_an_activation_and_a_loss_of_the_callers(classifiers, tmp_path):
    import sentence_transformers

    options = {"activation_fct": torch.nn.Sigmoid(), "loss_fct": torch.nn.MSELoss()}
    pairs = [[WORDS[i], WORDS[(i + 5) % 12]] for i in range(12)]
    results = [
        cross_old_fitted(lib, classifiers[1], tmp_path / lib.__name__, 1, **options)[0].predict(pairs)
        for lib in (sentence_transformers, sbert)
    ]
    np.testing.assert_allclose(results[1], results[0], atol=1e-5, rtol=0)


def test_a_users_module_around_a_loss_reaches_the_models_weights_and_training_mode(tiny_st_factory):
    """Code that wraps a loss in its own ``nn.Module`` (and optimizes, moves or switches that) sees the
    model inside it as sentence-transformers' loss holds it: its first submodule, named ``model``."""
    import sentence_transformers
    from conftest import classic_pooling

    folder = str(tiny_st_factory(classic_pooling(32, "mean")))  # with dropout
    seen = []
    for library in (sentence_transformers, sbert):
        losses = _module(library, "sentence_transformer.losses")
        model = library.SentenceTransformer(folder, device="cpu")
        model.encode(WORDS)  # sbert: backend "auto" runs the ONNX graph until the torch modules are asked for
        wrapper = torch.nn.Sequential(losses.MultipleNegativesRankingLoss(model))
        names = [name for name, _ in wrapper.named_parameters()]
        features, _ = model.smart_batching_collate([library.InputExample(texts=[w, w]) for w in WORDS[:4]])
        wrapper.train()
        first, second = (model(dict(features[0]))["sentence_embedding"] for _ in range(2))
        dropout_active = not torch.equal(first, second)
        wrapper.eval()
        with torch.no_grad():
            first, second = (model(dict(features[0]))["sentence_embedding"] for _ in range(2))
        seen.append((len(names), names[0].split(".")[:2], dropout_active, torch.equal(first, second)))
    assert seen[1] == seen[0] == (seen[0][0], ["0", "model"], True, True)
