"""Session 44's side-by-side checks of the batch samplers against sentence-transformers 6.3 (/tmp/s44/samplers
fuzzed the classes on datasets and all three trainers): the differences it found, each checked against
sentence-transformers run here."""

from __future__ import annotations

import logging

import pytest
import torch


def _both():
    import sentence_transformers.base.sampler as theirs

    import sbert.base.sampler as ours

    return ours, theirs


def _error(make):
    try:
        make()
    except Exception as error:  # the error is what is compared
        return error
    raise AssertionError("no error raised")


@pytest.mark.parametrize("label", [["a", "b"], {"x": 1}])
def test_a_label_column_of_lists_or_dicts_is_a_type_error_as_in_sentence_transformers(label):
    from datasets import Dataset

    ours, theirs = _both()
    data = Dataset.from_dict({"text": ["a", "b", "c", "d"], "label": [label] * 4})
    reference = _error(lambda: theirs.GroupByLabelBatchSampler(data, 4, False, ["label"]))
    mine = _error(lambda: ours.GroupByLabelBatchSampler(data, 4, False, ["label"]))
    assert isinstance(mine, type(reference))  # TypeError there (unhashable), still a ValueError here
    assert isinstance(mine, ValueError)


def _short_epochs(module, caplog, epochs=3):
    """Three epochs of a sampler that cannot fill its length: the records it logs, by logger name."""
    from datasets import Dataset

    data = Dataset.from_dict({"anchor": ["same"] * 6 + ["x", "y"], "positive": [f"p{i}" for i in range(8)]})
    sampler = module.NoDuplicatesBatchSampler(data, 2, True, generator=torch.Generator(), seed=0)
    caplog.clear()
    batches = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        batches.append(list(sampler))
    notices = [r for r in caplog.records if "NoDuplicatesBatchSampler" in r.getMessage()]
    return batches, [(r.name, r.levelno) for r in notices]


def test_the_no_duplicates_shortfall_notice_is_logged_once_on_sentence_transformers_logger(caplog):
    ours, theirs = _both()
    caplog.set_level(logging.WARNING)
    reference_batches, reference = _short_epochs(theirs, caplog)
    mine_batches, mine = _short_epochs(ours, caplog)
    assert [[list(map(int, b)) for b in e] for e in mine_batches] == [
        [list(map(int, b)) for b in e] for e in reference_batches
    ]
    # sentence-transformers logs each notice once per process (its warning_once), on its sampler's logger
    assert {name for name, _ in reference} <= {"sentence_transformers.base.sampler"}
    assert {name for name, _ in mine} <= {"sentence_transformers.base.sampler"}
    assert len(mine) <= 2  # once each (the pass's shortfall, the epoch's), not once per epoch


def test_precompute_hashes_sets_the_worker_count_as_sentence_transformers():
    from datasets import Dataset

    ours, theirs = _both()
    data = Dataset.from_dict({"anchor": [f"a{i}" for i in range(6)]})
    for options in ({"precompute_hashes": True}, {"precompute_hashes": True, "precompute_num_proc": 3}, {}):
        mine = ours.NoDuplicatesBatchSampler(data, 2, False, **options)
        reference = theirs.NoDuplicatesBatchSampler(data, 2, False, **options)
        assert mine.precompute_num_proc == reference.precompute_num_proc, options
