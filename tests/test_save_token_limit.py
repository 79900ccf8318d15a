"""A saved model's token limit is where sentence-transformers 6.3 writes it: the tokenizer's
``model_max_length`` in ``tokenizer_config.json``. So plain transformers' ``AutoTokenizer`` reads the limit
the model had. sbert also keeps the same limit as ``max_seq_length`` in ``sentence_bert_config.json``, the
classic key Text Embeddings Inference requires (sentence-transformers 6.3 no longer writes it), and folders
saved by earlier sbert releases (that key only) still load with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import classic_pooling, write_st_folder


def _limit_files(folder: Path) -> tuple[int, dict]:
    """``tokenizer_config.json``'s ``model_max_length`` and the whole ``sentence_bert_config.json``."""
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    settings = json.loads((folder / "sentence_bert_config.json").read_text())
    return tokenizer_config["model_max_length"], settings


def _auto_limit(folder: Path) -> int:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder).model_max_length


def _set_limit(model, how: str) -> None:
    if how in ("tokenizer", "both"):
        model.tokenizer.model_max_length = 40
    if how in ("max_seq_length", "both"):
        model.max_seq_length = 30


@pytest.fixture(scope="module")
def older_sbert_folder(tiny_bert, tmp_path_factory) -> Path:
    """A folder as earlier sbert releases saved it: ``max_seq_length`` 48 in sentence_bert_config.json, the
    tokenizer's own 64 in tokenizer_config.json."""
    return write_st_folder(tiny_bert, tmp_path_factory.mktemp("older") / "st", classic_pooling(32, "mean"))


@pytest.mark.parametrize("how", ["unchanged", "tokenizer", "max_seq_length", "both"])
def test_sentence_transformer_saves_the_limit_as_sentence_transformers(older_sbert_folder, how, tmp_path):
    import sentence_transformers

    import sbert

    saved = {}
    for name, library in (("st", sentence_transformers), ("sbert", sbert)):
        model = library.SentenceTransformer(str(older_sbert_folder), device="cpu")
        _set_limit(model, how)
        model.save(str(tmp_path / name))
        saved[name] = model.max_seq_length
    assert saved["sbert"] == saved["st"] == {"unchanged": 48, "tokenizer": 40}.get(how, 30)
    limit, settings = _limit_files(tmp_path / "sbert")
    assert limit == _limit_files(tmp_path / "st")[0] == saved["st"]
    assert settings["max_seq_length"] == saved["st"]  # the classic key too, which TEI reads
    assert _auto_limit(tmp_path / "sbert") == _auto_limit(tmp_path / "st") == saved["st"]
    # both libraries read the saved folder back with its limit
    assert sbert.SentenceTransformer(str(tmp_path / "sbert")).max_seq_length == saved["st"]
    assert sentence_transformers.SentenceTransformer(str(tmp_path / "sbert")).max_seq_length == saved["st"]


def test_default_model_limit_reaches_plain_transformers(default_model_path, tmp_path):
    import sentence_transformers

    import sbert

    for name, library in (("st", sentence_transformers), ("sbert", sbert)):
        model = library.SentenceTransformer(str(default_model_path), device="cpu")
        model.tokenizer.model_max_length = 128
        model.save(str(tmp_path / name))
    assert _limit_files(tmp_path / "sbert")[0] == _limit_files(tmp_path / "st")[0] == 128
    assert _auto_limit(tmp_path / "sbert") == _auto_limit(tmp_path / "st") == 128


@pytest.mark.parametrize("kind", ["SparseEncoder", "MultiVectorEncoder"])
def test_sparse_and_multi_vector_saves_keep_the_limit_in_the_tokenizer(kind, masked_lm, tiny_bert, tmp_path):
    import sentence_transformers

    import sbert

    source = masked_lm if kind == "SparseEncoder" else tiny_bert
    for name, library in (("st", sentence_transformers), ("sbert", sbert)):
        model = getattr(library, kind)(str(source), device="cpu")
        model.max_seq_length = 30
        model.save(str(tmp_path / name))
    limit, settings = _limit_files(tmp_path / "sbert")
    assert limit == _limit_files(tmp_path / "st")[0] == 30
    assert settings.get("max_seq_length", limit) == limit  # where the classic key is written, the same
    assert _auto_limit(tmp_path / "sbert") == _auto_limit(tmp_path / "st") == 30
    assert getattr(sentence_transformers, kind)(str(tmp_path / "sbert")).max_seq_length == 30


@pytest.mark.parametrize("kind", ["SparseEncoder", "MultiVectorEncoder"])
def test_onnx_saves_of_older_folders_move_the_limit_to_the_tokenizer(kind, masked_lm, tiny_bert, tmp_path):
    """A folder an earlier sbert saved (``max_seq_length`` 40 in sentence_bert_config.json), loaded on ONNX
    and saved again: the limit it loaded with is the tokenizer's in the new folder, as in a torch save."""
    import sentence_transformers

    import sbert

    cls = getattr(sbert, kind)
    older = tmp_path / "older"
    cls(str(masked_lm if kind == "SparseEncoder" else tiny_bert), device="cpu").save(str(older))
    settings_file = older / "sentence_bert_config.json"
    settings_file.write_text(json.dumps({**json.loads(settings_file.read_text()), "max_seq_length": 40}))
    model = cls(str(older), backend="onnx")
    assert model.max_seq_length == 40  # the older key still sets the limit
    model.save(str(tmp_path / "saved"))
    limit, settings = _limit_files(tmp_path / "saved")
    assert limit == _auto_limit(tmp_path / "saved") == settings.get("max_seq_length", limit) == 40
    assert getattr(sentence_transformers, kind)(str(tmp_path / "saved")).max_seq_length == 40


def test_tokenizer_save_pretrained_writes_its_current_limit(older_sbert_folder, tmp_path):
    import sentence_transformers

    import sbert

    for name, library in (("st", sentence_transformers), ("sbert", sbert)):
        model = library.SentenceTransformer(str(older_sbert_folder), device="cpu")
        model.max_seq_length = 30
        model.tokenizer.save_pretrained(str(tmp_path / name))
    assert _auto_limit(tmp_path / "sbert") == _auto_limit(tmp_path / "st") == 30
