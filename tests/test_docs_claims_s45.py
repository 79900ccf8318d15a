"""README's intended differences of session 45, checked as written against sentence-transformers 6.3 (the
reference computed here): CrossEncoder.rank's negative top_k, a tokenizer without a pad token, coalesced
sparse outputs, the values sbert refuses, the broken folders it loads, the load errors that stay OSErrors,
and a chat template given at load."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import (
    build_tiny_bert,
    build_tiny_classifier,
    build_tiny_gpt2,
    build_tiny_masked_lm,
    classic_pooling,
    write_st_folder,
)

import sbert
from sbert import CrossEncoder, InputError, ModelLoadError, SentenceTransformer, SparseEncoder

TEXTS = ["the cat sat on the mat", "a man plays guitar", "she"]
DOCS = ["the cat sat", "a man plays guitar", "she is happy", "on the mat today"]
TEMPLATE = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs_claims")
    bert = build_tiny_bert(root / "bert")
    return {
        "bert": bert,
        "st": write_st_folder(bert, root / "st", classic_pooling(32, "mean")),
        "ce": build_tiny_classifier(root / "ce"),
        "mlm": build_tiny_masked_lm(root / "mlm"),
        "root": root,
    }


def test_rank_with_a_negative_top_k_is_refused_where_sentence_transformers_drops_the_last(folders):
    from sentence_transformers import CrossEncoder as Reference
    from sentence_transformers.util import paraphrase_mining_embeddings as reference_mining

    reference = Reference(str(folders["ce"]), device="cpu")
    everything = reference.rank("the cat", DOCS)
    assert reference.rank("the cat", DOCS, top_k=-1) == everything[:-1]
    model = CrossEncoder(str(folders["ce"]))
    for top_k in (-1, -3):
        with pytest.raises(InputError, match="top_k") as raised:
            model.rank("the cat", DOCS, top_k=top_k)
        assert isinstance(raised.value, ValueError)
    assert model.rank("the cat", DOCS, top_k=0) == reference.rank("the cat", DOCS, top_k=0) == []
    embeddings = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    assert reference_mining(embeddings, top_k=-1) == []
    assert (
        reference_mining(embeddings, top_k=0)
        == sbert.util.paraphrase_mining_embeddings(embeddings, top_k=0)
        == []
    )


def test_a_tokenizer_without_a_pad_token_encodes_batches(folders):
    from sentence_transformers import SentenceTransformer as Reference

    folder = build_tiny_gpt2(folders["root"] / "gpt2", TEXTS)
    reference = Reference(str(folder), device="cpu")
    with pytest.raises(ValueError, match="Asking to pad but the tokenizer does not have a padding token"):
        reference.encode(TEXTS)
    model = SentenceTransformer(str(folder))
    assert model.tokenizer.pad_token is None
    batch = model.encode(TEXTS)
    one_by_one = np.stack([model.encode([text])[0] for text in TEXTS])
    np.testing.assert_allclose(batch, one_by_one, atol=1e-5)
    features = model.tokenize(TEXTS)
    padded = features["attention_mask"] == 0
    assert padded.any() and (features["input_ids"][padded] == 0).all()
    reference.tokenizer.pad_token = reference.tokenizer.eos_token  # what sentence-transformers asks for
    np.testing.assert_allclose(batch, reference.encode(TEXTS), atol=1e-5)


@pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning")
def test_sparse_outputs_are_coalesced_with_sentence_transformers_entries(folders):
    from sentence_transformers import SparseEncoder as Reference

    reference = Reference(str(folders["mlm"]), device="cpu")
    model = SparseEncoder(str(folders["mlm"]))
    ours, theirs = model.encode(TEXTS), reference.encode(TEXTS)
    rows, reference_rows = (m.encode(TEXTS, convert_to_tensor=False) for m in (model, reference))
    pairs = [
        (ours, theirs),
        *zip(rows, reference_rows),
        (model.intersection(ours[0], ours[1]), reference.intersection(theirs[0], theirs[1])),
    ]
    for mine, their in pairs:
        assert mine.layout == their.layout == torch.sparse_coo
        assert mine.is_coalesced() and not their.is_coalesced()
        torch.testing.assert_close(mine.to_dense(), their.to_dense(), atol=1e-5, rtol=0)
        assert mine.indices().shape[1] == mine.values().shape[0]


def test_values_sentence_transformers_takes_are_refused(folders):
    from sentence_transformers import SentenceTransformer as Reference

    reference = Reference(str(folders["st"]), device="cpu")
    model = SentenceTransformer(str(folders["st"]))
    assert reference.encode(TEXTS, batch_size=True).shape == (3, 32)
    assert reference.encode(TEXTS, truncate_dim=0).shape == (3, 0)  # empty vectors
    assert reference.encode(TEXTS, truncate_dim=-1).shape == (3, 31)  # the last dimension dropped
    for options in ({"batch_size": True}, {"truncate_dim": 0}, {"truncate_dim": -1}):
        with pytest.raises(InputError):
            model.encode(TEXTS, **options)
    long = " ".join(["the cat sat on the mat"] * 8)
    limit = len(reference.tokenize([long])["input_ids"][0])
    reference.max_seq_length = 0
    assert len(reference.tokenize([long])["input_ids"][0]) > limit  # no limit there
    with pytest.raises(InputError):
        model.max_seq_length = 0


def _broken_copy(folders, name, edit):
    folder = shutil.copytree(folders["st"], folders["root"] / name)
    edit(folder)
    return str(folder)


def _edit_json(path, change):
    value = json.loads(path.read_text())
    change(value)
    path.write_text(json.dumps(value))


def test_folders_sentence_transformers_refuses_load(folders):
    from sentence_transformers import SentenceTransformer as Reference

    expected = SentenceTransformer(str(folders["st"])).encode(TEXTS)
    pooling_key = _broken_copy(
        folders,
        "pooling-key",
        lambda f: _edit_json(f / "1_Pooling" / "config.json", lambda c: c.update(extra=1)),
    )
    no_path = _broken_copy(
        folders, "no-path", lambda f: _edit_json(f / "modules.json", lambda m: m[0].pop("path"))
    )
    for folder, error in ((pooling_key, TypeError), (no_path, KeyError)):
        with pytest.raises(error):
            Reference(folder, device="cpu")
        np.testing.assert_allclose(SentenceTransformer(folder).encode(TEXTS), expected, atol=1e-5)


def test_load_errors_sentence_transformers_raises_as_import_errors_stay_os_errors(folders):
    from sentence_transformers import SentenceTransformer as Reference

    def unknown_class(modules):
        modules[1]["type"] = "sentence_transformers.models.NoSuchModule"

    unknown = _broken_copy(folders, "unknown-class", lambda f: _edit_json(f / "modules.json", unknown_class))
    dense = {
        "in_features": 32,
        "out_features": 8,
        "activation_function": "torch.nn.modules.activation.NoSuch",
    }
    activation = str(
        write_st_folder(
            folders["bert"], folders["root"] / "activation", classic_pooling(32, "mean"), dense=dense
        )
    )
    for folder in (unknown, activation):
        with pytest.raises(ImportError):
            Reference(folder, device="cpu").encode(TEXTS)
        with pytest.raises(ModelLoadError) as raised:
            SentenceTransformer(folder).encode(TEXTS)
        assert isinstance(raised.value, OSError) and not isinstance(raised.value, ImportError)


def test_chat_template_given_at_load(folders):
    from sentence_transformers import MultiVectorEncoder as ReferenceMultiVector
    from sentence_transformers import SparseEncoder as Reference

    kwargs = {"processor_kwargs": {"chat_template": TEMPLATE}}
    expected = Reference(str(folders["mlm"]), device="cpu", **kwargs).encode(TEXTS).to_dense()
    vectors = SparseEncoder(str(folders["mlm"]), **kwargs).encode(TEXTS)
    torch.testing.assert_close(torch.as_tensor(vectors).to_dense(), expected, atol=1e-5, rtol=0)
    # a plain folder in a MultiVectorEncoder on torch: its texts rendered by the template, as there
    torch.manual_seed(0)
    reference = ReferenceMultiVector(str(folders["bert"]), device="cpu", **kwargs)
    torch.manual_seed(0)
    model = sbert.MultiVectorEncoder(str(folders["bert"]), backend="torch", **kwargs)
    for mine, their in zip(model.encode(TEXTS), reference.encode(TEXTS)):
        torch.testing.assert_close(torch.as_tensor(mine), their, atol=1e-5, rtol=0)
