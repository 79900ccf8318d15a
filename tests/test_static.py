"""StaticEmbedding: sentence-transformers' and model2vec's static models load, encode equal (torch and the
numpy "static" backend), save back, train, and ``sbert distill --static`` makes them with model2vec.

Tiny models only: a 16-dim table over the tiny BERT's vocabulary, and a distillation of the tiny BERT.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SENTENCES, classic_pooling

import sbert
from sbert import BackendUnavailableError, InputError, SentenceTransformer, StaticEmbedding
from sbert._cli import main

TOL = 1e-5
DIM = 16
LONG = "the cat sat on the mat " * 300  # 1800 tokens: static models read whole texts
TEXTS = [*SENTENCES, LONG]
# Whole words of the tiny vocabulary only, under 512 tokens: model2vec drops [UNK] tokens from the mean
# and cuts texts at its max_length (512) unless tokenizer.json says otherwise, while sentence-transformers
# (and sbert, which follows it) averages [UNK] in and reads whole texts.
KNOWN = [
    "The weather is lovely today.",
    "he drove to the stadium!",
    "",
    "a",
    "A man plays guitar?",
    LONG[:460],
]


def _st_static_model(tiny_bert: Path, normalize: bool):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.base.modules import Normalize
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding as Static
    from tokenizers import Tokenizer

    torch.manual_seed(3)
    static = Static(Tokenizer.from_file(str(tiny_bert / "tokenizer.json")), embedding_dim=DIM)
    return Reference(modules=[static, Normalize()] if normalize else [static], device="cpu")


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "normalized"])
def st_static(request, tiny_bert, tmp_path_factory):
    """A static model built and saved by sentence-transformers, and its embeddings of TEXTS."""
    reference = _st_static_model(tiny_bert, request.param)
    folder = tmp_path_factory.mktemp("st-static") / "model"
    reference.save(str(folder))
    return folder, reference.encode(TEXTS, convert_to_numpy=True)


def _model2vec_folder(tiny_bert: Path, folder: Path, *, quantized: bool, modules_json: bool) -> Path:
    """A model2vec folder written by model2vec itself (optionally vocabulary-quantized: a token mapping
    and per-token weights), with or without the modules.json newer model2vec releases add."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tiny_bert / "tokenizer.json"))
    rng = np.random.default_rng(0)
    vocab = tokenizer.get_vocab_size()
    rows = 7 if quantized else vocab
    options = {}
    if quantized:
        options = {"token_mapping": rng.integers(0, rows, vocab), "weights": rng.uniform(0.5, 2, vocab)}
    vectors = rng.normal(size=(rows, DIM)).astype(np.float32)
    StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True, **options).save_pretrained(folder)
    if not modules_json:
        (folder / "modules.json").unlink()
    return folder


# ------------------------------------------------------------------ sentence-transformers' layout


@pytest.mark.parametrize("backend", ["torch", "static", "auto"])
def test_st_static_model_loads_with_equal_embeddings(st_static, backend):
    folder, expected = st_static
    model = SentenceTransformer(folder, backend=backend)
    assert model.backend == ("static" if backend == "auto" else backend)
    assert model.get_embedding_dimension() == DIM
    ours = model.encode(TEXTS)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, atol=TOL, rtol=0)
    assert not ours[SENTENCES.index("")].any()  # an empty text is a zero vector (normalized or not)
    assert repr(model).splitlines()[1] == "  (0): StaticEmbedding({})"  # from its files on the static backend


def test_torch_backend_runs_the_torch_module(st_static):
    model = SentenceTransformer(st_static[0], backend="torch")
    assert isinstance(model[0], StaticEmbedding) and repr(model[0]) == "StaticEmbedding({})"
    assert model[0].embedding.weight.shape[1] == DIM


def test_sbert_saves_st_layout_that_st_loads(st_static, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference

    folder, expected = st_static
    SentenceTransformer(folder, backend="static").save(tmp_path / "saved")  # loads the torch modules
    saved = tmp_path / "saved"
    # at the model's root, as sentence-transformers 6 saves an input module that comes first
    assert {"model.safetensors", "tokenizer.json"} <= {p.name for p in saved.iterdir()}
    modules = json.loads((saved / "modules.json").read_text())
    assert modules[0]["path"] == ""
    assert modules[0]["type"] == "sentence_transformers.models.StaticEmbedding"
    assert "(0): StaticEmbedding({})" in (saved / "README.md").read_text()  # the card shows the module
    reloaded = Reference(str(saved), device="cpu").encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(reloaded, expected, atol=TOL, rtol=0)
    np.testing.assert_allclose(SentenceTransformer(saved).encode(TEXTS), expected, atol=TOL, rtol=0)


def test_static_backend_needs_neither_torch_nor_onnx(st_static):
    code = (
        "import sys, sbert\n"
        f"model = sbert.SentenceTransformer({str(st_static[0])!r})\n"
        "vectors = model.encode(['the cat sat', ''])\n"
        "print(model.backend, vectors.shape, sorted(m for m in ('torch', 'onnxruntime', 'transformers')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[0] == f"static (2, {DIM}) []", out.stdout + out.stderr


def test_static_backend_refuses_other_models(tiny_st_factory):
    with pytest.raises(InputError, match="backend='static' runs saved StaticEmbedding models"):
        SentenceTransformer(tiny_st_factory(classic_pooling(32, "mean")), backend="static")


def test_module_built_in_python_matches_reference(tiny_bert):
    from tokenizers import Tokenizer

    reference = _st_static_model(tiny_bert, normalize=False)
    table = reference[0].embedding.weight.detach().numpy()
    tokenizer = Tokenizer.from_file(str(tiny_bert / "tokenizer.json"))
    tokenizer.enable_padding()
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, table)])
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=TOL, rtol=0)
    assert tokenizer.padding is not None  # the module tokenizes with a copy: the caller's keeps its settings
    with pytest.raises(InputError, match="embedding_weights or embedding_dim"):
        StaticEmbedding(tokenizer)
    with pytest.raises(InputError, match="fast tokenizer"):
        StaticEmbedding("not a tokenizer", embedding_dim=4)


# ------------------------------------------------------------------ model2vec folders


@pytest.mark.parametrize("quantized", [False, True], ids=["table", "mapping+weights"])
@pytest.mark.parametrize("modules_json", [False, True], ids=["model2vec-only", "with-modules.json"])
def test_model2vec_folder_loads_with_model2vec_embeddings(tiny_bert, tmp_path, quantized, modules_json):
    from model2vec import StaticModel

    folder = _model2vec_folder(tiny_bert, tmp_path / "m2v", quantized=quantized, modules_json=modules_json)
    expected = StaticModel.from_pretrained(folder).encode(KNOWN)
    for backend in ("static", "torch"):
        model = SentenceTransformer(folder, backend=backend)
        np.testing.assert_allclose(model.encode(KNOWN), expected, atol=TOL, rtol=0)
    module = StaticEmbedding.from_model2vec(folder)
    ours = SentenceTransformer(modules=[module, sbert.Normalize()]).encode(KNOWN)
    np.testing.assert_allclose(ours, expected, atol=TOL, rtol=0)


def test_model2vec_folder_of_bfloat16_vectors_loads_torch_free(tiny_bert, tmp_path):
    """A table stored in bfloat16 (numpy has no such type) is widened to float32 exactly: the same numbers as
    model2vec on the float32 table of the same values, on the static backend."""
    import torch
    from model2vec import StaticModel
    from safetensors.torch import load_file, save_file

    folder = _model2vec_folder(tiny_bert, tmp_path / "m2v", quantized=False, modules_json=False)
    tensors = load_file(folder / "model.safetensors")
    rounded = tensors["embeddings"].to(torch.bfloat16)
    save_file({**tensors, "embeddings": rounded.float()}, folder / "model.safetensors")
    expected = StaticModel.from_pretrained(folder).encode(KNOWN)
    save_file({**tensors, "embeddings": rounded}, folder / "model.safetensors")
    model = SentenceTransformer(folder, backend="static")
    np.testing.assert_allclose(model.encode(KNOWN), expected, atol=TOL, rtol=0)


# ------------------------------------------------------------------ training


def test_loss_and_gradient_equal_sentence_transformers(st_static):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import losses

    folder = st_static[0]
    ours = SentenceTransformer(folder, backend="torch")
    theirs = Reference(str(folder), device="cpu")
    columns = [["the cat sat", "a man plays guitar", "she is happy"], ["a dog ran", "music", "he is sad"]]
    results = []
    for model, loss in (
        (ours, sbert.MultipleNegativesRankingLoss(ours)),
        (theirs, losses.MultipleNegativesRankingLoss(theirs)),
    ):
        model[0].embedding.weight.grad = None
        value = loss([model.tokenize(texts) for texts in columns], None)
        value.backward()
        results.append((value.item(), model[0].embedding.weight.grad.clone()))
    (value, grad), (ref_value, ref_grad) = results
    assert abs(value - ref_value) < TOL, (value, ref_value)
    assert grad.abs().sum() > 0
    torch.testing.assert_close(grad, ref_grad, atol=TOL, rtol=1e-4)


def test_one_training_step_changes_the_table(st_static, tmp_path):
    model = SentenceTransformer(st_static[0], backend="torch")
    before = model[0].embedding.weight.detach().clone()
    pairs = [("the cat sat", "a dog ran"), ("a man plays guitar", "a woman plays music")] * 2
    out = model.fit(
        [(sbert.load_dataset(pairs), sbert.MultipleNegativesRankingLoss(model))],
        output_path=tmp_path,
        batch_size=4,
        learning_rate=1e-2,
        warmup_steps=0,
        show_progress_bar=False,
        plot=False,
        save_final_model=False,
    )
    assert out.global_step == 1
    assert not torch.equal(model[0].embedding.weight.detach(), before)


# ------------------------------------------------------------------ distillation (model2vec)


def test_distill_static_loads_everywhere_with_equal_embeddings(tiny_st_factory, tmp_path):
    from model2vec import StaticModel
    from sentence_transformers import SentenceTransformer as Reference

    source = tiny_st_factory(classic_pooling(32, "mean"))
    out = tmp_path / "static"
    assert main(["distill", str(source), str(out), "--static", "--pca-dims", "8"]) == 0
    expected = StaticModel.from_pretrained(out).encode(KNOWN)
    assert expected.shape == (len(KNOWN), 8)
    theirs = Reference(str(out), device="cpu").encode(KNOWN, convert_to_numpy=True)
    np.testing.assert_allclose(theirs, expected, atol=TOL, rtol=0)
    for backend in ("auto", "torch"):
        model = SentenceTransformer(out, backend=backend)
        assert model.backend == ("static" if backend == "auto" else "torch")
        np.testing.assert_allclose(model.encode(KNOWN), expected, atol=TOL, rtol=0)
    kinds = [m["type"].rsplit(".", 1)[1] for m in json.loads((out / "modules.json").read_text())]
    assert kinds == ["StaticEmbedding", "Normalize"]


def test_from_distillation_takes_sentence_transformers_arguments(tiny_st_factory):
    """vocabulary, sif_coefficient, token_remove_pattern and quantize_to reach model2vec's distillation (the
    result equals model2vec's own distillation with them); a switch the installed model2vec lacks, turned
    off, is left out with a warning."""
    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    source = tiny_st_factory(classic_pooling(32, "mean"))
    options = {"vocabulary": ["zebraword"], "sif_coefficient": None, "pca_dims": 8}
    ours = StaticEmbedding.from_distillation(str(source), **options)
    direct = distill_from_model(
        AutoModel.from_pretrained(source),
        AutoTokenizer.from_pretrained(source),
        device="cpu",
        quantize_to="float32",
        **options,
    )
    assert ours.get_embedding_dimension() == direct.dim == 8
    np.testing.assert_allclose(
        SentenceTransformer(modules=[ours]).encode(KNOWN), direct.encode(KNOWN, normalize=False), atol=1e-5
    )
    with pytest.warns(UserWarning, match="does not take \\['apply_zipf'\\]"):
        StaticEmbedding.from_distillation(str(source), pca_dims=8, apply_zipf=False)


def test_distill_needs_static_flag_and_model2vec(tiny_st_factory, tmp_path, monkeypatch, capsys):
    source = str(tiny_st_factory(classic_pooling(32, "mean")))
    assert main(["distill", source, str(tmp_path / "a")]) == 2
    assert "add --static" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "model2vec.distill", None)  # as if model2vec were not installed
    with pytest.raises(BackendUnavailableError, match=r"pip install 'sbert\[distill\]'"):
        StaticEmbedding.from_distillation(source, pca_dims=8)
    assert main(["distill", source, str(tmp_path / "b"), "--static"]) == 2
    assert "sbert[distill]" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
