"""Session 43, part 6: scenarios of sentence-transformers' trainer, training-args, fit and multi-process
tests, compared with sentence-transformers itself on tiny offline models."""

from __future__ import annotations

import pytest

import sbert


def _error(make):
    with pytest.raises(Exception) as info:
        make()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    ("query_prompts", "corpus_prompts"),
    [
        ({"scifact": "q: "}, {"nfcorpus": "d: "}),
        ({"scifact": "q: "}, "d: "),
        ("q: ", {"scifact": "d: "}),
        ({}, {}),
    ],
)
def test_nanobeir_missing_prompts_listed_together(query_prompts, corpus_prompts):
    """Missing query and corpus prompts are named in one ValueError, as sentence-transformers names them."""
    from sentence_transformers.sentence_transformer.evaluation import NanoBEIREvaluator as Reference

    sets = ["scifact", "nfcorpus"]
    options = {"dataset_names": sets, "query_prompts": query_prompts, "corpus_prompts": corpus_prompts}
    theirs = _error(lambda: Reference(**options))
    ours = _error(lambda: sbert.evaluation.NanoBEIREvaluator(**options))
    assert issubclass(ours[0], theirs[0])
    assert ours[1] == theirs[1]
