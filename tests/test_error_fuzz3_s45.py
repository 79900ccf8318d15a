"""What a third side-by-side fuzz of broken model folders found apart from sentence-transformers
(/tmp/s45/errfuzz3/). A folder without modules.json (a plain Hugging Face folder), or another class's folder,
is loaded with the class's default modules, and sentence-transformers then never reads its modules.json,
sentence_bert_config.json or config_sentence_transformers.json: sbert loads such folders alike (same scores,
lengths, prompts and similarity), whatever those files hold. Folders sentence-transformers loads into a
silently wrong model stay refused. An encoder of a family the graph builder does not write, on ONNX, given
texts past its position table, raises the SequenceTooLongError the built families raise."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import sentence_transformers as st
from conftest import build_tiny_bert, build_tiny_classifier, build_tiny_masked_lm, copy_tokenizer_files

import sbert

PAIRS = [("a b", "c"), ("dog", "cat sat on the mat and the dog sat on the cat again and again")]
TEXTS = ["A b c d e f g h i j k l m", "dog"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz3")
    return {
        "root": root,
        "ce": build_tiny_classifier(root / "ce"),
        "bert": build_tiny_bert(root / "bert"),
        "mlm": build_tiny_masked_lm(root / "mlm"),
    }


def _variant(models, base: str, name: str, files: dict[str, str]):
    folder = models["root"] / f"{base}-{name}"
    if not folder.exists():
        shutil.copytree(models[base], folder)
        for relative, text in files.items():
            (folder / relative).write_text(text)
    return folder


SETTINGS = json.dumps(
    {
        "prompts": {"q": "zzz dog "},
        "default_prompt_name": "q",
        "similarity_fn_name": "dot",
        "truncate_dim": 4,
        "activation_fn": "torch.nn.modules.linear.Identity",
    }
)
CE_FILES = {
    "modules-bad-json": {"modules.json": "{bad"},
    "modules-empty": {"modules.json": ""},
    "modules-object": {"modules.json": "{}"},
    "modules-empty-list": {"modules.json": "[]"},
    "sbc-bad-json": {"sentence_bert_config.json": "{bad"},
    "sbc-list": {"sentence_bert_config.json": "[1]"},
    "sbc-length": {"sentence_bert_config.json": json.dumps({"max_seq_length": 5})},
    "sbc-negative": {"sentence_bert_config.json": json.dumps({"max_seq_length": -5})},
    "sbc-string": {"sentence_bert_config.json": json.dumps({"max_seq_length": "x"})},
    "settings-bad-json": {"config_sentence_transformers.json": "{bad"},
    "settings": {"config_sentence_transformers.json": SETTINGS},
    "settings-unknown-similarity": {
        "config_sentence_transformers.json": json.dumps({"similarity_fn_name": "x"})
    },
    "settings-bad-prompts": {"config_sentence_transformers.json": json.dumps({"prompts": "x"})},
    "settings-default-missing": {
        "config_sentence_transformers.json": json.dumps({"prompts": {"q": "a"}, "default_prompt_name": "zz"})
    },
    "all-three": {
        "modules.json": "{bad",
        "sentence_bert_config.json": json.dumps({"max_seq_length": 5}),
        "config_sentence_transformers.json": SETTINGS,
    },
}


@pytest.mark.parametrize("name", list(CE_FILES))
def test_cross_encoder_plain_folder_ignores_saved_settings_files(models, name):
    folder = _variant(models, "ce", name, CE_FILES[name])
    reference = st.CrossEncoder(str(folder), device="cpu")
    model = sbert.CrossEncoder(str(folder), device="cpu")
    np.testing.assert_allclose(model.predict(PAIRS), reference.predict(PAIRS), atol=1e-5)
    assert model.max_seq_length == reference.max_seq_length
    assert (model.prompts, model.default_prompt_name) == (reference.prompts, reference.default_prompt_name)


@pytest.mark.parametrize("name", ["modules-bad-json", "sbc-length", "settings"])
def test_cross_encoder_plain_folder_on_onnx(models, name):
    folder = _variant(models, "ce", name, CE_FILES[name])
    reference = st.CrossEncoder(str(folder), device="cpu")
    model = sbert.CrossEncoder(str(folder), backend="onnx")
    np.testing.assert_allclose(model.predict(PAIRS), reference.predict(PAIRS), atol=1e-5)


PLAIN_FILES = {
    "sbc-length": {"sentence_bert_config.json": json.dumps({"max_seq_length": 5, "do_lower_case": True})},
    "settings": {"config_sentence_transformers.json": SETTINGS},
    "settings-unknown-similarity": CE_FILES["settings-unknown-similarity"],
}


@pytest.mark.parametrize("name", list(PLAIN_FILES))
def test_sentence_transformer_plain_folder_ignores_saved_settings_files(models, name):
    folder = _variant(models, "bert", name, PLAIN_FILES[name])
    reference = st.SentenceTransformer(str(folder), device="cpu")
    model = sbert.SentenceTransformer(str(folder), device="cpu")
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=1e-5)
    assert (model.max_seq_length, model.similarity_fn_name) == (reference.max_seq_length, "cosine")
    assert (model.default_prompt_name, model.truncate_dim) == (None, reference.truncate_dim)


@pytest.mark.parametrize("name", list(PLAIN_FILES))
def test_sparse_encoder_plain_folder_ignores_saved_settings_files(models, name):
    folder = _variant(models, "mlm", name, PLAIN_FILES[name])
    reference = st.SparseEncoder(str(folder), device="cpu")
    model = sbert.SparseEncoder(str(folder), device="cpu")
    expected = reference.encode(TEXTS, convert_to_tensor=False)
    got = model.encode(TEXTS, convert_to_tensor=False)
    for ours, theirs in zip(got, expected):
        np.testing.assert_allclose(ours.to_dense().numpy(), theirs.to_dense().numpy(), atol=1e-5)
    assert (model.max_seq_length, model.similarity_fn_name) == (reference.max_seq_length, "dot")
    assert model.default_prompt_name is None


# Folders sentence-transformers loads into a model whose results are silently wrong: sbert refuses them.


def test_missing_tokenizer_files_stay_refused(models):
    """sentence-transformers builds a tokenizer of the special tokens only: every word becomes [UNK]."""
    folder = models["root"] / "no-tokenizer"
    shutil.copytree(models["bert"], folder)
    for path in folder.glob("tokenizer*"):
        path.unlink()
    reference = st.SentenceTransformer(str(folder), device="cpu")
    assert len(reference.tokenizer) < 10  # the intact folder's holds the tiny vocabulary
    with pytest.raises(sbert.ModelLoadError, match="No tokenizer"):
        sbert.SentenceTransformer(str(folder), device="cpu")


def test_unknown_saved_similarity_stays_refused(models):
    """sentence-transformers scores with the class's default in place of the function the folder names."""
    folder = models["root"] / "st-unknown-similarity"
    sbert.SentenceTransformer(str(models["bert"]), device="cpu").save(str(folder))
    settings = json.loads((folder / "config_sentence_transformers.json").read_text())
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps({**settings, "similarity_fn_name": "x"})
    )
    assert st.SentenceTransformer(str(folder), device="cpu").similarity_fn_name == "cosine"
    with pytest.raises(sbert.ModelLoadError, match="unknown similarity_fn_name 'x'"):
        sbert.SentenceTransformer(str(folder), device="cpu")


# An encoder family the graph builder does not write (ELECTRA), run on ONNX past its position table.


@pytest.fixture(scope="module")
def electra(models):
    import torch
    import transformers

    vocab = json.loads((models["bert"] / "config.json").read_text())["vocab_size"]
    sizes = {"hidden_size": 32, "embedding_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = transformers.ElectraConfig(
        vocab_size=vocab, intermediate_size=64, max_position_embeddings=16, **sizes
    )
    torch.manual_seed(0)
    folder = models["root"] / "electra"
    transformers.AutoModel.from_config(config).eval().save_pretrained(folder)
    return copy_tokenizer_files(models["bert"], folder)


def test_onnx_past_the_position_table_of_another_family(electra):
    long_text = ["word " * 30]
    reference = st.SentenceTransformer(str(electra), device="cpu")
    reference.max_seq_length = 40
    with pytest.raises(RuntimeError):
        reference.encode(long_text)
    model = sbert.SentenceTransformer(str(electra), backend="onnx")
    model.max_seq_length = 40
    with pytest.raises(sbert.SequenceTooLongError, match="16 positions") as caught:
        model.encode(long_text)
    assert isinstance(caught.value, RuntimeError)
    model.max_seq_length = 16  # the table's size still runs, as on torch
    reference.max_seq_length = 16
    np.testing.assert_allclose(model.encode(long_text), reference.encode(long_text), atol=1e-5)


def test_position_limit_only_for_absolute_tables(electra, tmp_path):
    from sbert._backends.graph_builder import position_limit

    assert position_limit(electra) == 16
    for kind, limit in (("absolute", 16), ("rotary", None), ("relative_key", None)):
        folder = tmp_path / kind
        shutil.copytree(electra, folder)
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "position_embedding_type": kind}))
        assert position_limit(folder) == limit
    rotary = tmp_path / "no-table"  # no position table in the weights (a rotary family): not refused
    rotary.mkdir()
    config = json.loads((electra / "config.json").read_text())
    (rotary / "config.json").write_text(json.dumps({**config, "model_type": "modernbert"}))
    assert position_limit(rotary) is None
