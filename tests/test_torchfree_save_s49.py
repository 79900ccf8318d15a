"""``SentenceTransformer.save`` and ``CrossEncoder.save`` in the base install (torch, transformers and
sentence-transformers not importable): the files the ONNX graph was built from, in the layout and with the
settings and model card that a save with torch writes; sentence-transformers loads the folder and encodes
(scores) as from the torch save. A pipeline whose files do not give that (a Dense the card's example would
not find) still says how to install torch."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import BLOCK_TORCH, HANG_GUARD_S, SENTENCES

import sbert

SAVE = (
    "from sbert import SentenceTransformer\n"
    "model = SentenceTransformer(sys.argv[1], prompts={'query': 'query: '}, default_prompt_name='query')\n"
    "model.max_seq_length = 20\n"
    "model.save(sys.argv[2])\n"
    "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
)


@pytest.fixture(scope="module")
def folder(tiny_bert, tmp_path_factory):
    """sentence-transformers' save of Transformer, Pooling (mean and max, the prompt left out), a biased
    Dense and Normalize, without its README (so each save generates the card)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling

    root = tmp_path_factory.mktemp("torchfree-save")
    torch.manual_seed(4)
    transformer = Transformer(str(tiny_bert))
    pooling = Pooling(32, ["mean", "max"], include_prompt=False)
    modules = [transformer, pooling, Dense(64, 16, bias=True), Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(root / "st"))
    (root / "st" / "README.md").unlink()
    return root / "st"


def _without_torch(code: str, *arguments, fails: bool = False) -> subprocess.CompletedProcess:
    """``code`` run where torch, transformers and sentence-transformers cannot be imported."""
    command = [sys.executable, "-c", BLOCK_TORCH + code, *map(str, arguments)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD_S)
    if not fails:
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith("[]")  # torch and transformers never imported
    return done


def _torch_save(source, out) -> None:
    """The same model and settings saved with torch (its torch modules load for the save)."""
    model = sbert.SentenceTransformer(str(source), prompts={"query": "query: "}, default_prompt_name="query")
    model.max_seq_length = 20
    model.save(str(out))


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("source", ["pipeline", "default", "plain"])
def test_saves_what_a_save_with_torch_writes(folder, default_model_path, tiny_bert, tmp_path, source):
    """``plain``: a plain Hugging Face folder, whose Pooling (mean, built by the loader) gets the folder and
    config a save with torch gives it."""
    from sentence_transformers import SentenceTransformer

    model_folder = {"pipeline": folder, "default": default_model_path, "plain": tiny_bert}[source]
    copy = shutil.copytree(model_folder, tmp_path / "source", ignore=shutil.ignore_patterns("onnx"))
    without, with_torch = tmp_path / "without" / "model", tmp_path / "with" / "model"  # the card's title
    _without_torch(SAVE, copy, without)
    _torch_save(copy, with_torch)
    assert _files(without) == _files(with_torch)
    card = (without / "README.md").read_text()
    assert card == (with_torch / "README.md").read_text()  # a generated card, or the loaded one again
    if source == "pipeline":
        assert "mean_pooling" in card and "exclude_prompt" in card and "load_file" in card
    if source == "plain":
        assert "mean_pooling" in card and "exclude_prompt" not in card
    for name in (
        "sentence_bert_config.json",
        "tokenizer_config.json",
        "modules.json",
        "1_Pooling/config.json",
    ):
        assert (without / name).read_text() == (with_torch / name).read_text(), name
    ours, theirs = (
        SentenceTransformer(str(without), device="cpu"),
        SentenceTransformer(str(with_torch), device="cpu"),
    )
    assert ours.max_seq_length == theirs.max_seq_length == 20 and ours.prompts == theirs.prompts
    assert ours.default_prompt_name == "query"
    np.testing.assert_allclose(ours.encode(SENTENCES), theirs.encode(SENTENCES), atol=1e-6, rtol=0)
    again = sbert.SentenceTransformer(str(without))
    np.testing.assert_allclose(again.encode(SENTENCES), theirs.encode(SENTENCES), atol=1e-5, rtol=0)


def test_a_folder_the_card_cannot_read_still_needs_torch_to_save(folder, tmp_path):
    """A Dense outside ``<i>_Dense`` (the card's plain-transformers example loads its weights from there, as
    a save with torch writes them): the save needs the torch modules, and says how to install them."""
    import json

    copy = shutil.copytree(folder, tmp_path / "renamed", ignore=shutil.ignore_patterns("onnx"))
    (copy / "2_Dense").rename(copy / "2_Projection")
    listed = json.loads((copy / "modules.json").read_text())
    listed[2]["path"] = "2_Projection"
    (copy / "modules.json").write_text(json.dumps(listed))
    code = "from sbert import SentenceTransformer\nSentenceTransformer(sys.argv[1]).save(sys.argv[2])\n"
    done = _without_torch(code, copy, tmp_path / "out", fails=True)
    assert done.returncode != 0 and "pip install 'sbert[torch]'" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_cross_encoder_saves_without_torch_as_with_it(tmp_path):
    """CrossEncoder.save in the base install: the files its graph was built from, the activation recorded
    in config.json, the tokenizer with the current limit and the card a save with torch writes;
    sentence-transformers' CrossEncoder scores the folder as the torch save."""
    import json

    from conftest import build_tiny_classifier
    from sentence_transformers import CrossEncoder

    source = build_tiny_classifier(tmp_path / "classifier")
    code = (
        "from sbert import CrossEncoder\n"
        "CrossEncoder(sys.argv[1], max_length=24).save(sys.argv[2])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    without, with_torch = tmp_path / "without" / "model", tmp_path / "with" / "model"
    _without_torch(code, source, without)
    sbert.CrossEncoder(str(source), max_length=24).save(str(with_torch))
    assert _files(without) == _files(with_torch)
    for name in ("README.md", "sentence_bert_config.json", "tokenizer_config.json"):
        assert (without / name).read_text() == (with_torch / name).read_text(), name
    recorded = [
        json.loads((f / "config.json").read_text())["sentence_transformers"] for f in (without, with_torch)
    ]
    assert recorded[0] == recorded[1]
    pairs = [(SENTENCES[0], SENTENCES[1]), (SENTENCES[2], SENTENCES[3])]
    ours, theirs = CrossEncoder(str(without), device="cpu"), CrossEncoder(str(with_torch), device="cpu")
    assert ours.max_seq_length == theirs.max_seq_length == 24
    np.testing.assert_allclose(ours.predict(pairs), theirs.predict(pairs), atol=1e-6, rtol=0)
