"""CrossEncoder's ``keep_in_fp32_modules`` (sentence-transformers 6.3): a selection of linear layers that
compute in float32 while the model runs in half precision, set by ``set_keep_in_fp32_modules`` or at load,
saved in config_sentence_transformers.json and read back, in both libraries' folders."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import build_tiny_classifier

import sbert
from sbert._errors import InputError, ModelLoadError

CLASSIFIER = "0.model.classifier"
PAIRS = [("a b", "c d"), ("hello there friend", "world")]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("fp32") / "ce", num_labels=1)


@pytest.fixture(scope="module")
def st_saved(classifier, tmp_path_factory):
    """A folder sentence-transformers saved with the classifier layer selected."""
    import sentence_transformers as st

    model = st.CrossEncoder(str(classifier), device="cpu")
    model.set_keep_in_fp32_modules([CLASSIFIER])
    folder = tmp_path_factory.mktemp("st_saved") / "ce"
    model.save(str(folder))
    return folder


def _saved_selection(folder):
    return json.loads((folder / "config_sentence_transformers.json").read_text()).get("keep_in_fp32_modules")


def test_saved_selection_is_read_kept_on_save_and_read_by_sentence_transformers(st_saved, tmp_path):
    import sentence_transformers as st

    model = sbert.CrossEncoder(str(st_saved))  # "auto": the graph, where fp32 layers change nothing
    assert model.keep_in_fp32_modules == [CLASSIFIER]
    model.save(str(tmp_path / "again"))
    assert _saved_selection(tmp_path / "again") == [CLASSIFIER]
    assert st.CrossEncoder(str(tmp_path / "again"), device="cpu").keep_in_fp32_modules == [CLASSIFIER]
    # a selection given at load replaces the saved one, as there
    assert sbert.CrossEncoder(str(st_saved), keep_in_fp32_modules=[]).keep_in_fp32_modules == []


def test_selected_layer_computes_float32_in_half_precision(st_saved, classifier):
    model = sbert.CrossEncoder(str(st_saved), device="cpu").half()
    layer = model.get_submodule(CLASSIFIER)
    assert layer.weight.dtype == torch.float16  # the weights keep the model's dtype
    hidden = torch.randn(3, layer.in_features, dtype=torch.float16)
    out = layer(hidden)
    assert out.dtype == torch.float32
    expected = torch.nn.functional.linear(hidden.float(), layer.weight.float(), layer.bias.float())
    torch.testing.assert_close(out, expected)
    # the scores come through that layer: they differ from a half model without the selection
    plain = sbert.CrossEncoder(str(classifier), device="cpu").half()
    assert type(plain.get_submodule(CLASSIFIER)) is torch.nn.Linear
    assert abs(model.predict(PAIRS) - plain.predict(PAIRS)).max() > 0


def test_set_replaces_the_selection_and_checks_it(classifier, tmp_path):
    model = sbert.CrossEncoder(str(classifier), backend="torch", device="cpu")
    model.set_keep_in_fp32_modules([CLASSIFIER, CLASSIFIER])
    assert model.keep_in_fp32_modules == [CLASSIFIER]
    assert type(model.get_submodule(CLASSIFIER)).__name__ == "Float32Linear"
    model.save(str(tmp_path / "selected"))
    assert _saved_selection(tmp_path / "selected") == [CLASSIFIER]
    model.set_keep_in_fp32_modules([])
    assert type(model.get_submodule(CLASSIFIER)) is torch.nn.Linear and model.keep_in_fp32_modules == []
    model.save(str(tmp_path / "none"))
    assert _saved_selection(tmp_path / "none") is None
    with pytest.raises(AttributeError, match="nope"):
        model.set_keep_in_fp32_modules(["0.model.nope"])
    with pytest.raises(InputError, match="plain torch.nn.Linear"):
        model.set_keep_in_fp32_modules(["0.model.bert.encoder"])
    with pytest.raises(InputError, match="list of module paths"):
        model.set_keep_in_fp32_modules(CLASSIFIER)
    assert model.keep_in_fp32_modules == []  # a refused selection changes nothing
    with pytest.raises(InputError, match="backend='torch'"):
        sbert.CrossEncoder(str(classifier), backend="onnx", keep_in_fp32_modules=[CLASSIFIER])


def test_corrupt_saved_selection_names_the_field(st_saved, tmp_path):
    import shutil

    folder = tmp_path / "bad"
    shutil.copytree(st_saved, folder)
    config_file = folder / "config_sentence_transformers.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "keep_in_fp32_modules": 3}))
    with pytest.raises(ModelLoadError, match="keep_in_fp32_modules"):
        sbert.CrossEncoder(str(folder))
