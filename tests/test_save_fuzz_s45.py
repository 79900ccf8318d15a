"""Saving where sentence-transformers refuses to (found by the session-45 save/load fuzzer)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def pair(tiny_st_factory):
    """sbert's and sentence-transformers' SentenceTransformer on the same tiny folder."""
    from conftest import classic_pooling
    from sentence_transformers import SentenceTransformer as Reference

    import sbert

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    return sbert.SentenceTransformer(folder, device="cpu"), Reference(str(folder), device="cpu")


@pytest.fixture(scope="module")
def cross_pair(tmp_path_factory):
    from conftest import build_tiny_classifier
    from sentence_transformers import CrossEncoder as Reference

    import sbert

    folder = build_tiny_classifier(tmp_path_factory.mktemp("ce") / "model", num_labels=3)
    return sbert.CrossEncoder(str(folder), device="cpu"), Reference(str(folder), device="cpu")


def _refusal(model, target):
    with pytest.raises(OSError) as caught:
        model.save(str(target))
    return type(caught.value), caught.value.errno, caught.value.filename


@pytest.mark.parametrize("kind", ["bi", "cross"])
@pytest.mark.parametrize("where", ["file", "under a file"])
def test_saving_onto_a_file_is_refused_and_keeps_it_as_sentence_transformers(
    kind, where, pair, cross_pair, tmp_path
):
    ours, reference = pair if kind == "bi" else cross_pair
    expected = []
    for name, model in (("reference", reference), ("ours", ours)):
        (tmp_path / name).mkdir()
        file = tmp_path / name / "target"
        file.write_text("mine")
        target = file if where == "file" else file / "model"
        expected.append(_refusal(model, target))
        assert file.read_text() == "mine"
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["target"]  # nothing left beside it
    (ref_type, ref_errno, ref_name), (our_type, our_errno, our_name) = expected
    assert (our_type, our_errno) == (ref_type, ref_errno)
    assert our_name == ref_name.replace("reference", "ours")
