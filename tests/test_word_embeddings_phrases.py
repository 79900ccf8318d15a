"""WordEmbeddings takes any word tokenizer, as sentence-transformers' does: a PhraseTokenizer (word2vec's
``new_york`` phrases merged into one token, stop words dropped) gives the same word ids and embeddings as
there, built directly or by ``from_text_file``, and the folder it saves (``phrasetokenizer_config.json``
beside ``wordembedding_config.json``) loads in either library with the same vectors."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")

TEXTS = ["New York is a big city", "big new york", "", "City, big! new"]
VECTORS = "new_york 0.1 0.2 0.3\nis 0.5 0.5 0.5\ncity 0.3 0.1 0.0\nbig 0.9 0.1 0.2\nNew 1 1 1\n"


def _libraries():
    import sentence_transformers

    import sbert

    return {"st": sentence_transformers, "sbert": sbert}


def _model(lib, path, *, from_file: bool):
    models = importlib.import_module(f"{lib.__name__}.sentence_transformer.modules")
    tokenizers = importlib.import_module(f"{lib.__name__}.sentence_transformer.modules.tokenizer")
    tokenizer = tokenizers.PhraseTokenizer(stop_words=["is"], max_ngram_length=3)
    if from_file:
        words = models.WordEmbeddings.from_text_file(str(path), tokenizer=tokenizer)
    else:
        vocab = ["PADDING_TOKEN", "new_york", "city", "big"]
        tokenizer.set_vocab(vocab)
        table = np.arange(len(vocab) * 3, dtype=np.float32).reshape(len(vocab), 3) / 10
        words = models.WordEmbeddings(tokenizer=tokenizer, embedding_weights=table)
    return lib.SentenceTransformer(modules=[words, models.Pooling(3)], device="cpu")


@pytest.mark.parametrize("from_file", [True, False], ids=["from_text_file", "constructor"])
def test_phrase_tokenizer_word_embeddings_match_sentence_transformers(split_nltk, tmp_path, from_file):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text(VECTORS)
    models, ids, embeddings = {}, {}, {}
    for name, lib in _libraries().items():
        models[name] = _model(lib, vectors, from_file=from_file)
        ids[name] = models[name][0].preprocess(TEXTS)["input_ids"].tolist()
        embeddings[name] = models[name].encode(TEXTS)
        models[name].save(str(tmp_path / name))
    assert ids["sbert"] == ids["st"]
    phrase = models["st"][0].tokenizer.word2idx["new_york"]
    assert ids["st"][0][0] == ids["st"][1][1] == phrase  # "New York" and "new york": one token
    np.testing.assert_allclose(embeddings["sbert"], embeddings["st"], atol=1e-6, rtol=0)
    for name in ("st", "sbert"):
        assert (tmp_path / name / "phrasetokenizer_config.json").is_file()
        config = json.loads((tmp_path / name / "wordembedding_config.json").read_text())
        assert config["tokenizer_class"].endswith(".PhraseTokenizer")
    for lib in _libraries().values():  # each library loads both folders
        for saver in ("st", "sbert"):
            loaded = lib.SentenceTransformer(str(tmp_path / saver), device="cpu")
            np.testing.assert_allclose(loaded.encode(TEXTS), embeddings["st"], atol=1e-6, rtol=0)
