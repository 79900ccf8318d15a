"""``model.tokenizer.backend_tokenizer`` changed by a caller leaves sbert's encoding as it was, as
transformers sets the Rust tokenizer's truncation and padding on every call: ``enable_truncation(8)``
changed sbert's vectors (cosine 0.435 on a long text), ``no_truncation()`` made ``encode`` of a long text
raise, ``enable_padding()`` put attention on pad tokens; sentence-transformers' vectors never change."""

from __future__ import annotations

import numpy as np

from sbert import CrossEncoder, SentenceTransformer

LONG = "The cat sat on the mat and the dog ran in the house. " * 60
TEXTS = ["hello world", LONG]


CHANGES = {
    "truncate-8": lambda rust: rust.enable_truncation(8),
    "no-truncation": lambda rust: rust.no_truncation(),
    "padding": lambda rust: rust.enable_padding(length=300),
    "stride-left": lambda rust: rust.enable_truncation(40, stride=5, direction="left"),
}


def test_changes_to_the_handed_out_tokenizer_leave_encode_as_it_was(default_model_path):
    model = SentenceTransformer(str(default_model_path))
    before = model.encode(TEXTS)
    called = model.tokenizer(TEXTS, truncation=True, max_length=20)["input_ids"]
    for name, change in CHANGES.items():
        change(model.tokenizer.backend_tokenizer)
        np.testing.assert_allclose(model.encode(TEXTS), before, atol=1e-6, err_msg=name)
        assert model.tokenizer(TEXTS, truncation=True, max_length=20)["input_ids"] == called, name


def test_cross_encoder_pairs_too(tmp_path):
    from conftest import build_tiny_classifier

    model = CrossEncoder(str(build_tiny_classifier(tmp_path / "cross")))
    pairs = [("a question", LONG), ("short", "pair")]
    before = model.predict(pairs)
    model.tokenizer.backend_tokenizer.enable_truncation(6, strategy="only_first")
    np.testing.assert_allclose(model.predict(pairs), before, atol=1e-6)
