"""``repr(cross_encoder)`` and ``repr(cross_encoder[0])`` as sentence-transformers 6.3 prints them: the module
list, one line per module (``(0): Transformer({... 'architecture': ...})``, a causal reranker's
``(1): LogitScore({...})``), the same before and after the torch modules load (an ONNX model's repr loads
none). Before: ``CrossEncoder(architecture=..., num_labels=..., ...)``, and module 0 without its
architecture."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import build_tiny_classifier
from test_cross_encoder_causal import build_tiny_causal_lm

import sbert


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("ce_repr")
    return {
        "one label": build_tiny_classifier(root / "one"),
        "three labels": build_tiny_classifier(root / "three", num_labels=3),
        "causal": build_tiny_causal_lm(root / "causal"),
    }


@pytest.mark.parametrize("kind", ["one label", "three labels", "causal"])
def test_cross_encoder_repr_as_sentence_transformers(folders, kind):
    from sentence_transformers import CrossEncoder as Reference

    reference = Reference(str(folders[kind]), device="cpu")
    model = sbert.CrossEncoder(folders[kind])
    assert repr(model) == repr(reference)  # from the files (no torch module loaded yet on ONNX)
    assert repr(model[0]) == repr(reference[0])
    assert repr(model) == repr(reference)  # from the torch modules
    assert repr(sbert.CrossEncoder(folders[kind], backend="torch")) == repr(reference)


def test_repr_of_an_onnx_cross_encoder_imports_no_torch(folders):
    code = (
        "import sys, sbert; m = sbert.CrossEncoder(sys.argv[1]); text = repr(m); "
        "assert text.startswith('CrossEncoder(\\n  (0): Transformer('), text; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code, str(folders["one label"])], check=True)
