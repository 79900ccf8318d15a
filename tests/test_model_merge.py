"""``merge`` (sentence-transformers 6.3's ``BaseModel.merge`` on mergekit): sbert's four model classes merge
as sentence-transformers' do, to the same weights and outputs, refuse what it refuses, and save a model
sentence-transformers loads."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, classic_pooling

import sbert

TEXTS = ["the cat sat on the mat", "a dog ran", "hello world!"]
PAIRS = [("the cat", "the cat sat on the mat"), ("a dog ran", "hello world!")]

# method, keywords (a task-vector method's base is the unperturbed model; None stands in for it)
METHODS = {
    "linear": {"parameters": {"weight": [0.7, 0.3]}},
    "slerp": {"parameters": {"t": 0.3}},
    "ties": {"base_model": None, "parameters": {"density": 0.5, "weight": [1.0, 0.5]}},
    "task_arithmetic": {"base_model": None},
}


def perturbed(folder, target, seed: int):
    """A copy of ``folder`` whose float weights (every safetensors file) moved a little, as a fine-tune's."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(folder, target)
    generator = torch.Generator().manual_seed(seed)
    for path in sorted(target.rglob("*.safetensors")):
        state = load_file(path)
        for name, tensor in state.items():
            if tensor.is_floating_point():
                state[name] = tensor + 0.05 * torch.randn(tensor.shape, generator=generator)
        save_file(state, path, metadata={"format": "pt"})
    return target


def family(base):
    """The base folder and two fine-tune-like variants of it."""
    return base, perturbed(base, base.parent / "a", 1), perturbed(base, base.parent / "b", 2)


@pytest.fixture(scope="module")
def st_family(tiny_st_factory, tmp_path_factory):
    dense = {
        "in_features": 32,
        "out_features": 16,
        "bias": True,
        "activation_function": "torch.nn.modules.activation.Tanh",
    }
    folder = tiny_st_factory(classic_pooling(32, "mean"), normalize=True, dense=dense)
    return family(shutil.copytree(folder, tmp_path_factory.mktemp("merge-st") / "base"))


@pytest.fixture(scope="module")
def ce_family(tmp_path_factory):
    # logits of size 1 or less: the two libraries' float sums agree to well under 1e-6
    base = build_tiny_classifier(
        tmp_path_factory.mktemp("merge-ce") / "base", num_labels=2, initializer_range=0.1
    )
    return family(base)


@pytest.fixture(scope="module")
def sparse_family(masked_lm, tmp_path_factory):
    return family(shutil.copytree(masked_lm, tmp_path_factory.mktemp("merge-sparse") / "base"))


@pytest.fixture(scope="module")
def multi_vector_family(tiny_bert, tmp_path_factory):
    from sentence_transformers import MultiVectorEncoder

    base = tmp_path_factory.mktemp("merge-multi-vector") / "base"
    MultiVectorEncoder(str(tiny_bert), device="cpu").save(str(base))
    return family(base)


def token_vectors(model) -> np.ndarray:
    return np.concatenate([as_numpy(vectors) for vectors in model.encode(TEXTS)])


KINDS = {
    "SentenceTransformer": ("st_family", lambda model: model.encode(TEXTS)),
    "CrossEncoder": ("ce_family", lambda model: model.predict(PAIRS)),
    "SparseEncoder": ("sparse_family", lambda model: model.encode(TEXTS, convert_to_tensor=True).to_dense()),
    "MultiVectorEncoder": ("multi_vector_family", token_vectors),
}


def classes(kind: str):
    import sentence_transformers

    return getattr(sbert, kind), getattr(sentence_transformers, kind)


def as_numpy(output) -> np.ndarray:
    return output.detach().numpy() if isinstance(output, torch.Tensor) else np.asarray(output)


def snapshot(model) -> dict:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_merge_gives_sentence_transformers_weights_and_outputs(kind, method, request):
    fixture, run = KINDS[kind]
    base, a, b = request.getfixturevalue(fixture)
    ours_cls, theirs_cls = classes(kind)
    keywords = dict(METHODS[method])
    if "base_model" in keywords:
        keywords["base_model"] = str(base)  # a path: loaded by merge, as there
    # sbert merges instances (left unchanged), sentence-transformers the same folders by path
    inputs = [ours_cls(str(path), device="cpu", backend="torch") for path in (a, b)]
    before = [snapshot(model) for model in inputs]
    ours = ours_cls.merge(inputs, method, **keywords)
    theirs = theirs_cls.merge([str(a), str(b)], method, **keywords)

    merged, reference = ours.state_dict(), theirs.state_dict()
    assert merged.keys() == reference.keys()
    for name in reference:
        torch.testing.assert_close(merged[name], reference[name], rtol=0, atol=1e-6, msg=name)
    assert not ours.training and type(ours) is ours_cls
    np.testing.assert_allclose(as_numpy(run(ours)), as_numpy(run(theirs)), rtol=0, atol=1e-6)
    for model, state in zip(inputs, before):
        assert all(torch.equal(model.state_dict()[name], state[name]) for name in state)
        assert not any(merged[name] is tensor for name, tensor in model.state_dict().items())


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder"])
def test_merged_model_saves_and_sentence_transformers_loads_it(kind, request, tmp_path):
    fixture, run = KINDS[kind]
    _, a, b = request.getfixturevalue(fixture)
    ours_cls, theirs_cls = classes(kind)
    extra = {"prompts": {"query": "query: "}} if kind == "SentenceTransformer" else {}
    first = ours_cls(str(a), device="cpu", backend="torch", **extra)
    merged = ours_cls.merge([first, str(b)], "slerp", parameters={"t": 0.4})
    if extra:
        assert merged.prompts == first.prompts  # the first model's settings
    merged.save(str(tmp_path / "merged"))

    loaded = theirs_cls(str(tmp_path / "merged"), device="cpu")
    reference = theirs_cls.merge([str(a), str(b)], "slerp", parameters={"t": 0.4})
    expected = as_numpy(run(reference))
    np.testing.assert_allclose(as_numpy(run(loaded)), expected, rtol=0, atol=1e-6)
    reloaded = ours_cls(str(tmp_path / "merged"), device="cpu", backend="torch")
    np.testing.assert_allclose(as_numpy(run(reloaded)), expected, rtol=0, atol=1e-6)


def edited_copy(folder, target, **config):
    """A copy of ``folder`` whose transformers config.json has ``config``'s values."""
    shutil.copytree(folder, target)
    path = target / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    return target


def cls_pooling_copy(folder, target):
    """A copy of the sentence-transformers ``folder`` that pools the CLS token."""
    shutil.copytree(folder, target)
    (target / "1_Pooling" / "config.json").write_text(json.dumps(classic_pooling(32, "cls")))
    return target


def untie_decoder(model):
    """The masked-LM head's decoder given its own copy of the word embeddings (tied on load)."""
    head = model[0].auto_model.cls.predictions.decoder
    head.weight = torch.nn.Parameter(head.weight.detach().clone())
    return model


def same_bos(model):
    model.tokenizer.add_special_tokens({"bos_token": "[CLS]"})  # special tokens differ, vocabulary does not
    return model


# case: (kind, how to build the call's arguments from (cls, folders, tmp_path)); each runs on both libraries
REFUSALS = {
    "one model": ("SentenceTransformer", lambda cls, f, tmp: ([str(f[1])],), {}),
    "a path, not a list": ("SentenceTransformer", lambda cls, f, tmp: (str(f[1]),), {}),
    "unknown method": ("SentenceTransformer", lambda cls, f, tmp: ([str(f[1]), str(f[2])], "average"), {}),
    "base for linear": (
        "SentenceTransformer",
        lambda cls, f, tmp: ([str(f[1]), str(f[2])],),
        {"base_model": "base"},
    ),
    "integer dtype": (
        "SentenceTransformer",
        lambda cls, f, tmp: ([str(f[1]), str(f[2])],),
        {"dtype": "int8"},
    ),
    "bad out_dtype": (
        "SentenceTransformer",
        lambda cls, f, tmp: ([str(f[1]), str(f[2])],),
        {"out_dtype": torch.int32},
    ),
    "other pooling": (
        "SentenceTransformer",
        lambda cls, f, tmp: ([str(f[1]), str(cls_pooling_copy(f[2], tmp / "c"))],),
        {},
    ),
    "other encoder config": (
        "CrossEncoder",
        lambda cls, f, tmp: ([str(f[1]), str(edited_copy(f[2], tmp / "c", hidden_dropout_prob=0.3))],),
        {},
    ),
    "other vocabulary": (
        "CrossEncoder",
        lambda cls, f, tmp: ([str(f[1]), add_word(cls(str(f[2]), device="cpu"))],),
        {},
    ),
    "other special tokens": (
        "SentenceTransformer",
        lambda cls, f, tmp: ([str(f[1]), same_bos(cls(str(f[2]), device="cpu"))],),
        {},
    ),
    "untied weights": (
        "SparseEncoder",
        lambda cls, f, tmp: ([str(f[1]), untie_decoder(cls(str(f[2]), device="cpu"))],),
        {},
    ),
    "another model class": ("SentenceTransformer", lambda cls, f, tmp: ([str(f[1]), object()],), {}),
}


def add_word(model):
    model.tokenizer.add_tokens(["zebra"])
    return model


def refusal(kind, build, keywords, library, request, tmp_path):
    """The error ``library``'s ``kind.merge`` raises for the case."""
    fixture, _ = KINDS[kind]
    folders = request.getfixturevalue(fixture)
    cls = classes(kind)[0 if library == "sbert" else 1]
    keywords = dict(keywords)
    if keywords.get("base_model") == "base":
        keywords["base_model"] = str(folders[0])
    args = build(cls, folders, tmp_path / library)
    with pytest.raises(Exception) as caught:
        cls.merge(*args, **keywords)
    return caught.value


@pytest.mark.parametrize("case", list(REFUSALS))
def test_merge_refuses_what_sentence_transformers_refuses(case, request, tmp_path):
    kind, build, keywords = REFUSALS[case]
    theirs = refusal(kind, build, keywords, "sentence_transformers", request, tmp_path)
    ours = refusal(kind, build, keywords, "sbert", request, tmp_path)
    assert isinstance(ours, type(theirs)), (ours, theirs)
    # the first line names the problem in the same words (the configs' diffs print each library's keys)
    assert str(ours).splitlines()[0] == str(theirs).splitlines()[0]


@pytest.mark.parametrize("installed", [None, "0.1.4"])
def test_merge_without_mergekit_names_the_extra(installed, monkeypatch, st_family):
    from importlib.metadata import PackageNotFoundError

    import sbert._model_merge as merging

    def version(package):
        if installed is None:
            raise PackageNotFoundError(package)
        return installed

    monkeypatch.setattr(merging, "version", version)
    with pytest.raises(ImportError, match=re.escape("pip install 'sbert[merge]'")):
        sbert.SentenceTransformer.merge([str(st_family[1]), str(st_family[2])])


def test_out_dtype_casts_the_merged_weights_as_sentence_transformers(st_family):
    _, a, b = st_family
    ours = sbert.SentenceTransformer.merge([str(a), str(b)], out_dtype="float16")
    theirs = classes("SentenceTransformer")[1].merge([str(a), str(b)], out_dtype="float16")
    merged, reference = ours.state_dict(), theirs.state_dict()
    assert all(merged[name].dtype == torch.float16 for name in merged)
    assert all(torch.equal(merged[name], reference[name]) for name in reference)
    assert ours.precision == "fp16"  # sbert runs the model in its weights' dtype
    np.testing.assert_allclose(ours.encode(TEXTS), theirs.encode(TEXTS), atol=2e-3)


def test_splade_pooling_width_is_not_compared(sparse_family):
    """SpladePooling takes its width from the encoder: one that has not run yet merges with one that has."""
    _, a, b = sparse_family
    vocabulary = json.loads((a / "config.json").read_text())["vocab_size"]
    for cls in classes("SparseEncoder"):
        first, second = cls(str(a), device="cpu"), cls(str(b), device="cpu")
        first.encode(TEXTS[:1])
        second[1].embedding_dimension = None
        merged = cls.merge([first, second])
        assert merged.encode(TEXTS[:1], convert_to_tensor=True).shape[-1] == vocabulary
