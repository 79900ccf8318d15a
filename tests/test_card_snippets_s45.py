"""The model card's usage code, run as written: its plain-transformers recipe must give the embeddings
sentence-transformers 6.3 computes for the saved folder (encode's default prompt, a pooling that leaves the
prompt out, LayerNorm, ``truncate_dim``), or say that plain transformers cannot; its sbert and
sentence-transformers snippets run and give those embeddings too."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import build_tiny_bert

TOL = 1e-5
TEXTS = ["This is an example sentence", "Each sentence is converted", "a b c", "the quick brown fox"]
PROMPTS = {"query": "query: ", "doc": "Represent this sentence: "}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("snippets") / "bert")


def _blocks(readme: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", readme, flags=re.S)


def _run(code: str, folder) -> dict:
    namespace: dict = {}
    exec(compile(code.replace("'saved'", repr(str(folder))), "<model card>", "exec"), namespace)
    return namespace


def _transformers_embeddings(readme: str, folder) -> np.ndarray:
    snippet = next(block for block in _blocks(readme) if "AutoTokenizer" in block)
    assert "sbert" not in snippet and "sentence_transformers" not in snippet
    snippet = re.sub(r"^sentences = .*$", f"sentences = {TEXTS!r}", snippet, count=1, flags=re.M)
    return _run(snippet, folder)["sentence_embeddings"].numpy()


def _save(encoder, tmp_path, *, modes, include_prompt=True, extra=(), **options):
    import torch

    from sbert import SentenceTransformer, models

    transformer = models.Transformer(str(encoder), max_seq_length=16)
    pooling = models.Pooling(32, pooling_mode=modes, include_prompt=include_prompt)
    torch.manual_seed(0)
    modules = [transformer, pooling, *(make(32 * len(modes)) for make in extra)]
    model = SentenceTransformer(modules=modules, device="cpu", **options)
    folder = tmp_path / "saved"
    model.save(str(folder))
    return model, folder


def _reference(folder, **options) -> np.ndarray:
    from sentence_transformers import SentenceTransformer as Reference

    return Reference(str(folder), device="cpu", **options).encode(TEXTS)


def _layer_norm(width):
    import torch

    from sbert import models

    module = models.LayerNorm(width)
    with torch.no_grad():  # trained-looking scale and shift, so a snippet that skips them differs
        module.norm.weight.uniform_(0.5, 1.5)
        module.norm.bias.uniform_(-0.3, 0.3)
    return module


@pytest.mark.parametrize(
    ("modes", "include_prompt", "default"),
    [
        (["mean"], True, "query"),
        (["mean"], False, "query"),
        (["cls", "weightedmean", "lasttoken"], False, "doc"),
        (["max", "mean_sqrt_len_tokens"], False, None),
    ],
)
def test_transformers_snippet_puts_the_default_prompt_first_and_pools_as_the_model(
    encoder, tmp_path, modes, include_prompt, default
):
    model, folder = _save(
        encoder,
        tmp_path,
        modes=modes,
        include_prompt=include_prompt,
        prompts=PROMPTS,
        default_prompt_name=default,
    )
    reference = _reference(folder)
    np.testing.assert_allclose(model.encode(TEXTS), reference, atol=TOL, rtol=0)
    readme = (folder / "README.md").read_text()
    np.testing.assert_allclose(_transformers_embeddings(readme, folder), reference, atol=TOL, rtol=0)


def test_transformers_snippet_keeps_truncate_dim_dimensions(encoder, tmp_path):
    from sbert import models

    model, folder = _save(
        encoder, tmp_path, modes=["cls", "mean"], extra=[lambda w: models.Normalize()], truncate_dim=5
    )
    reference = _reference(folder, truncate_dim=5)
    assert reference.shape == (4, 5)
    readme = (folder / "README.md").read_text()
    np.testing.assert_allclose(_transformers_embeddings(readme, folder), reference, atol=TOL, rtol=0)


def test_transformers_snippet_applies_layer_norm(encoder, tmp_path):
    import torch

    from sbert import models

    dense = lambda w: models.Dense(w, 8, activation_function=torch.nn.Tanh())  # noqa: E731
    model, folder = _save(encoder, tmp_path, modes=["mean"], extra=[dense, lambda w: _layer_norm(8)])
    reference = _reference(folder)
    readme = (folder / "README.md").read_text()
    np.testing.assert_allclose(_transformers_embeddings(readme, folder), reference, atol=TOL, rtol=0)


def test_weighted_layer_pooling_card_says_plain_transformers_does_not_run_it(encoder, tmp_path):
    from sbert import models

    model, folder = _save(encoder, tmp_path, modes=["mean"])
    model.insert(1, models.WeightedLayerPooling(32, num_hidden_layers=2, layer_start=1))
    model.save(str(folder))
    readme = (folder / "README.md").read_text()
    assert not any("AutoTokenizer" in block for block in _blocks(readme))
    assert "plain `transformers` does not provide" in readme


def test_library_snippets_run_and_give_the_models_embeddings(encoder, tmp_path):
    model, folder = _save(
        encoder, tmp_path, modes=["mean"], prompts=PROMPTS, default_prompt_name="query", truncate_dim=6
    )
    readme = (folder / "README.md").read_text()
    for library in ("sbert", "sentence_transformers"):
        block = next(b for b in _blocks(readme) if f"from {library} import SentenceTransformer" in b)
        namespace = _run(block, folder)
        expected = model.encode(["This is an example sentence", "Each sentence is converted"])
        np.testing.assert_allclose(np.asarray(namespace["embeddings"]), expected, atol=TOL, rtol=0)
