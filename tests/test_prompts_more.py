"""Prompts everywhere, as sentence-transformers has them: Pooling's ``include_prompt: false`` on the ONNX
backend (fp32, int8, cached and ``sbert export`` graphs), the constructor's ``tokenizer_kwargs``, and prompts
in training data (``TrainingArguments(prompts=...)``).

Compared with sentence-transformers itself on the tiny random models of conftest (max abs diff <= 1e-5).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import BLOCK_TORCH, SENTENCES, WORDS, classic_pooling, cosines, onnx_cache_dir, random_sentences

from sbert import InputError, ModelLoadError, SentenceTransformer
from sbert._backends.onnx_export import EXPORT_DIR, META_FILE, PROMPT_INPUT
from sbert._training.arguments import TrainingArguments, column_prompts

DIM = 32
TOL = 1e-5
PROMPTS = {"query": "query: ", "classify": "Classify the topic of this text: "}
CALLS = ({"prompt_name": "query"}, {"prompt": "Represent this: "}, {"prompt_name": "classify"}, {})
NO_DROPOUT = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}


def reference(path, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    return ReferenceModel(str(path), device="cpu", **kwargs)


def pooling(mode: str = "mean", *, include_prompt: bool = True) -> dict:
    return {**classic_pooling(DIM, mode), "include_prompt": include_prompt}


def private_copy(tiny_st_factory, tmp_path, mode="mean", include_prompt=False):
    """A copy of a factory model: exports write into the model's folder, which other tests share."""
    folder = tmp_path / f"{mode}-{include_prompt}"
    shutil.copytree(tiny_st_factory(pooling(mode, include_prompt=include_prompt)), folder)
    return folder


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(cosines(a, b).min())


# -------------------- include_prompt: false on the ONNX backend


@pytest.mark.parametrize("mode", ["mean", "max", "cls", "lasttoken", "weightedmean"])
def test_onnx_leaves_the_prompt_out_of_the_pooling_as_sentence_transformers(tiny_st_factory, tmp_path, mode):
    folder = private_copy(tiny_st_factory, tmp_path, mode)
    ref = reference(folder, prompts=PROMPTS)
    onnx = SentenceTransformer(folder, backend="onnx", prompts=PROMPTS)
    torch_model = SentenceTransformer(folder, backend="torch", prompts=PROMPTS)
    assert onnx.backend == "onnx"
    for call in CALLS:
        expected = ref.encode(SENTENCES, **call)
        np.testing.assert_allclose(onnx.encode(SENTENCES, **call), expected, atol=TOL, rtol=0)
    if mode in ("mean", "lasttoken"):  # int8 (quantized from the same graph: two modes are enough)
        int8 = SentenceTransformer(folder, backend="onnx", precision="int8", prompts=PROMPTS)
        assert int8.backend == "onnx" and int8.precision == "int8"
        for call in CALLS:
            assert min_cosine(int8.encode(SENTENCES, **call), torch_model.encode(SENTENCES, **call)) > 0.99
    if mode in ("mean", "max"):  # the prompt's tokens really are left out
        with_prompt = onnx.encode(SENTENCES, prompt_name="query")
        assert not np.allclose(with_prompt, onnx.encode(["query: " + s for s in SENTENCES]), atol=1e-4)


def test_a_model_that_pools_every_token_keeps_its_graph_inputs(tiny_st_factory, tmp_path):
    folder = private_copy(tiny_st_factory, tmp_path, include_prompt=True)
    onnx = SentenceTransformer(folder, backend="onnx", prompts=PROMPTS)
    meta = json.loads((onnx_cache_dir(folder) / META_FILE).read_text())
    assert PROMPT_INPUT not in meta["inputs"]
    np.testing.assert_allclose(
        onnx.encode(SENTENCES, prompt_name="query"),
        reference(folder, prompts=PROMPTS).encode(SENTENCES, prompt_name="query"),
        atol=TOL,
        rtol=0,
    )


def _old_style_graph(tiny_st_factory, tmp_path, into) -> bytes:
    """Put into folder ``into`` the fp32 graph an earlier sbert exported for the same weights (no
    prompt_length input), with the weights file beside it that a built graph names; its bytes."""
    twin = private_copy(tiny_st_factory, tmp_path / "twin", include_prompt=True)
    SentenceTransformer(twin, backend="onnx")
    for side_file in (onnx_cache_dir(twin)).glob("model.onnx.*data"):
        shutil.copy(side_file, into / side_file.name)
    old = (onnx_cache_dir(twin) / "model.onnx").read_bytes()
    (into / "model.onnx").write_bytes(old)
    return old


@pytest.mark.parametrize("backend", ["onnx", "auto"])
def test_a_cached_export_without_the_prompt_input_is_made_again(tiny_st_factory, tmp_path, backend):
    folder = private_copy(tiny_st_factory, tmp_path)
    SentenceTransformer(folder, backend="onnx")  # a current export, then made old by hand
    meta_file = onnx_cache_dir(folder) / META_FILE
    meta = json.loads(meta_file.read_text())
    del meta["inputs"]
    meta_file.write_text(json.dumps(meta))
    old = _old_style_graph(tiny_st_factory, tmp_path, onnx_cache_dir(folder))
    model = SentenceTransformer(folder, backend=backend, prompts=PROMPTS)  # auto: not the stale graph either
    assert model.backend == "onnx"
    assert PROMPT_INPUT in json.loads(meta_file.read_text())["inputs"]
    assert (onnx_cache_dir(folder) / "model.onnx").read_bytes() != old
    np.testing.assert_allclose(
        model.encode(SENTENCES, prompt_name="classify"),
        reference(folder, prompts=PROMPTS).encode(SENTENCES, prompt_name="classify"),
        atol=TOL,
        rtol=0,
    )


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_sbert_export_folders_leave_the_prompt_out(tiny_st_factory, tmp_path, quantize):
    folder = private_copy(tiny_st_factory, tmp_path, "cls")
    model = SentenceTransformer(folder, backend="torch", prompts=PROMPTS)
    model.export(tmp_path / "export", quantize=quantize)
    exported = SentenceTransformer(tmp_path / "export")
    assert exported.backend == "onnx" and exported.prompts == model.prompts == {**PROMPTS, "document": ""}
    for call in CALLS:
        expected = model.encode(SENTENCES, **call)
        if quantize is None:
            np.testing.assert_allclose(exported.encode(SENTENCES, **call), expected, atol=TOL, rtol=0)
        else:
            assert min_cosine(exported.encode(SENTENCES, **call), expected) > 0.99


TORCH_FREE_PROBE = (
    BLOCK_TORCH
    + """import numpy as np
from sbert import SentenceTransformer
model = SentenceTransformer(sys.argv[1], prompts={"query": "query: "})
np.save(sys.argv[2], model.encode(["a cat on a mat", ""], prompt_name="query"))
print(model.backend)
"""
)


def test_an_exported_folder_leaves_the_prompt_out_without_torch(tiny_st_factory, tmp_path):
    import subprocess
    import sys

    folder = private_copy(tiny_st_factory, tmp_path)
    model = SentenceTransformer(folder, backend="torch", prompts=PROMPTS)
    model.export(tmp_path / "export")
    result = subprocess.run(
        [sys.executable, "-c", TORCH_FREE_PROBE, str(tmp_path / "export"), str(tmp_path / "e.npy")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["onnx"]
    expected = model.encode(["a cat on a mat", ""], prompt_name="query")
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), expected, atol=TOL, rtol=0)


def test_an_old_export_only_folder_says_to_export_again_when_a_prompt_must_be_left_out(
    tiny_st_factory, tmp_path
):
    folder = private_copy(tiny_st_factory, tmp_path)
    SentenceTransformer(folder, backend="torch").export(tmp_path / "export")
    _old_style_graph(tiny_st_factory, tmp_path, tmp_path / "export" / EXPORT_DIR)
    old = SentenceTransformer(tmp_path / "export", prompts=PROMPTS)
    np.testing.assert_allclose(
        old.encode(SENTENCES), reference(folder).encode(SENTENCES), atol=TOL, rtol=0
    )  # no prompt: nothing to leave out
    with pytest.raises(ModelLoadError, match="sbert export"):
        old.encode(SENTENCES, prompt_name="query")


# -------------------- tokenizer_kwargs


TOKENIZER_KWARGS = [
    {"model_max_length": 8},
    {"model_max_length": 8, "truncation_side": "left"},
    {"do_lower_case": False},
    {"padding_side": "left"},
]


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("kwargs", TOKENIZER_KWARGS, ids=lambda k: "-".join(f"{a}={b}" for a, b in k.items()))
def test_tokenizer_kwargs_match_sentence_transformers(tiny_st_factory, tmp_path, kwargs, backend):
    folder = private_copy(tiny_st_factory, tmp_path, include_prompt=False)
    plain = SentenceTransformer(folder, backend=backend)  # on ONNX: exported now, so below runs without torch
    ours = SentenceTransformer(folder, backend=backend, prompts=PROMPTS, tokenizer_kwargs=kwargs)
    ref = reference(folder, prompts=PROMPTS, tokenizer_kwargs=kwargs)
    assert ours.backend == backend and ours.max_seq_length == ref.max_seq_length
    texts = SENTENCES + ["The Weather Is LOVELY", "one two three four five six seven eight nine ten"]
    for call in ({}, {"prompt_name": "query"}):
        expected = ref.encode(texts, **call)
        np.testing.assert_allclose(ours.encode(texts, **call), expected, atol=TOL, rtol=0)
        assert not np.allclose(plain.encode(texts, **call), expected, atol=1e-4) or kwargs.get("padding_side")


def test_left_padding_batches_as_sentence_transformers(tiny_st_factory, tmp_path):
    """Padded on the left, a BERT's texts move along its absolute positions by their batch's padding, so
    each text's vector depends on which texts share its batch; sbert then batches as sentence-transformers
    does (longest first by characters, ``batch_size`` at a time, 32 by default) and gives its numbers.
    mteb's InstructSentenceTransformerModel(padding_side="left") loads models this way."""
    folder = private_copy(tiny_st_factory, tmp_path)
    kwargs = {"tokenizer_kwargs": {"padding_side": "left"}, "prompts": PROMPTS}
    ours, ref = SentenceTransformer(folder, device="cpu", **kwargs), reference(folder, **kwargs)
    words = [w for w in WORDS if not w.startswith("#")] + ["unbelievably", "x", "stadiums!"]
    texts = random_sentences(words, 90, seed=5) + SENTENCES
    for call in ({}, {"batch_size": 7}, {"prompt_name": "classify", "batch_size": 16}):
        np.testing.assert_allclose(ours.encode(texts, **call), ref.encode(texts, **call), atol=TOL, rtol=0)


def test_tokenizer_kwargs_are_saved_with_the_model(tiny_st_factory, tmp_path):
    folder = private_copy(tiny_st_factory, tmp_path)
    kwargs = {"model_max_length": 8, "truncation_side": "left", "do_lower_case": False}
    model = SentenceTransformer(folder, tokenizer_kwargs=kwargs)
    model.save(tmp_path / "saved")
    expected = reference(folder, tokenizer_kwargs=kwargs).encode(SENTENCES)
    again, ref = SentenceTransformer(tmp_path / "saved"), reference(tmp_path / "saved")
    assert again.max_seq_length == ref.max_seq_length == 8
    np.testing.assert_allclose(again.encode(SENTENCES), expected, atol=TOL, rtol=0)
    np.testing.assert_allclose(ref.encode(SENTENCES), expected, atol=TOL, rtol=0)


def test_tokenizer_kwargs_that_change_no_token_are_taken_as_in_sentence_transformers(tiny_st_factory):
    # haystack passes its tokenizer_kwargs through; these change nothing for a tokenizer.json
    folder, kwargs = tiny_st_factory(pooling()), {"use_fast": True, "clean_up_tokenization_spaces": False}
    ours = SentenceTransformer(folder, tokenizer_kwargs={**kwargs, "model_max_length": 8})
    expected = reference(folder, tokenizer_kwargs={**kwargs, "model_max_length": 8}).encode(SENTENCES)
    np.testing.assert_allclose(ours.encode(SENTENCES), expected, atol=TOL, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"add_prefix_space": True, "use_fast": True},
            r"\['add_prefix_space'\].*model_max_length.*do_lower_case.*padding_side.*truncation_side",
        ),
        ({"model_max_length": 1}, "model_max_length must be an int >= 2"),
        ({"model_max_length": "8"}, "model_max_length must be an int >= 2"),
        ({"do_lower_case": "yes"}, "do_lower_case must be True or False"),
        ({"padding_side": "middle"}, "padding_side must be 'left' or 'right'"),
    ],
)
def test_unsupported_tokenizer_kwargs_are_input_errors(tiny_st_factory, kwargs, match):
    with pytest.raises(InputError, match=match):
        SentenceTransformer(tiny_st_factory(pooling()), tokenizer_kwargs=kwargs)


# -------------------- prompts in training


def _st_features(ref, rows: list[dict], prompts) -> list[dict]:
    """What sentence-transformers' trainer gives its loss for ``rows``: its collator, then one feature dict
    per column (its ``collect_features``)."""
    from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

    batch = SentenceTransformerDataCollator(preprocess_fn=ref.preprocess, prompts=prompts)(rows)
    columns = [c for c in rows[0] if c not in ("dataset_name", "score")]
    return [{k[len(c) + 1 :]: v for k, v in batch.items() if k.startswith(c + "_")} for c in columns]


def _sbert_first_step_loss(model, dataset, loss, prompts, tmp_path) -> float:
    from sbert import Trainer

    args = TrainingArguments(
        output_dir=str(tmp_path / "run"),
        batch_size=len(dataset),
        max_steps=1,
        prompts=prompts,
        save_steps=0,
        plot=False,
        show_progress_bar=False,
        save_final_model=False,
    )
    return Trainer(model, dataset, loss, args=args).train().training_loss


@pytest.mark.parametrize("include_prompt", [True, False])
@pytest.mark.parametrize("loss_name", ["MultipleNegativesRankingLoss", "CosineSimilarityLoss"])
def test_training_loss_with_prompts_matches_sentence_transformers(
    tiny_st_factory, tmp_path, include_prompt, loss_name
):
    import sentence_transformers.sentence_transformer.losses as st_losses

    import sbert
    from sbert import load_dataset

    path = tiny_st_factory(pooling("mean", include_prompt=include_prompt))
    pairs = [(SENTENCES[i], SENTENCES[(i + 2) % len(SENTENCES)]) for i in range(len(SENTENCES))]
    rows = [{"anchor": a, "positive": p} for a, p in pairs]
    scores = [0.1 * i for i in range(len(rows))]
    if loss_name == "CosineSimilarityLoss":
        rows = [{**row, "score": s} for row, s in zip(rows, scores)]
    prompts = {"anchor": "query: ", "positive": "Classify the topic of this text: "}

    ref = reference(path, config_kwargs=NO_DROPOUT)
    labels = torch.tensor(scores) if loss_name == "CosineSimilarityLoss" else None
    expected = getattr(st_losses, loss_name)(ref)(_st_features(ref, rows, prompts), labels).item()

    model = SentenceTransformer(path, backend="torch", config_kwargs=NO_DROPOUT)
    dataset = load_dataset(rows)
    loss = _sbert_first_step_loss(model, dataset, getattr(sbert, loss_name)(model), prompts, tmp_path)
    assert abs(loss - expected) < TOL
    if not include_prompt:  # pooling the prompt's tokens would give another loss: the check above has teeth
        features = _st_features(ref, rows, prompts)
        for f in features:
            f.pop("prompt_length")
        assert abs(getattr(st_losses, loss_name)(ref)(features, labels).item() - expected) > 1e-4
    unprompted = getattr(st_losses, loss_name)(ref)(_st_features(ref, rows, None), labels).item()
    assert abs(unprompted - expected) > 1e-4  # the prompts changed the loss


@pytest.mark.parametrize(
    "prompts",
    [
        None,
        "",
        "query: ",
        {"anchor": "query: "},
        {"nli": "nli: ", "anchor": "q: "},
        {"nli": {"positive": "p: "}, "sts": {"anchor": "a: ", "positive": "b: "}},
    ],
)
@pytest.mark.parametrize("dataset", [None, "nli", "sts", "other"])
def test_column_prompts_follow_sentence_transformers_collator(prompts, dataset):
    from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

    collator = SentenceTransformerDataCollator(preprocess_fn=None, prompts=prompts)
    columns = ["anchor", "positive"]
    batch = {} if dataset is None else {"dataset_name": dataset}
    nested = isinstance(prompts, dict) and isinstance(next(iter(prompts.values())), dict)
    if nested and dataset is None:
        with pytest.raises(ValueError):
            collator._resolve_prompts(batch)
        with pytest.raises(InputError, match="dataset names"):
            column_prompts(prompts, dataset, columns)
        return
    resolved = collator._resolve_prompts(batch)
    expected = {c: collator._get_prompt_for_column(resolved, c) for c in columns}
    assert column_prompts(prompts, dataset, columns) == {c: p for c, p in expected.items() if p}


@pytest.mark.parametrize("prompts", [3, ["query: "], {"anchor": 1}, {"nli": {"anchor": None}}])
def test_malformed_training_prompts_are_input_errors(prompts, tmp_path):
    with pytest.raises(InputError, match="prompts must be"):
        TrainingArguments(output_dir=str(tmp_path), prompts=prompts)


@pytest.mark.parametrize("prompt_length", [2, "per row", "none"])
def test_pooling_reads_prompt_length_as_sentence_transformers_does(prompt_length):
    """An int or one count per row (its collator's form: the first is read), as there; sbert's trainer's
    0-d tensor as the int."""
    import torch
    from sentence_transformers.sentence_transformer.modules import Pooling as ReferencePooling

    from sbert.models import Pooling

    value = {2: 2, "per row": torch.tensor([2, 2]), "none": torch.tensor([0, 0])}
    tokens, mask = torch.randn(2, 5, 4), torch.ones(2, 5, dtype=torch.long)
    mask[1, 4] = 0
    for mode in ("mean", "max", "cls"):
        features = {"token_embeddings": tokens, "attention_mask": mask, "prompt_length": value[prompt_length]}
        ours = Pooling(4, mode, include_prompt=False)(dict(features))["sentence_embedding"]
        theirs = ReferencePooling(4, mode, include_prompt=False)(dict(features))["sentence_embedding"]
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)
        zero_d = Pooling(4, mode, include_prompt=False)({**features, "prompt_length": torch.tensor(2)})
        if prompt_length == 2:
            torch.testing.assert_close(zero_d["sentence_embedding"], ours)
    assert Pooling(4, ["mean", "max"]).pooling_output_dimension == 8
