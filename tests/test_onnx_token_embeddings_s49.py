"""``encode(output_value="token_embeddings")`` on ONNX Runtime: the graph's token embeddings (the pipeline's
last), so the base install gives them without torch (numpy arrays, one per text) and a model with torch
installed does not load its torch modules for them; sentence-transformers' values within 1e-5."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from conftest import BLOCK_TORCH, HANG_GUARD_S, SENTENCES

TEXTS = [t for t in SENTENCES if t]


def _assert_tokens_equal(ours, theirs) -> None:
    assert len(ours) == len(theirs)
    for got, expected in zip(ours, theirs):
        expected = expected.numpy() if hasattr(expected, "numpy") else expected
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_without_torch_as_sentence_transformers(default_model_path, tmp_path):
    from sentence_transformers import SentenceTransformer

    code = BLOCK_TORCH + (
        "import numpy as np\n"
        "from sbert import SentenceTransformer\n"
        "model = SentenceTransformer(sys.argv[1])\n"
        "plain = model.encode(sys.argv[3:], output_value='token_embeddings')\n"
        "prompted = model.encode(sys.argv[3:], output_value='token_embeddings', prompt='query: ')\n"
        "one = model.encode(sys.argv[3], output_value='token_embeddings')\n"
        "assert all(isinstance(a, np.ndarray) for a in plain) and isinstance(one, np.ndarray)\n"
        "np.savez(sys.argv[2], *plain, *prompted, one=one)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    out = tmp_path / "tokens.npz"
    command = [sys.executable, "-c", code, str(default_model_path), str(out), *TEXTS]
    done = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[]")
    arrays = np.load(out)
    found = [arrays[f"arr_{i}"] for i in range(2 * len(TEXTS))]
    reference = SentenceTransformer(str(default_model_path), device="cpu")
    _assert_tokens_equal(found[: len(TEXTS)], reference.encode(TEXTS, output_value="token_embeddings"))
    prompted = reference.encode(TEXTS, output_value="token_embeddings", prompt="query: ")
    _assert_tokens_equal(found[len(TEXTS) :], prompted)
    _assert_tokens_equal([arrays["one"]], [reference.encode(TEXTS[0], output_value="token_embeddings")])


def test_the_graph_gives_them_with_torch_installed(tiny_st_factory, monkeypatch):
    """A model on ONNX reads its token embeddings off the graph (its torch modules never load), equal to its
    torch backend's, for a pipeline whose Pooling leaves the prompt out too."""
    from conftest import classic_pooling

    import sbert._model

    folder = tiny_st_factory({**classic_pooling(32, "mean"), "include_prompt": False})
    onnx, torch = (sbert.SentenceTransformer(str(folder), backend=b) for b in ("onnx", "torch"))

    def refuse(*args, **kwargs):
        raise AssertionError("the torch modules were loaded for token embeddings on ONNX")

    monkeypatch.setattr(sbert._model, "load_modules", refuse)
    for prompt in (None, "query: "):
        got = onnx.encode(TEXTS, output_value="token_embeddings", prompt=prompt)
        expected = torch.encode(TEXTS, output_value="token_embeddings", prompt=prompt)
        _assert_tokens_equal([t.numpy() for t in got], expected)
    _assert_tokens_equal(onnx.token_embeddings(TEXTS), torch.token_embeddings(TEXTS))
