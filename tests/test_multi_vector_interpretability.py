"""sbert.multi_vector_encoder.interpretability as sentence-transformers 6.3's: the query-token slice of a
tiny model (with a prompt, with and without query expansion), the per-token similarity maps (within 1e-5),
the patch grid off a processor, and the heatmap images (the same pixels)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert
from PIL import Image
from sentence_transformers.multi_vector_encoder import interpretability as reference

import sbert
from sbert import InputError
from sbert.multi_vector_encoder import interpretability as ours

TOL = 1e-5
QUERIES = ["what is the weather like", "a cat", ""]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """sentence-transformers' saves of a tiny model with a query prompt: ``plain`` and ``expanded`` (fixed
    query expansion)."""
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    root = tmp_path_factory.mktemp("multi-vector-interpretability")
    bert = build_tiny_bert(root / "bert")
    for name, options in (
        ("plain", {}),
        ("expanded", {"query_expansion": {"strategy": "fixed", "length": 12}}),
    ):
        torch.manual_seed(1)
        modules = [
            Transformer(str(bert), **options),
            Dense(
                32,
                8,
                bias=False,
                activation_function=torch.nn.Identity(),
                module_input_name="token_embeddings",
            ),
            MultiVectorMask(),
            Normalize(module_input_name="token_embeddings"),
        ]
        MultiVectorEncoder(modules=modules, device="cpu", prompts={"query": "query: "}).save(str(root / name))
    return root


@pytest.mark.parametrize("name", ["plain", "expanded"])
def test_real_query_token_slice_as_sentence_transformers(folders, name):
    from sentence_transformers import MultiVectorEncoder

    model = sbert.MultiVectorEncoder(str(folders / name), device="cpu")
    expected_model = MultiVectorEncoder(str(folders / name), device="cpu")
    for query in QUERIES:
        found = ours.real_query_token_slice(model, query)
        assert found == reference.real_query_token_slice(expected_model, query)
        torch.testing.assert_close(
            model.encode_query(query)[found], expected_model.encode_query(query)[found], atol=TOL, rtol=0
        )
    with pytest.raises(ValueError, match="patch grid"):  # a text model has none, in both
        reference.get_n_patches(expected_model, (64, 64))
    with pytest.raises(InputError, match="patch grid"):
        ours.get_n_patches(model, (64, 64))


def test_similarity_maps_and_heatmaps_as_sentence_transformers():
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(5, 8, generator=generator)
    image_tokens = torch.randn(14, 8, generator=generator)
    mask = torch.ones(14, dtype=torch.bool)
    mask[[0, 13]] = False  # 12 patches among two other tokens
    for normalize in (False, True):
        found = ours.maxsim_similarity_map(query, image_tokens, (4, 3), image_mask=mask, normalize=normalize)
        expected = reference.maxsim_similarity_map(
            query, image_tokens, (4, 3), image_mask=mask, normalize=normalize
        )
        assert found.shape == (5, 3, 4) and found.dtype == torch.float32
        torch.testing.assert_close(found, expected, atol=TOL, rtol=0)
    image = Image.fromarray(np.arange(32 * 24 * 3, dtype=np.uint8).reshape(24, 32, 3))
    for aggregate in ("sum", "amax", "none"):
        drawn = ours.maxsim_heatmap(image, query, image_tokens, (4, 3), image_mask=mask, aggregate=aggregate)
        expected = reference.maxsim_heatmap(
            image, query, image_tokens, (4, 3), image_mask=mask, aggregate=aggregate
        )
        drawn, expected = (x if isinstance(x, list) else [x] for x in (drawn, expected))
        assert len(drawn) == len(expected)
        for a, b in zip(drawn, expected):
            assert a.mode == b.mode == "RGBA" and np.array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(InputError, match="n_patches"):
        ours.maxsim_similarity_map(query, image_tokens, (4, 3))
    with pytest.raises(InputError, match="aggregate"):
        ours.maxsim_heatmap(image, query, image_tokens, (4, 3), image_mask=mask, aggregate="mean")


class _Processor:
    """A square PaliGemma-style processor, or a Qwen-VL style one with a dynamic grid."""

    def __init__(self, image_seq_length=None, merge_size=None):
        self.image_seq_length = image_seq_length
        if merge_size is not None:
            self.image_processor = self
            self.merge_size = merge_size

    def __call__(self, images, return_tensors):
        width, height = images[0].size
        return {"image_grid_thw": torch.tensor([[1, height // 14, width // 14]])}


class _Model:
    def __init__(self, processor):
        self.processor = processor


@pytest.mark.parametrize(
    ("processor", "size"),
    [(_Processor(image_seq_length=256), (224, 224)), (_Processor(merge_size=2), (448, 280))],
)
def test_patch_grid_as_sentence_transformers(processor, size):
    model = _Model(processor)
    assert ours.get_n_patches(model, size) == reference.get_n_patches(model, size)


class _SplittingProcessor:
    """An Idefics3 / SmolVLM style image processor: sub-image blocks and a global patch."""

    do_image_splitting = True
    max_image_size = {"longest_edge": 364}


_SPLITTING = _Model(type("Idefics3Processor", (), {"image_processor": _SplittingProcessor()})())


@pytest.mark.parametrize(
    ("call", "error", "phrase"),
    [
        (lambda lib: lib.get_n_patches(_Model(_Processor()), (64, 64)), ValueError, "image_processor"),
        (lambda lib: lib.get_n_patches(_SPLITTING, (64, 64)), NotImplementedError, "global patch"),
        (
            lambda lib: lib.render_similarity_map_on_image(Image.new("RGB", (8, 8)), torch.zeros(2, 2, 2)),
            ValueError,
            "2D",
        ),
    ],
)
def test_bad_input_errors_name_it_as_sentence_transformers(call, error, phrase):
    """A processor without a patch grid, an Idefics3 style one (sub-image blocks) and a map that is not 2D:
    the same error type in both libraries, with sentence-transformers' words for the problem."""
    for lib in (ours, reference):
        with pytest.raises(error, match=phrase):
            call(lib)


def test_model_card_data_as_sentence_transformers(folders, tmp_path):
    """MultiVectorEncoderModelCardData at sentence-transformers' paths, with its fields and defaults, on the
    card sbert writes."""
    from sentence_transformers.multi_vector_encoder import MultiVectorEncoderModelCardData as Reference

    from sbert.multi_vector_encoder.model_card import MultiVectorEncoderModelCardData

    assert sbert.MultiVectorEncoderModelCardData is MultiVectorEncoderModelCardData
    assert sbert.multi_vector_encoder.MultiVectorEncoderModelCardData is MultiVectorEncoderModelCardData
    options = {
        "language": "en",
        "license": "mit",
        "model_name": "Tiny ColBERT",
        "model_id": "me/tiny-colbert",
    }
    ours, reference = MultiVectorEncoderModelCardData(**options), Reference(**options)
    for name in ("language", "license", "model_name", "model_id", "task_name", "tags", "train_datasets"):
        assert getattr(ours, name) == getattr(reference, name)
    model = sbert.MultiVectorEncoder(str(folders / "plain"), device="cpu", model_card_data=ours)
    model._model_card_text = None  # a new card, not the loaded README.md (untrained: kept)
    assert model.model_card_data.model_name == "Tiny ColBERT" and model.model_card_data.license == "mit"
    model.save(tmp_path / "saved")
    card = (tmp_path / "saved" / "README.md").read_text()
    front = card.split("---")[1]
    assert (
        "language:\n- en" in front and "license: mit" in front and "pipeline_tag: feature-extraction" in front
    )
    for tag in reference.tags:
        assert front.count(f"- {tag}\n") == 1
    assert "# Tiny ColBERT" in card and "MultiVectorEncoder('me/tiny-colbert')" in card
    assert "semantic search with late interaction" in card
    with pytest.raises(InputError, match="model_card_data"):
        sbert.MultiVectorEncoder(str(folders / "plain"), device="cpu", model_card_data="en")
