"""Snippets of sentence-transformers' usage documentation (sbert.net) run on sbert and on
sentence-transformers 6.3 with the same tiny folder: prompts replaced by assignment
(``model.prompts = {...}``, the "Prompt Templates" section) keep no default "query" / "document" names,
and a saved model with a custom module (the "Custom Modules" section) loaded without
``trust_remote_code`` raises a ``ValueError`` as there."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import build_tiny_bert, classic_pooling, write_st_folder

import sbert

PROMPTS = {
    "classification": "Classify the following text: ",
    "retrieval": "Retrieve semantically similar text: ",
}
TEXT = "How to bake a strawberry cake"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs-usage-s41")
    return write_st_folder(build_tiny_bert(root / "bert"), root / "dense", classic_pooling(32, "mean"))


def _both(folder, **options):
    import sentence_transformers as st

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return st.SentenceTransformer(str(folder), device="cpu", **options), sbert.SentenceTransformer(
            str(folder), device="cpu", **options
        )


@pytest.mark.parametrize("name", ["query", "document", "nope"])
def test_replaced_prompts_keep_no_default_names(folder, name):
    theirs, ours = _both(folder)
    for model in (theirs, ours):
        model.prompts = dict(PROMPTS)
        model.default_prompt_name = "retrieval"
    with pytest.raises(ValueError) as reference:
        theirs.encode(TEXT, prompt_name=name)
    with pytest.raises(ValueError) as raised:
        ours.encode(TEXT, prompt_name=name)
    # sentence-transformers' message, naming the prompts as they are now, then sbert's hint
    assert str(raised.value).startswith(str(reference.value))
    np.testing.assert_allclose(ours.encode(TEXT), theirs.encode(TEXT), atol=1e-5)
    np.testing.assert_allclose(ours.encode_query(TEXT), theirs.encode_query(TEXT), atol=1e-5)


def test_default_prompt_name_outside_replaced_prompts(folder):
    theirs, ours = _both(folder)
    for model in (theirs, ours):
        model.prompts = dict(PROMPTS)
        model.default_prompt_name = "query"  # not checked on assignment: no prompt applies
    np.testing.assert_allclose(ours.encode(TEXT), theirs.encode(TEXT), atol=1e-5)
    np.testing.assert_allclose(
        ours.encode(TEXT, prompt_name="classification"),
        theirs.encode(TEXT, prompt_name="classification"),
        atol=1e-5,
    )


CUSTOM_POOLING = """
import json, os, torch


class FirstTokenPooling(torch.nn.Module):
    def __init__(self, dimension: int) -> None:
        super().__init__()
        self.dimension = dimension

    def forward(self, features, **kwargs):
        features["sentence_embedding"] = features["token_embeddings"][:, 0]
        return features

    def get_sentence_embedding_dimension(self):
        return self.dimension

    def save(self, save_dir, **kwargs):
        with open(os.path.join(save_dir, "config.json"), "w") as f:
            json.dump({"dimension": self.dimension}, f)
"""


def test_custom_module_without_trust_remote_code_is_a_value_error(folder, tmp_path):
    import sentence_transformers as st

    saved = tmp_path / "custom"
    saved.mkdir()
    (saved / "first_token.py").write_text(CUSTOM_POOLING)
    modules = json.loads((folder / "modules.json").read_text())
    modules[1]["type"] = "first_token.FirstTokenPooling"
    (saved / "modules.json").write_text(json.dumps(modules))
    for item in folder.iterdir():
        if item.name != "modules.json" and item.is_file():
            (saved / item.name).write_bytes(item.read_bytes())
    (saved / "1_Pooling").mkdir()
    (saved / "1_Pooling" / "config.json").write_text(json.dumps({"dimension": 32}))
    with pytest.raises(ValueError, match="trust_remote_code"):
        st.SentenceTransformer(str(saved), device="cpu")
    with pytest.raises(ValueError, match="trust_remote_code") as raised:
        sbert.SentenceTransformer(str(saved), device="cpu")
    assert isinstance(raised.value, sbert.ModelLoadError)  # and an OSError, as sbert's other load errors
