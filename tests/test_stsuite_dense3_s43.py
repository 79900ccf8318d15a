"""Scenarios of sentence-transformers' own test suite (part 3: the model class) run against sbert and
sentence-transformers 6.3 on the same tiny model. A 0-d numpy string array is the one text it holds (sbert
encoded each character); a loaded model saved with ``model_name=`` names that model in its card's usage code,
as sentence-transformers' re-save does."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import classic_pooling
from sentence_transformers import SentenceTransformer as ReferenceModel

from sbert import SentenceTransformer
from sbert._errors import InputTypeError


@pytest.fixture(scope="module")
def folder(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.fixture(scope="module")
def models(folder):
    return SentenceTransformer(str(folder), backend="torch"), ReferenceModel(str(folder), device="cpu")


def test_zero_dim_string_array_is_one_text(models):
    ours, reference = models
    text = np.array("hello world")
    got = ours.encode(text)
    assert ours.is_singular_input(text) == reference.is_singular_input(text)
    np.testing.assert_allclose(got, reference.encode("hello world"), atol=1e-5)
    assert got.shape == (ours.get_embedding_dimension(),)


def test_zero_dim_number_array_is_refused(models):
    ours, reference = models
    with pytest.raises(ValueError):
        reference.encode(np.array(5))
    with pytest.raises(InputTypeError, match="got int"):
        ours.encode(np.array(5))


@pytest.mark.parametrize("library", ["sbert", "st"])
def test_resave_with_model_name_names_it_in_the_card(folder, tmp_path, library):
    cls = SentenceTransformer if library == "sbert" else ReferenceModel
    model = cls(str(folder))
    model._model_card_text = ""
    model.save(str(tmp_path / "first"))
    loaded = cls(str(tmp_path / "first"))
    loaded.save(str(tmp_path / "second"), model_name="test_user/test_model")
    card = (tmp_path / "second" / "README.md").read_text(encoding="utf-8")
    assert 'SentenceTransformer("test_user/test_model")' in card.replace("'", '"')
    assert "first" not in card.replace("# first", "")
