"""mteb (2.26) drives a model through these calls; each runs alike on sbert and sentence-transformers.

``SentenceTransformerEncoderWrapper(model)`` reads the model's card data, ``max_seq_length``,
``get_sentence_embedding_dimension()`` and ``similarity_fn_name`` for its ModelMeta, merges its own prompts
into ``model.prompts``, encodes with ``encode_query`` / ``encode_document(texts, prompt=..., batch_size=...,
show_progress_bar=..., precision=...)`` and scores with ``model.similarity`` / ``similarity_pairwise``.
``mteb.evaluate(model, ...)`` and ``CrossEncoderWrapper`` recognise models with ``isinstance`` against
sentence-transformers' classes (ABCs), which sbert's models pass once sentence-transformers is imported
(``sbert._st_registration``; a child process here, a fresh import): they count embedding parameters
from ``tokenizer.vocab`` or the cross-encoder's input embeddings, read ``model.config`` /
``model.model.name_or_path``, walk ``named_modules()`` for a low-precision scoring head and call
``predict(pairs, show_progress_bar=False, batch_size=...)``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import sentence_transformers
from conftest import build_tiny_classifier

import sbert

QUERIES = ["what do cats eat", "how tall is the eiffel tower", "symptoms of the flu"]
DOCUMENTS = ["Cats are carnivores and eat meat.", "The Eiffel Tower is 330 metres tall.", "Fever and cough."]
PROMPTS = {"query": "query: ", "document": "passage: "}


def _encoder_pattern(model) -> dict:
    """What SentenceTransformerEncoderWrapper and ModelMeta._from_sentence_transformer_model call."""
    card = model.model_card_data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        width = model.get_sentence_embedding_dimension()
    built_in = dict(model.prompts)
    model.prompts = {**PROMPTS, "Retrieval-query": "find: "}  # the wrapper's model_prompts overwrite them
    kwargs = {"batch_size": 2, "show_progress_bar": False}
    queries = model.encode_query(QUERIES, prompt="find: ", **kwargs)
    documents = model.encode_document(DOCUMENTS, prompt=None, **kwargs)
    plain = model.encode(QUERIES + DOCUMENTS, prompt="passage: ", **kwargs)
    quantized = model.encode_query(QUERIES, prompt="find: ", precision="int8", **kwargs)
    floats = model.encode_query(QUERIES, prompt="find: ", **kwargs)
    return {
        "meta": (card.model_name, card.base_model, card.base_model_revision, model.max_seq_length, width),
        "similarity_fn_name": model.similarity_fn_name,
        "warnings": [(w.category, str(w.message)) for w in caught],
        "built_in": built_in,
        "prompts": model.prompts,
        "arrays": [(type(a), a.dtype, a.shape) for a in (queries, documents, plain, quantized)],
        "scores": np.asarray(model.similarity(queries, documents)),
        "pairwise": np.asarray(model.similarity_pairwise(queries, documents)),
        "plain": plain,
        "quantized_same_as_quantizing_floats": np.array_equal(
            quantized, sentence_transformers.util.quantize_embeddings(floats, "int8")
        ),
    }


@pytest.mark.parametrize("prompts", [None, PROMPTS], ids=["no-prompts", "model-prompts"])
def test_encoder_wrapper_calls_match_sentence_transformers(default_model_path, prompts):
    extra = {"prompts": prompts} if prompts else {}
    ours = _encoder_pattern(sbert.SentenceTransformer(str(default_model_path), device="cpu", **extra))
    reference = _encoder_pattern(sentence_transformers.SentenceTransformer(str(default_model_path), **extra))
    for key in ("meta", "similarity_fn_name", "warnings", "built_in", "prompts", "arrays"):
        assert ours[key] == reference[key], key
    for key in ("scores", "pairwise", "plain"):
        np.testing.assert_allclose(ours[key], reference[key], atol=1e-5)
    assert ours["quantized_same_as_quantizing_floats"]
    assert reference["quantized_same_as_quantizing_floats"]


_REGISTERED = """
import json, sys
import numpy as np, sentence_transformers, torch
import {package} as lib

encoder = lib.SentenceTransformer(sys.argv[1], device="cpu")
cross = lib.CrossEncoder(sys.argv[2], device="cpu")
assert isinstance(encoder, sentence_transformers.SentenceTransformer)
assert isinstance(cross, sentence_transformers.CrossEncoder)
heads = [name for name, module in cross.named_modules()
         if isinstance(module, torch.nn.Linear) and module.out_features == cross.num_labels]
scores = cross.predict(list(zip({queries!r}, {documents!r})), show_progress_bar=False, batch_size=2)
print(json.dumps({{
    "vocab_parameters": len(encoder.tokenizer.vocab) * encoder.get_embedding_dimension(),
    "cross_parameters": int(np.prod(cross.model.get_input_embeddings().weight.shape)),
    "cross_name": cross.model.name_or_path,
    "commit": getattr(cross.config, "_commit_hash", None),
    "revision": cross.model_card_data.base_model_revision,
    "module_root": isinstance(cross, torch.nn.Module),
    "head": heads[-1], "head_dtype": str(cross.get_submodule(heads[-1]).weight.dtype),
    "scores": np.asarray(scores).tolist(),
}}))
"""


def _registered_pattern(package: str, encoder, cross) -> dict:
    code = _REGISTERED.format(package=package, queries=QUERIES, documents=DOCUMENTS)
    env = {**os.environ, "PYTHONPATH": str(Path(sbert.__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code, str(encoder), str(cross)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_registered_models_answer_mtebs_isinstance_branches(default_model_path, tmp_path):
    cross = build_tiny_classifier(tmp_path / "cross")
    ours = _registered_pattern("sbert", default_model_path, cross)
    reference = _registered_pattern("sentence_transformers", default_model_path, cross)
    np.testing.assert_allclose(ours.pop("scores"), reference.pop("scores"), atol=1e-5)
    assert ours == reference
