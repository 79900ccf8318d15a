"""Cross-encoder graphs built without torch (sbert._backends.graph_builder.classifier): for a tiny random
sequence-classification model of each encoder family the built graph gives transformers' logits and
sentence-transformers' CrossEncoder scores; ``backend="auto"`` takes it on the CPU (no export step, no torch);
other heads are left to torch; a corrupt head names its tensor."""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import BLOCK_TORCH, ENCODER_FAMILIES, build_tiny_encoder, int8_weights, onnx_cache_dir

from sbert import ModelLoadError
from sbert._backends.graph_builder import build_pipeline_graph, can_build
from sbert._backends.onnx_export import EXPORT_DIR, read_export_meta

ATOL = 1e-5
PAIRS = [
    ("The weather is lovely today.", "It's so sunny outside!"),
    ("He drove to the stadium.", "The cat sat on the mat and the dog ran in the house " * 4),
    ("a", ""),
    ("Unknown wörds ünïcode 🙂", "numbers 12345 and the red car"),
]


@pytest.fixture(scope="module")
def classifiers(tiny_bert, tmp_path_factory):
    """A 3-label classifier of each family, and a 1-label BERT one."""
    root = tmp_path_factory.mktemp("classifiers")
    # type_vocab_size 2: the tiny BERT tokenizer gives the second text of a pair token type 1
    found = {
        kind: build_tiny_encoder(kind, tiny_bert, root / kind, num_labels=3, type_vocab_size=2)
        for kind in ENCODER_FAMILIES
    }
    found["bert-1"] = build_tiny_encoder("bert", tiny_bert, root / "bert-1", num_labels=1, type_vocab_size=2)
    return found


def transformers_logits(folder, pairs):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    batch = tokenizer([a for a, _ in pairs], [b for _, b in pairs], padding=True, return_tensors="pt")
    if "token_type_ids" not in inspect.signature(model.forward).parameters:
        batch.pop("token_type_ids")
    with torch.no_grad():
        return model(**batch).logits.numpy()


@pytest.mark.parametrize("kind", [*ENCODER_FAMILIES, "bert-1"])
def test_built_graph_gives_transformers_logits_and_sentence_transformers_scores(classifiers, kind):
    import torch
    from sentence_transformers import CrossEncoder as Reference

    from sbert import CrossEncoder

    folder = classifiers[kind]
    assert can_build(folder, classifier=True)
    ours = CrossEncoder(folder)  # auto: the built graph on the CPU
    assert (ours.backend, ours.precision) == ("onnx", "fp32")
    meta = read_export_meta(onnx_cache_dir(folder))
    assert meta["built"] and meta["outputs"] == ["logits"]
    logits = ours.predict(PAIRS, activation_fn=torch.nn.Identity())
    expected = transformers_logits(folder, PAIRS).reshape(logits.shape)
    assert np.ptp(expected) > 0.01  # the logits differ: a real comparison
    np.testing.assert_allclose(logits, expected, atol=ATOL, rtol=0)
    reference = Reference(str(folder), device="cpu")
    np.testing.assert_allclose(ours.predict(PAIRS), reference.predict(PAIRS), atol=ATOL, rtol=0)


def test_auto_scores_without_torch_on_the_built_graph(classifiers, tmp_path):
    from sbert import CrossEncoder

    probe = BLOCK_TORCH + (
        "import json, numpy as np\nfrom sbert import CrossEncoder\n"
        "model = CrossEncoder(sys.argv[1])\n"
        "np.save(sys.argv[3], model.predict([tuple(p) for p in json.loads(sys.argv[2])]))\n"
        "print(model.backend, sorted(m for m in sys.modules if m.startswith(('torch', 'transformers'))))\n"
    )
    folder = tmp_path / "copy"
    shutil.copytree(classifiers["bert-1"], folder)
    args = [sys.executable, "-c", probe, str(folder), json.dumps(PAIRS), str(tmp_path / "s.npy")]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["onnx", "[]"]
    expected = CrossEncoder(folder, backend="torch").predict(PAIRS)
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), expected, atol=ATOL, rtol=0)


def test_other_heads_are_left_to_torch_and_a_corrupt_head_names_its_tensor(classifiers, tmp_path):
    from safetensors.numpy import load_file, save_file

    from sbert import CrossEncoder

    other = tmp_path / "token-classifier"
    shutil.copytree(classifiers["bert"], other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "architectures": ["BertForMultipleChoice"]}))
    assert not can_build(other, classifier=True)
    assert not build_pipeline_graph(other, tmp_path / "g.onnx", classifier=True)
    assert not (tmp_path / "g.onnx").exists()

    corrupt = tmp_path / "corrupt"
    shutil.copytree(classifiers["bert"], corrupt)
    weights = load_file(corrupt / "model.safetensors")
    save_file({k: v for k, v in weights.items() if k != "classifier.weight"}, corrupt / "model.safetensors")
    with pytest.raises(ModelLoadError, match="classifier.weight"):
        build_pipeline_graph(corrupt, tmp_path / "g.onnx", classifier=True)
    with pytest.raises(ModelLoadError, match="classifier.weight"):
        CrossEncoder(corrupt)


EXPORT_PROBE = BLOCK_TORCH + (
    "import json, numpy as np\nfrom sbert import CrossEncoder\n"
    "quantize = sys.argv[4] or None\n"
    "CrossEncoder(sys.argv[1]).export(sys.argv[2], quantize=quantize)\n"
    "model = CrossEncoder(sys.argv[2])\n"
    "np.save(sys.argv[3], model.predict([tuple(p) for p in json.loads(sys.argv[5])]))\n"
    "loaded = sorted(m for m in sys.modules if m.startswith(('torch', 'transformers')))\n"
    "print(model.backend, model.precision, loaded)\n"
)


@pytest.mark.parametrize("quantize", ["", "int8"])
def test_export_without_torch_writes_a_graph_only_folder_that_scores_as_torch(
    classifiers, tmp_path, quantize
):
    from sentence_transformers import CrossEncoder as Reference

    from sbert import CrossEncoder

    out = tmp_path / "exported"
    args = [str(classifiers["bert-1"]), str(out), str(tmp_path / "s.npy"), quantize, json.dumps(PAIRS)]
    result = subprocess.run(
        [sys.executable, "-c", EXPORT_PROBE, *args], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["onnx", quantize or "fp32", "[]"]
    assert not list(out.rglob("*.safetensors")) and (out / "README.md").is_file()
    meta = read_export_meta(out / EXPORT_DIR)
    assert meta["export_only"] and meta["built"] and list(meta["graphs"]) == [quantize or "fp32"]
    expected = Reference(str(classifiers["bert-1"]), device="cpu").predict(PAIRS)
    found = np.load(tmp_path / "s.npy")
    if quantize:
        assert np.corrcoef(found, expected)[0, 1] > 0.99
    else:
        np.testing.assert_allclose(found, expected, atol=ATOL, rtol=0)
        np.testing.assert_allclose(CrossEncoder(out).predict(PAIRS), expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("bits", [8, 7])
def test_int8_classifier_graph_weights_have_the_bits_asked(classifiers, tmp_path, bits):
    """The cross-encoder's int8 graph rounds its weights to the bits asked, as the embedding graph does
    (7 on CPUs whose int8 kernels saturate with 8)."""
    graph_path = tmp_path / "built" / "model_int8.onnx"
    assert build_pipeline_graph(
        classifiers["bert-1"], graph_path, classifier=True, precision="int8", weight_bits=bits
    )
    weights = int8_weights(graph_path)
    assert weights and max(int(np.abs(w).max()) for w in weights) == 2 ** (bits - 1) - 1
