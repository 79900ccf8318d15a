"""Saving: round trips, compatibility with sentence-transformers and transformers, and the model card."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import POOLING_MODES, SENTENCES, classic_pooling

TOL = 1e-5


def card_code_blocks(readme: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", readme, flags=re.S)


def run_transformers_snippet(readme: str, sentences: list[str]) -> np.ndarray:
    """Execute the card's plain-transformers snippet as written, on our sentences."""
    snippet = next(block for block in card_code_blocks(readme) if "AutoModel" in block)
    assert "sbert" not in snippet and "sentence_transformers" not in snippet
    snippet = snippet.replace(
        'sentences = ["This is an example sentence", "Each sentence is converted"]',
        f"sentences = {sentences!r}",
    )
    namespace: dict = {}
    exec(compile(snippet, "<model card>", "exec"), namespace)
    return namespace["sentence_embeddings"].numpy()


def test_round_trip_gives_identical_embeddings(default_model, tmp_path):
    from sbert import SentenceTransformer

    default_model.save(tmp_path / "saved")
    # bit-identical on the same backend (the session's default model may have moved to torch by now)
    reloaded = SentenceTransformer(tmp_path / "saved", backend=default_model.backend)
    np.testing.assert_array_equal(reloaded.encode(SENTENCES), default_model.encode(SENTENCES))
    assert repr(reloaded) == repr(default_model)
    auto = SentenceTransformer(tmp_path / "saved")  # "auto": the graph built from the saved files
    assert auto.backend == "onnx"
    np.testing.assert_allclose(auto.encode(SENTENCES), default_model.encode(SENTENCES), atol=TOL, rtol=0)


def test_saved_model_loads_in_sentence_transformers_and_transformers(default_model, tmp_path):
    import torch
    from sentence_transformers import SentenceTransformer as ReferenceModel
    from transformers import AutoModel

    path = tmp_path / "saved"
    default_model.save(path)
    reference = ReferenceModel(str(path), device="cpu")
    np.testing.assert_allclose(reference.encode(SENTENCES), default_model.encode(SENTENCES), atol=TOL, rtol=0)
    encoder = AutoModel.from_pretrained(path)
    original = default_model[0].auto_model
    for (name, a), (_, b) in zip(encoder.state_dict().items(), original.state_dict().items()):
        assert torch.equal(a, b), name


def test_layout_on_disk_is_the_classic_sentence_transformers_one(default_model, tmp_path):
    path = tmp_path / "saved"
    default_model.save(path)
    modules = json.loads((path / "modules.json").read_text())
    assert [m["type"] for m in modules] == [
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Normalize",
    ]
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    assert json.loads((path / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"] is True
    assert json.loads((path / "sentence_bert_config.json").read_text()) == {
        "max_seq_length": 256,
        "do_lower_case": False,
    }
    # the same limit in the tokenizer's files, where sentence-transformers 6 and transformers read it
    assert json.loads((path / "tokenizer_config.json").read_text())["model_max_length"] == 256
    assert (path / "model.safetensors").is_file() and not (path / "pytorch_model.bin").exists()
    assert (
        json.loads((path / "config_sentence_transformers.json").read_text())["similarity_fn_name"] == "cosine"
    )


@pytest.fixture
def fresh_default_model(default_model_path):
    """The default model, loaded for one test (a save with a model_name sets its card data's model_id),
    without the README.md it was loaded with (an untrained model's save writes that again)."""
    from sbert import SentenceTransformer

    model = SentenceTransformer(default_model_path)
    model._model_card_text = None
    return model


def test_model_card_has_name_dimension_usage_and_architecture(fresh_default_model, tmp_path):
    default_model = fresh_default_model
    path = tmp_path / "saved"
    default_model.save(path, model_name="my-org/minilm-copy")
    readme = (path / "README.md").read_text()
    assert readme.startswith("---\ntags:\n- sentence-transformers\n")  # in sentence-transformers' order
    assert "\npipeline_tag: sentence-similarity\nlibrary_name: sentence-transformers\n" in readme
    assert "# my-org/minilm-copy" in readme
    assert "384 dimensional dense vector space" in readme
    blocks = card_code_blocks(readme)
    assert any("from sbert import SentenceTransformer" in b and "'my-org/minilm-copy'" in b for b in blocks)
    assert any("AutoModel.from_pretrained('my-org/minilm-copy')" in b and "mean_pooling" in b for b in blocks)
    assert "## Full Model Architecture\n```\n" + repr(default_model) + "\n```" in readme
    # the Citation section is empty until a trainer records its losses, as in sentence-transformers
    assert "## Evaluation Results" in readme and "## Citation" in readme


def test_card_transformers_snippet_runs_and_matches_encode(fresh_default_model, tmp_path):
    default_model = fresh_default_model
    path = tmp_path / "saved"
    default_model.save(path, model_name=str(path))
    readme = (path / "README.md").read_text()
    np.testing.assert_allclose(
        run_transformers_snippet(readme, SENTENCES), default_model.encode(SENTENCES), atol=TOL, rtol=0
    )


@pytest.mark.parametrize("modes", [(m,) for m in POOLING_MODES] + [("cls", "mean")])
def test_card_snippet_uses_the_models_own_pooling(tiny_st_factory, tmp_path, modes):
    from sbert import SentenceTransformer

    dense = {
        "in_features": 32 * len(modes),
        "out_features": 8,
        "bias": True,
        "activation_function": "torch.nn.modules.activation.Tanh",
    }
    model = SentenceTransformer(tiny_st_factory(classic_pooling(32, *modes), dense=dense, normalize=True))
    path = tmp_path / "saved"
    model.save(path, model_name=str(path))
    readme = (path / "README.md").read_text()
    for mode in modes:
        assert f"def {mode}_pooling" in readme
    np.testing.assert_allclose(
        run_transformers_snippet(readme, SENTENCES), model.encode(SENTENCES), atol=TOL, rtol=0
    )


def test_new_model_from_parts(tiny_bert, tmp_path):
    from conftest import build_tiny_bert
    from sentence_transformers import SentenceTransformer as ReferenceModel

    from sbert import Pooling, SentenceTransformer, Transformer

    bert128 = build_tiny_bert(tmp_path / "bert128", hidden=128)
    model = SentenceTransformer(modules=[Transformer(bert128), Pooling(128, mode="mean")])
    assert model.get_embedding_dimension() == 128
    model.save(tmp_path / "new-model")
    readme = (tmp_path / "new-model" / "README.md").read_text()
    assert (
        "128 dimensional" in readme and "'architecture': 'BertModel'" in readme
    )  # sentence-transformers 6's repr
    reloaded = SentenceTransformer(tmp_path / "new-model", backend="torch")  # as the model was built
    np.testing.assert_array_equal(reloaded.encode(SENTENCES), model.encode(SENTENCES))
    auto = SentenceTransformer(tmp_path / "new-model")
    assert auto.backend == "onnx"
    np.testing.assert_allclose(auto.encode(SENTENCES), model.encode(SENTENCES), atol=TOL, rtol=0)
    reference = ReferenceModel(str(tmp_path / "new-model"), device="cpu")
    np.testing.assert_allclose(reference.encode(SENTENCES), model.encode(SENTENCES), atol=TOL, rtol=0)


def test_non_canonical_mode_order_survives_a_round_trip(tiny_bert, tmp_path):
    from sbert import Pooling, SentenceTransformer, Transformer

    model = SentenceTransformer(modules=[Transformer(tiny_bert), Pooling(32, ("mean", "cls"))])
    model.save(tmp_path / "m")
    reloaded = SentenceTransformer(tmp_path / "m")
    assert reloaded[1].modes == ("mean", "cls")
    np.testing.assert_array_equal(reloaded.encode(SENTENCES), model.encode(SENTENCES))


@pytest.mark.parametrize("function", ["dot", "euclidean", "manhattan"])
def test_similarity_function_is_saved_and_matches_sentence_transformers(
    default_model_path, tmp_path, function
):
    import torch
    from sentence_transformers import SentenceTransformer as ReferenceModel

    from sbert import SentenceTransformer

    model = SentenceTransformer(default_model_path, similarity_fn_name=function)
    model.save(tmp_path / "m")
    reloaded = SentenceTransformer(tmp_path / "m")
    assert reloaded.similarity_fn_name == function
    emb = reloaded.encode(SENTENCES)
    reference = ReferenceModel(str(tmp_path / "m"), device="cpu")
    assert reference.similarity_fn_name == function
    expected = reference.similarity(torch.from_numpy(emb), torch.from_numpy(emb)).numpy()
    np.testing.assert_allclose(reloaded.similarity(emb, emb), expected, atol=1e-5, rtol=1e-6)
    pairwise = reloaded.similarity_pairwise(embeddings1=emb, embeddings2=emb[::-1])  # its keyword names
    np.testing.assert_allclose(pairwise, np.diag(reloaded.similarity(emb, emb[::-1])), atol=1e-5)


@pytest.mark.parametrize("saved", ["maxsim", "MaxSim"])
def test_a_multi_vector_similarity_in_the_folder_falls_back_to_the_default(tiny_st_factory, tmp_path, saved):
    """A folder whose settings name a late-interaction scoring (PyLate writes "MaxSim", sentence-transformers
    "maxsim") loads in sentence-transformers with the default similarity; sbert loads it the same way."""
    import shutil

    from sentence_transformers import SentenceTransformer as ReferenceModel

    from sbert import SentenceTransformer

    folder = shutil.copytree(tiny_st_factory(classic_pooling(32, "mean")), tmp_path / "m")
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"similarity_fn_name": saved}))
    model, reference = SentenceTransformer(folder, device="cpu"), ReferenceModel(str(folder), device="cpu")
    assert model.similarity_fn_name == reference.similarity_fn_name == "cosine"
    emb = model.encode(SENTENCES)
    np.testing.assert_allclose(emb, reference.encode(SENTENCES), atol=TOL)
    np.testing.assert_allclose(model.similarity(emb, emb), reference.similarity(emb, emb).numpy(), atol=TOL)


def test_save_over_an_existing_model_replaces_it_whole(default_model, tiny_st_factory, tmp_path):
    from sbert import SentenceTransformer

    path = tmp_path / "m"
    SentenceTransformer(tiny_st_factory(classic_pooling(32, "cls"))).save(path)
    default_model.save(path)
    assert SentenceTransformer(path).get_embedding_dimension() == 384
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
