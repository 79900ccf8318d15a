"""sbert's models count as sentence-transformers' in ``isinstance`` once sentence-transformers is imported, as
libraries recognise a model (mteb's ``evaluate`` refused an sbert model: "No model implementation is available
for this model"), without sbert importing it; their tokenizers count as transformers'
``PreTrainedTokenizerBase`` once transformers' tokenizers are imported. Child processes: each is a fresh
import."""

from __future__ import annotations

import pytest
from conftest import build_tiny_classifier, child_json

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
from sbert.models import Dense
dense = Dense(4, 2)  # a module made before sentence-transformers is imported ("later") or after
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
    "modules": [isinstance(encoder[0], st.models.Transformer), isinstance(encoder[1], st.models.Pooling),
                isinstance(encoder[1], st.models.Module), isinstance(encoder[1], st.models.InputModule),
                isinstance(dense, st.models.Dense), isinstance(dense, st.models.Normalize)],
}))
"""


@pytest.mark.parametrize("order", ["first", "later"])
@pytest.mark.slow
def test_models_count_as_sentence_transformers_classes(default_model_path, tmp_path, order):
    cross = build_tiny_classifier(tmp_path / "cross")
    found = child_json(CHECK, default_model_path, cross, order)
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
    # its modules count as sentence-transformers' namesakes too (mlflow reads a model's details after
    # isinstance(model[0], models.Transformer)), made before or after it was imported
    assert found["modules"] == [True, True, True, False, True, False]
