"""A CrossEncoder as an editable module container, as sentence-transformers 6.3's (an ``nn.Sequential``):
``append`` / ``extend`` / ``insert`` / ``pop`` / ``del model[i]`` / ``model[i] = ...`` change what ``predict``
scores, and ``save`` writes the added modules, which load back in both libraries with the same scores; the
private helpers sentence-transformers' losses and client code call on its models (``_resolve_prompt``,
``_get_model_config``, ``_get_untruncated_embedding_dimension``, ...); and ``isinstance(model[0],
models.Transformer)`` for the CrossEncoder's and SparseEncoder's first module. Compared with
sentence-transformers on the same tiny folders."""

from __future__ import annotations

import json
import sys
import textwrap
import warnings

import numpy as np
import pytest
from conftest import (
    build_tiny_bert,
    build_tiny_classifier,
    build_tiny_masked_lm,
    classic_pooling,
    write_st_folder,
)

import sbert

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

PAIRS = [
    ("a man is eating food", "a man eats a piece of bread"),
    ("the cat", "a dog is running in the park with a ball"),
    ("a woman is playing guitar", "the woman plays"),
]

# A module a user writes, once against each library's base class (the import line differs): it scales the
# scores of the modules before it.
SOURCE = """
from {package}.base.modules import Module


class Scale(Module):
    config_keys = ["factor"]

    def __init__(self, factor: float = 2.0) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, features, **kwargs):
        features["scores"] = features["scores"] * self.factor
        return features

    def save(self, output_path, *args, safe_serialization=True, **kwargs) -> None:
        self.save_config(output_path)

    @classmethod
    def load(cls, model_name_or_path, subfolder="", **kwargs):
        return cls(**cls.load_config(model_name_or_path, subfolder=subfolder))
"""


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("ce-editing-s40")
    bert = build_tiny_bert(root / "bert")
    return {
        "CrossEncoder": build_tiny_classifier(root / "ce1"),
        "CrossEncoder3": build_tiny_classifier(root / "ce3", num_labels=3, seed=1),
        "SentenceTransformer": write_st_folder(
            bert, root / "dense", classic_pooling(32, "mean"), normalize=True
        ),
        "SparseEncoder": build_tiny_masked_lm(root / "mlm"),
    }


@pytest.fixture
def scales(tmp_path, monkeypatch):
    """The user's module as sbert's and as sentence-transformers' subclass (importable by file name)."""
    (tmp_path / "ours_scale.py").write_text(textwrap.dedent(SOURCE.format(package="sbert")))
    (tmp_path / "theirs_scale.py").write_text(textwrap.dedent(SOURCE.format(package="sentence_transformers")))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("ours_scale", "theirs_scale"):
        sys.modules.pop(name, None)
    import ours_scale
    import theirs_scale

    yield ours_scale.Scale, theirs_scale.Scale
    for name in ("ours_scale", "theirs_scale"):
        sys.modules.pop(name, None)


def _load(library, kind: str, folder, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(library, kind)(str(folder), device="cpu", **options)


def _same_scores(ours, theirs, pairs=PAIRS) -> None:
    expected = theirs.predict(pairs)
    np.testing.assert_allclose(ours.predict(pairs), expected, atol=1e-5, rtol=1e-4)
    assert ours.num_labels == theirs.num_labels


EDITS = {
    "append": lambda model, scale: model.append(scale(2.0)),
    "extend": lambda model, scale: model.extend([scale(2.0), scale(0.25)]),
    "insert": lambda model, scale: model.insert(1, scale(3.0)),
    "append_pop": lambda model, scale: (model.append(scale(3.0)), model.pop(-1)),
    "append_del": lambda model, scale: (
        model.append(scale(2.0)),
        model.append(scale(5.0)),
        model.__delitem__(1),
    ),
    "append_set": lambda model, scale: (model.append(scale(2.0)), model.__setitem__(1, scale(-1.5))),
}


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_editing_the_modules_changes_predict_as_in_sentence_transformers(folders, scales, edit, backend):
    import sentence_transformers as st

    ours_scale, theirs_scale = scales
    theirs = _load(st, "CrossEncoder", folders["CrossEncoder"])
    ours = _load(sbert, "CrossEncoder", folders["CrossEncoder"], backend=backend)
    before = theirs.predict(PAIRS)
    EDITS[edit](theirs, theirs_scale)
    EDITS[edit](ours, ours_scale)
    assert len(ours) == len(theirs)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert not np.allclose(theirs.predict(PAIRS), before, atol=1e-4) or edit == "append_pop"
    _same_scores(ours, theirs)
    assert ours.get_backend() == "torch"


def test_appending_a_dense_changes_the_score_count_as_in_sentence_transformers(folders):
    """A Dense writing three "scores" after a one-label classifier: three scores per pair, as there."""
    import sentence_transformers as st
    import torch
    from sentence_transformers.base.modules import Dense as STDense

    from sbert.models import Dense

    theirs = _load(st, "CrossEncoder", folders["CrossEncoder"])
    ours = _load(sbert, "CrossEncoder", folders["CrossEncoder"])
    torch.manual_seed(3)
    dense = STDense(1, 3, module_output_name="scores", module_input_name="scores")
    theirs.append(dense)
    ours.append(
        Dense(
            1,
            3,
            module_output_name="scores",
            module_input_name="scores",
            init_weight=dense.linear.weight.detach().clone(),
            init_bias=dense.linear.bias.detach().clone(),
        )
    )
    assert theirs.num_labels == 3
    _same_scores(ours, theirs)


def test_pop_without_an_index_is_refused_as_in_sentence_transformers(folders):
    import sentence_transformers as st

    theirs = _load(st, "CrossEncoder", folders["CrossEncoder"])
    ours = _load(sbert, "CrossEncoder", folders["CrossEncoder"])
    with pytest.raises(TypeError):
        theirs.pop()
    with pytest.raises(TypeError):
        ours.pop()
    assert len(ours) == len(theirs) == 1


@pytest.mark.parametrize("labels", [1, 3])
def test_an_edited_cross_encoder_saves_and_loads_in_both_libraries(folders, scales, tmp_path, labels):
    import sentence_transformers as st

    folder = folders["CrossEncoder" if labels == 1 else "CrossEncoder3"]
    ours_scale, theirs_scale = scales
    theirs = _load(st, "CrossEncoder", folder)
    ours = _load(sbert, "CrossEncoder", folder)
    theirs.append(theirs_scale(2.0))
    ours.append(ours_scale(2.0))
    theirs.save(str(tmp_path / "st"))
    ours.save(tmp_path / "sbert")
    written = json.loads((tmp_path / "sbert" / "modules.json").read_text())
    expected = json.loads((tmp_path / "st" / "modules.json").read_text())
    assert [(e["name"], e["path"]) for e in written] == [(e["name"], e["path"]) for e in expected]
    assert written[0]["type"] == expected[0]["type"]  # sentence-transformers' Transformer
    assert [e["type"] for e in written[1:]] == ["ours_scale.Scale"]
    assert json.loads((tmp_path / "sbert" / "1_Scale" / "config.json").read_text()) == {"factor": 2.0}
    for saved in ("sbert", "st"):
        _same_scores(_load(sbert, "CrossEncoder", tmp_path / saved, trust_remote_code=True), theirs)
    # sentence-transformers loads sbert's folder with its own class in the module's place
    entries = [{**e, "type": e["type"].replace("ours_scale", "theirs_scale")} for e in written]
    (tmp_path / "sbert" / "modules.json").write_text(json.dumps(entries))
    _same_scores(_load(st, "CrossEncoder", tmp_path / "sbert", trust_remote_code=True), theirs)


def test_an_edited_cross_encoder_is_not_exported_without_its_modules(folders, scales, tmp_path):
    ours = _load(sbert, "CrossEncoder", folders["CrossEncoder"])
    ours.append(scales[0](2.0))
    with pytest.raises(sbert.InputError, match="model.save"):
        ours.export(tmp_path / "export")


def test_an_explicit_onnx_cross_encoder_refuses_edits(folders, scales):
    ours = _load(sbert, "CrossEncoder", folders["CrossEncoder"], backend="onnx")
    with pytest.raises(sbert.InputError, match="backend='auto' or 'torch'"):
        ours.append(scales[0](2.0))
    assert len(ours) == 1 and ours.get_backend() == "onnx"


# ---------------------------------------------------------------- the private helpers


ALL_KINDS = ["SentenceTransformer", "SparseEncoder", "CrossEncoder"]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_resolve_prompt_as_sentence_transformers(folders, kind):
    import sentence_transformers as st

    prompts = {"query": "query: ", "document": "doc: "}
    models = [_load(lib, kind, folders[kind], prompts=prompts) for lib in (sbert, st)]
    for call in [(None, None), ("given: ", None), (None, "query"), (None, "document"), ("", None)]:
        assert models[0]._resolve_prompt(*call) == models[1]._resolve_prompt(*call), call
    for model in models:
        with pytest.raises(ValueError, match="'nope' not found"):
            model._resolve_prompt(None, "nope")
        model.default_prompt_name = "query"
    assert models[0]._resolve_prompt(None, None) == models[1]._resolve_prompt(None, None) == "query: "


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_model_config_and_save_lists_as_sentence_transformers(folders, kind):
    import sentence_transformers as st

    ours, theirs = (_load(lib, kind, folders[kind]) for lib in (sbert, st))
    if kind == "SparseEncoder":  # sentence-transformers fills its default similarity on first use
        assert ours.similarity_fn_name == theirs.similarity_fn_name
    mine, expected = ours._get_model_config(), theirs._get_model_config()
    assert sorted(mine) == sorted(expected)
    assert {k: v for k, v in mine.items() if k != "__version__"} == {
        k: v for k, v in expected.items() if k != "__version__"
    }
    # the libraries' versions: sbert names itself where sentence-transformers does
    assert {k: v for k, v in mine["__version__"].items() if k != "sbert"} == {
        k: v for k, v in expected["__version__"].items() if k != "sentence_transformers"
    }
    assert ours._keys_to_ignore_on_save == theirs._keys_to_ignore_on_save == []
    assert ours._no_split_modules == theirs._no_split_modules == []


@pytest.mark.parametrize("truncate_dim", [None, 8])
def test_untruncated_embedding_dimension_as_sentence_transformers(folders, truncate_dim):
    import sentence_transformers as st

    kind, folder = "SentenceTransformer", folders["SentenceTransformer"]
    ours, theirs = (_load(lib, kind, folder, truncate_dim=truncate_dim) for lib in (sbert, st))
    assert ours._get_untruncated_embedding_dimension() == theirs._get_untruncated_embedding_dimension() == 32
    assert ours.get_embedding_dimension() == theirs.get_embedding_dimension()


def test_matryoshka_loss_of_sentence_transformers_reads_the_untruncated_dimension(folders):
    """sentence-transformers' MatryoshkaLoss checks its dimensions against this helper of the model."""
    import sentence_transformers as st
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

    losses = []
    for library in (sbert, st):
        model = _load(library, "SentenceTransformer", folders["SentenceTransformer"])
        losses.append(MatryoshkaLoss(model, MultipleNegativesRankingLoss(model), [32, 16, 8]))
        with pytest.raises(ValueError, match="cannot exceed the model.s embedding dimension of 32"):
            MatryoshkaLoss(model, MultipleNegativesRankingLoss(model), [64, 16])
    assert losses[0].matryoshka_dims == losses[1].matryoshka_dims


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_splade_pooling_helper_as_sentence_transformers(folders, backend):
    import sentence_transformers as st

    theirs = _load(st, "SparseEncoder", folders["SparseEncoder"])
    ours = _load(sbert, "SparseEncoder", folders["SparseEncoder"], backend=backend)
    index = [i for i, m in enumerate(theirs) if m is theirs._get_splade_pooling()]
    assert index == [i for i, m in enumerate(ours) if m is ours._get_splade_pooling()] == [len(theirs) - 1]
    assert ours._get_splade_pooling().chunk_size == theirs._get_splade_pooling().chunk_size


# ---------------------------------------------------------------- module 0 as a models.Transformer


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_module_zero_is_a_models_transformer_as_in_sentence_transformers(folders, kind, backend):
    import sentence_transformers as st
    import sentence_transformers.models as st_models

    import sbert.models

    theirs = _load(st, kind, folders[kind])
    ours = _load(sbert, kind, folders[kind], **({} if backend == "auto" else {"backend": "torch"}))
    expected = [isinstance(module, st_models.Transformer) for module in theirs]
    assert expected[0]
    assert [isinstance(module, sbert.models.Transformer) for module in ours] == expected
    assert issubclass(type(ours[0]), sbert.models.Transformer)
