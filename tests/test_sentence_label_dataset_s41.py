"""sentence-transformers' ``SentenceLabelDataset(examples, samples_per_label=2, with_replacement=False)``: a
torch ``IterableDataset`` that groups the examples by label, drops the labels with fewer than
``samples_per_label`` examples (saying so in an INFO record), shuffles the labels with numpy's global
generator and yields ``samples_per_label`` examples of one label after another. Same examples and numpy
seed: the same sequence, length, records, DataLoader batches, and the same weights after a classic ``fit`` /
``old_fit`` with a batch triplet loss (setfit 0.7 trains so)."""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import sbert

WORDS = ["good movie", "great film", "bad movie", "awful film", "nice plot", "terrible plot", "lovely"]
WORDS += ["horrible", "fine acting", "dull acting", "a gem", "a mess", "so so", "meh", "ok", "boring"]
LABELS = [1, 1, 0, 0, 1, 0, 1, 0, 2, 2, 2, 3, 1, 4, 4, 0]  # counts 5, 5, 3, 1, 2


def label_dataset(library, seed, texts=WORDS, labels=LABELS, **options):
    datasets = importlib.import_module(f"{library.__name__}.sentence_transformer.datasets")
    examples = [library.InputExample(texts=[t], label=label) for t, label in zip(texts, labels)]
    np.random.seed(seed)  # the labels' order and each draw come from numpy's global generator
    return datasets.SentenceLabelDataset(examples, **options)


def seen(examples):
    return [(e.texts[0], e.label) for e in examples]


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("samples_per_label", [1, 2, 3])
@pytest.mark.parametrize("with_replacement", [False, True])
def test_yields_sentence_transformers_examples_in_its_order(seed, samples_per_label, with_replacement):
    import sentence_transformers

    options = {"samples_per_label": samples_per_label, "with_replacement": with_replacement}
    runs = []
    for library in (sentence_transformers, sbert):
        dataset = label_dataset(library, seed, **options)
        # two passes: the second draws on from where the first left numpy's generator
        runs.append((len(dataset), seen(dataset), seen(dataset), np.random.random()))
    assert runs[0] == runs[1]


def test_is_an_iterable_dataset_that_drops_rare_labels_and_logs_it(caplog):
    import sentence_transformers

    records = []
    for library in (sentence_transformers, sbert):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="sentence_transformers"):
            dataset = label_dataset(library, 0, samples_per_label=3)
        records.append([(r.name, r.levelname, r.getMessage()) for r in caplog.records])
        assert isinstance(dataset, torch.utils.data.IterableDataset)
        assert {label for _, label in seen(dataset)} == {0, 1, 2}  # labels 3 and 4 have too few examples
    assert records[0] == records[1] and len(records[0]) == 1
    ours, theirs = label_dataset(sbert, 0), label_dataset(sentence_transformers, 0)
    for name in ("samples_per_label", "with_replacement", "groups_right_border"):
        assert getattr(ours, name) == getattr(theirs, name)
    assert seen(ours.grouped_inputs) == seen(theirs.grouped_inputs)
    np.testing.assert_array_equal(ours.label_range, theirs.label_range)


@pytest.mark.parametrize("drop_last", [False, True])
def test_data_loader_batches_as_sentence_transformers(drop_last):
    import sentence_transformers
    from torch.utils.data import DataLoader

    runs = []
    for library in (sentence_transformers, sbert):
        dataset = label_dataset(library, 3, samples_per_label=3)  # 13 examples kept, 15 yielded
        loader = DataLoader(dataset, batch_size=4, shuffle=False, drop_last=drop_last, collate_fn=list)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            batches = [seen(batch) for batch in loader]  # torch warns: more fetched than its length
        with pytest.raises(ValueError) as refused:  # torch refuses to shuffle an IterableDataset
            DataLoader(dataset, batch_size=4, shuffle=True)
        runs.append((len(loader), batches, [str(w.message) for w in caught], str(refused.value)))
    assert runs[0] == runs[1]


def test_import_sbert_datasets_imports_no_torch():
    code = (
        "import sys, sbert, sbert.datasets; from sbert.datasets import NoDuplicatesDataLoader; "
        "from sbert import InputExample; assert 'torch' not in sys.modules, 'torch imported'; "
        "from sbert.datasets import SentenceLabelDataset; "
        "from sbert.sentence_transformer.datasets.sentence_label import SentenceLabelDataset as same; "
        "assert same is SentenceLabelDataset and 'torch' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def triplet_trained(library, folder, method):
    from torch.utils.data import DataLoader

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    distance = losses.BatchHardTripletLossDistanceFunction.cosine_distance
    model = library.SentenceTransformer(str(folder), device="cpu")
    torch.manual_seed(0)
    dataset = label_dataset(library, 0, samples_per_label=2)
    loader = DataLoader(dataset, batch_size=4, drop_last=True)
    loss = losses.BatchHardTripletLoss(model, distance_metric=distance, margin=0.25)
    getattr(model, method)(
        train_objectives=[(loader, loss)],
        epochs=2,
        optimizer_params={"lr": 1e-3},
        warmup_steps=1,
        show_progress_bar=False,
    )
    return model.encode(WORDS)


@pytest.mark.parametrize("method", ["fit", "old_fit"])
def test_classic_fit_with_batch_hard_triplets_gives_sentence_transformers_weights(
    dropout_free_st, method, recwarn
):
    import sentence_transformers

    before = sentence_transformers.SentenceTransformer(str(dropout_free_st), device="cpu").encode(WORDS)
    theirs = triplet_trained(sentence_transformers, dropout_free_st, method)
    ours = triplet_trained(sbert, dropout_free_st, method)
    assert np.abs(theirs - before).max() > 1e-2  # it trained
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
