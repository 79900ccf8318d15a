"""An EmbeddingGemma-shaped model (a bidirectional Gemma3 encoder with sliding-window layers, mean pooling,
two bias-free Dense layers and Normalize) on the ONNX backend: its graph traces (transformers builds
Gemma3's bidirectional masks with ``torch.vmap``, which torch's ONNX tracer cannot follow) and encodes as
sentence-transformers does, for texts longer than the sliding window, padded on either side, and from the
cached graph and an exported folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import cosines

from sbert import SentenceTransformer

TEXTS = [
    "the cat sat on the mat",
    "a",
    "the man plays guitar and the woman plays music in the big house with the red car " * 2,
    "he ran to the tree, she walked to the house, they ate food",
]
SLIDING_WINDOW = 4  # shorter than the tracing sample (8 tokens) and than most texts


def _build(folder: Path, tiny_bert: Path, padding_side: str) -> Path:
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer as STModel
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_bert)
    config = transformers.Gemma3TextConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=8,
        pad_token_id=0,
        sliding_window=SLIDING_WINDOW,
        layer_types=["sliding_attention", "full_attention"],
        use_bidirectional_attention=True,
    )
    torch.manual_seed(0)
    transformers.Gemma3TextModel(config).eval().save_pretrained(folder / "hf")
    tokenizer.padding_side = padding_side
    tokenizer.save_pretrained(folder / "hf")
    encoder = Transformer(str(folder / "hf"), max_seq_length=64)
    identity = torch.nn.Identity()
    modules = [
        encoder,
        Pooling(32, "mean"),
        Dense(32, 64, bias=False, activation_function=identity),
        Dense(64, 32, bias=False, activation_function=identity),
        Normalize(),
    ]
    STModel(modules=modules, device="cpu").save(str(folder / "st"))
    return folder / "st"


@pytest.fixture(scope="module", params=["right", "left"])
def gemma3(request, tiny_bert, tmp_path_factory) -> tuple[Path, np.ndarray]:
    """The model folder (padded on the ``param`` side) and sentence-transformers' embeddings of TEXTS."""
    from sentence_transformers import SentenceTransformer as STModel

    folder = _build(tmp_path_factory.mktemp(f"gemma3-{request.param}"), tiny_bert, request.param)
    return folder, STModel(str(folder), device="cpu").encode(TEXTS)


def _assert_matches(ours: np.ndarray, reference: np.ndarray) -> None:
    assert ours.shape == reference.shape == (len(TEXTS), 32)
    assert cosines(ours, reference).min() >= 0.99999
    np.testing.assert_allclose(ours, reference, atol=1e-5, rtol=0)


def test_onnx_encodes_as_sentence_transformers(gemma3):
    folder, reference = gemma3
    model = SentenceTransformer(folder, backend="onnx")
    assert model.backend == "onnx"
    _assert_matches(model.encode(TEXTS), reference)
    assert len(model.tokenizer(TEXTS[2])["input_ids"]) > 4 * SLIDING_WINDOW  # past the window, and the sample


def test_padding_does_not_change_a_text_vector(gemma3):
    folder, reference = gemma3
    model = SentenceTransformer(folder, backend="onnx")
    alone = np.stack([model.encode([text])[0] for text in TEXTS])
    _assert_matches(alone, reference)
    _assert_matches(model.encode(TEXTS, batch_size=2), reference)


def test_the_cached_graph_and_an_export_load_again(gemma3, tmp_path):
    folder, reference = gemma3
    SentenceTransformer(folder, backend="onnx")  # the cache exists after the first load
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    _assert_matches(SentenceTransformer(copy, backend="onnx").encode(TEXTS), reference)
    SentenceTransformer(folder, backend="torch").export(tmp_path / "exported")
    _assert_matches(SentenceTransformer(tmp_path / "exported").encode(TEXTS), reference)
