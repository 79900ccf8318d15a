"""TorchScript export as eland (``_SentenceTransformerWrapperModule``) and opensearch-py-ml
(``SentenceTransformerModel.save_as_pt``) do it, written out here without the libraries. With torch imported
sbert's models are ``torch.nn.Module``s (sbert._torch_base), so a traced module that keeps the model as a
plain attribute registers it as sentence-transformers' does; the README's two older ways, tracing
``torch.nn.Sequential(*model)`` and registering ``torch.nn.ModuleList(model)`` (for a model made before torch
was imported), trace what sentence-transformers' model traces too: the same outputs from the same
parameters."""

from __future__ import annotations

import pytest
import torch

import sbert

# tracing a transformers encoder warns of its data-dependent branches, for both libraries alike
pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")

TEXTS = ["The weather is lovely today.", "a dog"]


@pytest.fixture(scope="module")
def dense_folder(tiny_bert, tmp_path_factory):
    from conftest import classic_pooling, write_st_folder

    dense = {"in_features": 32, "out_features": 16, "bias": True,
             "activation_function": "torch.nn.modules.activation.Tanh"}  # fmt: skip
    folder = tmp_path_factory.mktemp("trace") / "dense"
    return write_st_folder(tiny_bert, folder, classic_pooling(32, "mean"), normalize=True, dense=dense)


def _features(model):
    # opensearch-py-ml: model.tokenizer(sentences, return_tensors="pt", padding=True, truncation=True)
    batch = model.tokenizer(TEXTS, return_tensors="pt", padding=True, truncation=True)
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def _traced_outputs(traced, features) -> dict:
    return {k: v.detach() for k, v in traced(features).items()}


def test_tracing_the_models_modules_as_a_sequential_gives_sentence_transformers_trace(dense_folder):
    import sentence_transformers as st

    theirs = st.SentenceTransformer(str(dense_folder), device="cpu")
    ours = sbert.SentenceTransformer(str(dense_folder), backend="torch")
    features = _features(theirs)
    assert set(features) == set(_features(ours))
    expected = torch.jit.trace(theirs, (features,), strict=False)
    traced = torch.jit.trace(torch.nn.Sequential(*ours), (features,), strict=False)
    want, got = _traced_outputs(expected, features), _traced_outputs(traced, features)
    assert set(got) == set(want)
    for key in want:
        torch.testing.assert_close(got[key], want[key], atol=1e-5, rtol=0)
    assert sum(p.numel() for p in traced.parameters()) == sum(p.numel() for p in expected.parameters())


def _wrapper(model, *, register: bool):
    """eland's wrapper: an nn.Module whose forward calls the model on a features dict."""

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            if register:  # what sentence-transformers' nn.Module model gets by itself
                self.modules_of_model = torch.nn.ModuleList(model)

        def forward(self, input_ids, attention_mask):
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            return self.model(features)["sentence_embedding"]

    return Wrapper()


def test_a_traced_wrapper_registering_module_list_traces_as_sentence_transformers(dense_folder):
    import sentence_transformers as st

    theirs = st.SentenceTransformer(str(dense_folder), device="cpu")
    ours = sbert.SentenceTransformer(str(dense_folder), backend="torch")
    features = _features(theirs)
    args = (features["input_ids"], features["attention_mask"])
    expected = torch.jit.trace(_wrapper(theirs, register=False), args)
    traced = torch.jit.trace(_wrapper(ours, register=True), args)
    torch.testing.assert_close(traced(*args), expected(*args), atol=1e-5, rtol=0)
    # with torch imported the model is an nn.Module, so the wrapper registers it by itself, as
    # sentence-transformers' (sbert._torch_base): eland's plain wrapper traces unchanged
    plain = torch.jit.trace(_wrapper(ours, register=False), args)
    torch.testing.assert_close(plain(*args), expected(*args), atol=1e-5, rtol=0)
