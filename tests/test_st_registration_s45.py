"""sbert's models count as sentence-transformers' in ``isinstance`` once sentence-transformers is imported, as
libraries recognise a model (mteb's ``evaluate`` refused an sbert model: "No model implementation is available
for this model"), without sbert importing it; their tokenizers count as transformers'
``PreTrainedTokenizerBase`` once transformers' tokenizers are imported. Child processes: each is a fresh
import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HANG_GUARD_S, build_tiny_classifier

import sbert

CHECK = """
import json, sys
order = sys.argv[3]
if order == "first":
    import sentence_transformers
import sbert
encoder = sbert.SentenceTransformer(sys.argv[1])
cross = sbert.CrossEncoder(sys.argv[2])
imported = ["sentence_transformers" in sys.modules, "torch" in sys.modules]
tokenizers_imported = "transformers.tokenization_utils_base" in sys.modules
import sentence_transformers as st
from transformers import PreTrainedTokenizerBase
print(json.dumps({
    "imported_by_sbert": imported,
    "encoder": [isinstance(encoder, st.SentenceTransformer), isinstance(encoder, st.CrossEncoder)],
    "cross": [isinstance(cross, st.CrossEncoder), isinstance(cross, st.SentenceTransformer)],
    "type": type(encoder).__module__,
    "tokenizers_imported_by_sbert": tokenizers_imported,
    "tokenizer": [isinstance(m.tokenizer, PreTrainedTokenizerBase) for m in (encoder, cross)],
    "reference_is_not_sbert": isinstance(st.SentenceTransformer(sys.argv[1]), sbert.SentenceTransformer),
    "modules": [isinstance(encoder[0], st.models.Transformer), isinstance(encoder[1], st.models.Pooling)],
}))
"""


@pytest.mark.parametrize("order", ["first", "later"])
def test_models_count_as_sentence_transformers_classes(default_model_path, tmp_path, order):
    cross = build_tiny_classifier(tmp_path / "cross")
    env = {**os.environ, "PYTHONPATH": str(Path(sbert.__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(default_model_path), str(cross), order],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD_S,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    # ONNX models: sbert imports neither library; sentence-transformers was imported first or not yet
    assert found["imported_by_sbert"] == [order == "first", order == "first"]
    assert found["tokenizers_imported_by_sbert"] == (order == "first")
    # the tokenizers count as transformers' (langchain's from_huggingface_tokenizer checks), made before or
    # after transformers' tokenizers were imported
    assert found["tokenizer"] == [True, True]
    assert found["encoder"] == [True, False]
    assert found["cross"] == [True, False]
    assert found["type"] == "sbert.sentence_transformers"  # sbert's own class still
    assert found["reference_is_not_sbert"] is False
    assert found["modules"] == [True, True]  # its modules count as sentence-transformers' too


MODULES_CHECK = """
import json, sys
order = sys.argv[2]
if order == "alias":
    import sbert
    sys.modules["sentence_transformers"] = sbert
import sbert
from sbert.models import Dense, Pooling
encoder = sbert.SentenceTransformer(sys.argv[1], backend="torch")
dense = Dense(4, 2)
import sentence_transformers as st
from sentence_transformers import models
kinds = (models.Transformer, models.Pooling, models.InputModule)
print(json.dumps({
    "transformer": [isinstance(encoder[0], c) for c in kinds],
    "pooling": [isinstance(encoder[1], c) for c in (models.Pooling, models.Module, models.InputModule)],
    "normalize": isinstance(encoder[2], models.Normalize),
    "dense": [isinstance(dense, models.Dense), isinstance(dense, models.Normalize)],
    "type": type(encoder[1]).__module__,
    "st_pooling_is_not_sbert": isinstance(models.Pooling(8), Pooling),
}))
"""


@pytest.mark.parametrize("order", ["later", "alias"])
def test_modules_count_as_sentence_transformers_modules(default_model_path, order):
    """mlflow reads a model's details after ``isinstance(model[0], models.Transformer)``: sbert's modules
    count as sentence-transformers' namesakes once it is imported after they were made (made after it:
    the test above), and
    under the ``sys.modules`` alias ``models`` is sbert's own."""
    env = {**os.environ, "PYTHONPATH": str(Path(sbert.__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", MODULES_CHECK, str(default_model_path), order],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD_S,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["transformer"] == [True, False, True]
    assert found["pooling"] == [True, True, False]
    assert found["normalize"] is True
    assert found["dense"] == [True, False]
    assert found["type"] == "sbert._modules.pooling"
    assert found["st_pooling_is_not_sbert"] is (order == "alias")  # the alias's models.Pooling is sbert's
