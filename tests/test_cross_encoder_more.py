"""CrossEncoder's other sentence-transformers methods: get_max_seq_length, the default activation, dtype,
evaluate, the model's attributes, the torch model, push_to_hub, the multi-process pool (predict and rank
with pool=) and the classic fit, compared with
sentence-transformers' CrossEncoder on one tiny dropout-free classifier (so both trainings compute the same
function)."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pytest
import torch
from conftest import WORDS, assert_same_features, build_tiny_classifier, random_sentences, save_to_hub_calls

from sbert import BackendUnavailableError, CrossEncoder, InputError, InputExample
from sbert.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator

QUERIES = ["a man plays music", "the cat sat", "the weather is lovely", "he drove a red car"]
DOCUMENTS = ["a man plays the guitar", "the dog ran in the house", "it is sunny outside", "a fast car"]
EXAMPLES = [
    InputExample(texts=[query, document], label=float(i == j))
    for i, query in enumerate(QUERIES)
    for j, document in enumerate(DOCUMENTS)
]
PAIRS = [tuple(e.texts) for e in EXAMPLES]
POSITIVE = np.array([e.label == 1.0 for e in EXAMPLES])


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    folder = build_tiny_classifier(tmp_path_factory.mktemp("ce_more") / "classifier")
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def reference(path, **kwargs):
    from sentence_transformers import CrossEncoder as Reference

    return Reference(str(path), device="cpu", **kwargs)


def test_model_kwargs_dtype_sets_the_precision_as_sentence_transformers(classifier):
    """CrossEncoder(name, model_kwargs={"torch_dtype": "float16"}) (the efficiency docs' half precision) runs
    the model in that dtype, as sentence-transformers 6.3 does; the scores are its up to half-precision
    rounding."""
    pairs = [("a query about tea", "a document about green tea"), ("a", "b c d")]
    full = reference(classifier).predict(pairs)
    for dtype, tol in (("float16", 1e-2), (torch.bfloat16, 5e-2)):
        ours = CrossEncoder(classifier, model_kwargs={"torch_dtype": dtype})
        theirs = reference(classifier, model_kwargs={"torch_dtype": dtype})
        assert ours.dtype == theirs.dtype != torch.float32
        scores = ours.predict(pairs)
        assert scores.dtype == theirs.predict(pairs).dtype
        np.testing.assert_allclose(scores, theirs.predict(pairs), atol=tol)
        assert not np.array_equal(scores, full)  # not the float32 scores


def test_small_methods_and_evaluate_as_sentence_transformers(classifier, tmp_path):
    ours, ref = CrossEncoder(classifier), reference(classifier)
    assert ours.backend == "onnx"  # "auto" on the CPU: no torch model loaded for these
    assert ours.get_max_seq_length() == ref.get_max_seq_length() == 64
    assert ours.dtype == ref.dtype == torch.float32
    assert CrossEncoder(classifier, backend="torch", precision="bf16").dtype == torch.bfloat16
    logits = torch.tensor([[-1.5], [0.0], [2.0]])
    for model, theirs in ((ours, ref), (CrossEncoder(classifier, activation_fn=torch.nn.Identity()), None)):
        theirs = theirs or reference(classifier, activation_fn=torch.nn.Identity())
        with pytest.warns(DeprecationWarning, match="activation_fn"):  # deprecated in both
            assert model.default_activation_function is model.activation_fn
        with pytest.warns(DeprecationWarning, match="activation_fn"):
            assert repr(model.activation_fn) == repr(theirs.default_activation_function)
        default = model.get_default_activation_fn()  # the files' (none saved: Sigmoid for one label)
        assert repr(default) == repr(theirs.get_default_activation_fn()) == "Sigmoid()"
        torch.testing.assert_close(default(logits), theirs.get_default_activation_fn()(logits))
    theirs.save(str(tmp_path / "saved"))  # a 6.x folder: its Identity is the model's, config.json names none
    for model in (CrossEncoder(tmp_path / "saved"), reference(tmp_path / "saved")):
        assert repr(model.activation_fn) == "Identity()"
        assert repr(model.get_default_activation_fn()) == "Sigmoid()"
    evaluator = CrossEncoderCorrelationEvaluator(PAIRS, POSITIVE.astype(float).tolist(), name="dev")
    found = ours.evaluate(evaluator, tmp_path / "ours")
    expected = ref.evaluate(evaluator, str(tmp_path / "ref"))
    assert found.keys() == expected.keys() and evaluator.primary_metric in found
    assert found == pytest.approx(expected, abs=1e-4)
    for side in ("ours", "ref"):
        assert (tmp_path / side / "CrossEncoderCorrelationEvaluator_dev_results.csv").is_file()


def test_pool_scores_as_one_process_and_as_sentence_transformers(classifier):
    model = CrossEncoder(classifier)  # ONNX: the worker scores without importing torch
    model.max_seq_length = 12  # the caller's setting reaches the workers
    expected = model.predict(PAIRS, prompt="q: ")
    theirs = reference(classifier, max_length=12).predict(PAIRS, prompt="q: ")
    np.testing.assert_allclose(expected, theirs, atol=1e-5)
    pool = model.start_multi_process_pool(["cpu"])
    try:
        assert len(pool["processes"]) == 1
        found = model.predict(PAIRS, pool=pool, chunk_size=5, prompt="q: ")
        assert found.dtype == np.float32 and found.shape == (len(PAIRS),)
        np.testing.assert_allclose(found, expected, atol=1e-6, rtol=0)
        logits = model.predict(PAIRS, pool=pool, activation_fn=torch.nn.Identity(), convert_to_tensor=True)
        assert isinstance(logits, torch.Tensor) and logits.min() < 0  # logits, not probabilities
        ranked = model.rank(QUERIES[0], DOCUMENTS, pool=pool, return_documents=True)
        assert ranked == model.rank(QUERIES[0], DOCUMENTS, return_documents=True)
        assert model.predict([], pool=pool).shape == (0,)
        with pytest.raises(InputError, match="chunk_size"):
            model.predict(PAIRS, pool=pool, chunk_size=0)
    finally:
        model.stop_multi_process_pool(pool)
    # a list of devices starts a pool for the call, as in sentence-transformers
    np.testing.assert_allclose(model.predict(PAIRS[:3], device=["cpu"]), model.predict(PAIRS[:3]), atol=1e-6)
    np.testing.assert_allclose(model.predict(PAIRS, device="cpu:0"), model.predict(PAIRS), atol=0)
    with pytest.raises(InputError, match="not available"):
        model.predict(PAIRS, device="meta")


def _fit(model, output_path, evaluator):
    """sentence-transformers' classic CrossEncoder.fit call, run alike for both libraries."""
    from torch.utils.data import DataLoader

    torch.manual_seed(0)  # the loader's shuffle draws from torch's global generator: the same order for both
    scores = []
    model.fit(
        train_dataloader=DataLoader(EXAMPLES, shuffle=True, batch_size=4),
        evaluator=evaluator,
        epochs=2,
        warmup_steps=2,
        optimizer_params={"lr": 1e-3},
        evaluation_steps=3,
        output_path=str(output_path),
        callback=lambda score, epoch, steps: scores.append((score, steps)),
        show_progress_bar=False,
    )
    return scores


def test_classic_fit_trains_as_sentence_transformers(classifier, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # sentence-transformers' fit keeps its step evaluations in ./checkpoints
    from sentence_transformers.cross_encoder import evaluation as reference_evaluation

    gold = POSITIVE.astype(float).tolist()
    ours, ref = CrossEncoder(classifier), reference(classifier)
    before = ours.predict(PAIRS)
    our_scores = _fit(ours, tmp_path / "ours", CrossEncoderCorrelationEvaluator(PAIRS, gold, name="dev"))
    theirs = reference_evaluation.CrossEncoderCorrelationEvaluator(PAIRS, gold, name="dev")
    ref_scores = _fit(ref, tmp_path / "ref", theirs)
    after = ours.predict(PAIRS)
    # same seed, batches, schedule and loss: the same weights
    np.testing.assert_allclose(after, ref.predict(PAIRS), atol=1e-5, rtol=0)
    # every 3 steps and the last, and each epoch's end (4 steps an epoch)
    assert [s for _, s in our_scores] == [s for _, s in ref_scores] == [3, 4, 6, 8, 8]
    best = lambda scores: int(np.argmax([value for value, _ in scores]))  # noqa: E731
    assert best(our_scores) == best(ref_scores)  # the same evaluation is the best (sbert's scale is x100)
    gap = lambda scores: scores[POSITIVE].mean() - scores[~POSITIVE].mean()  # noqa: E731
    assert gap(after) > gap(before) + 0.05  # the positives rose against the negatives
    # the best evaluation's model was saved to output_path (as sentence-transformers' was) and loads back
    saved = CrossEncoder(tmp_path / "ours")
    np.testing.assert_allclose(saved.predict(PAIRS), CrossEncoder(tmp_path / "ref").predict(PAIRS), atol=1e-5)
    np.testing.assert_allclose(reference(tmp_path / "ours").predict(PAIRS), saved.predict(PAIRS), atol=1e-5)
    rows = (tmp_path / "ours" / "eval" / "CrossEncoderCorrelationEvaluator_dev_results.csv").read_text()
    assert [line.split(",")[1] for line in rows.splitlines()[1:]] == ["3", "4", "6", "8", "8"]


def test_classic_fit_takes_adamw_settings_as_sentence_transformers(classifier):
    """``optimizer_params`` with AdamW's ``eps`` and ``betas`` and no ``lr`` (torch's 1e-3 then), as
    sentence-transformers hands them to ``torch.optim.AdamW``."""
    from torch.utils.data import DataLoader

    ours, ref = CrossEncoder(classifier), reference(classifier)
    for model in (ours, ref):
        torch.manual_seed(0)
        model.fit(
            train_dataloader=DataLoader(EXAMPLES, shuffle=True, batch_size=4),
            epochs=1,
            warmup_steps=1,
            optimizer_params={"eps": 1e-2, "betas": (0.5, 0.9)},
            show_progress_bar=False,
        )
    np.testing.assert_allclose(ours.predict(PAIRS), ref.predict(PAIRS), atol=1e-5, rtol=0)


def test_classic_fit_with_a_torch_loss_as_sentence_transformers(classifier, tmp_path):
    """``loss_fct`` (a plain torch loss on the activated logits), a classic ``scheduler``, and the schedule
    over whole batches only (16 // 5 = 3 steps: the 4th, last batch runs at learning rate 0); without an
    evaluator, nothing saved."""
    from torch.utils.data import DataLoader

    ours, ref = CrossEncoder(classifier), reference(classifier)
    for model in (ours, ref):
        torch.manual_seed(1)
        model.fit(
            DataLoader(EXAMPLES, shuffle=True, batch_size=5),
            loss_fct=torch.nn.MSELoss(),
            activation_fct=torch.nn.Sigmoid(),
            scheduler="WarmupCosine",  # a classic schedule other than the default WarmupLinear
            warmup_steps=1,
            optimizer_params={"lr": 1e-3},
            output_path=str(tmp_path / "unused"),
            show_progress_bar=False,
        )
    np.testing.assert_allclose(ours.predict(PAIRS), ref.predict(PAIRS), atol=1e-5, rtol=0)
    assert not (tmp_path / "unused").exists()


def test_classic_fit_refuses_what_sbert_cannot_run(classifier):
    from torch.utils.data import DataLoader

    model = CrossEncoder(classifier)
    loader = DataLoader(EXAMPLES[:4], batch_size=2)
    for options, named in (
        ({"scheduler": "Polynomial"}, "scheduler"),
        ({"optimizer_params": {"lr": 1e-3, "maximize": True}}, "optimizer_params"),
        ({"optimizer_class": torch.optim.SGD}, "optimizer_class"),
        ({"use_amp": True}, "use_amp"),
        ({"loss_fct": "mse"}, "loss_fct"),
    ):
        with pytest.raises(InputError, match=named):
            model.fit(loader, **options)
    assert model.backend == "onnx"  # refused before the torch model was loaded


def test_predict_takes_sentence_transformers_renamed_keywords(classifier):
    ours, ref = CrossEncoder(classifier), reference(classifier)
    identity = torch.nn.Identity()
    want = ref.predict(inputs=PAIRS, activation_fn=identity)
    np.testing.assert_allclose(ours.predict(inputs=PAIRS, activation_fct=identity), want, atol=1e-5)
    np.testing.assert_allclose(ours.predict(PAIRS), ref.predict(PAIRS), atol=1e-5)
    for model in (ours, ref):  # the pairs given twice: Python's TypeError, as sentence-transformers 6.3
        with pytest.raises(TypeError, match="inputs"):
            model.predict(PAIRS, inputs=PAIRS)
    # a keyword neither library reads: ignored by both (sentence-transformers hands it to its modules)
    np.testing.assert_allclose(
        ours.predict(PAIRS, sentence_pairs=PAIRS), ref.predict(PAIRS, sentence_pairs=PAIRS), atol=1e-5
    )
    for model in (ours, ref):  # without the pairs: Python's TypeError names inputs, as there
        with pytest.raises(TypeError, match="inputs"):
            model.predict(sentence_pairs=PAIRS)


def test_model_card_data_reaches_the_saved_card(classifier, tmp_path):
    from sentence_transformers.cross_encoder import CrossEncoderModelCardData as Reference

    from sbert.cross_encoder import CrossEncoderModelCardData

    fields = {
        "language": ["en", "de"],
        "license": "mit",
        "model_name": "Tiny reranker",
        "model_id": "me/tiny",
    }
    assert set(fields) <= set(Reference.__dataclass_fields__)
    ours = CrossEncoder(classifier, model_card_data=CrossEncoderModelCardData(**fields, tags=["tiny"]))
    ours.save(tmp_path / "m")
    card = (tmp_path / "m" / "README.md").read_text()
    front = card.split("---")[1]
    assert "language:\n- en\n- de" in front and "license: mit" in front and "- tiny" in front
    assert "pipeline_tag: text-ranking" in front and "# Tiny reranker" in card
    assert "CrossEncoder('me/tiny')" in card
    np.testing.assert_allclose(reference(tmp_path / "m").predict(PAIRS), ours.predict(PAIRS), atol=1e-5)


def test_tokenizer_kwargs_shape_the_pairs_as_in_sentence_transformers(classifier):
    options = {"model_max_length": 12, "truncation_side": "left"}
    ours, ref = (
        CrossEncoder(classifier, processor_kwargs=options),
        reference(classifier, processor_kwargs=options),
    )
    assert ours.max_seq_length == ref.max_seq_length == 12
    long_pairs = [(q * 3, d * 3) for q, d in PAIRS[:6]]
    np.testing.assert_allclose(ours.predict(long_pairs), ref.predict(long_pairs), atol=1e-5)
    assert CrossEncoder(classifier, tokenizer_kwargs={"model_max_length": 20}).max_seq_length == 20
    with pytest.raises(InputError, match="tokenizer_kwargs"):
        CrossEncoder(classifier, tokenizer_kwargs={"add_prefix_space": True})


def test_left_padding_batches_as_sentence_transformers(classifier):
    """Padded on the left, a pair's logits depend on its batch's padding (a BERT's absolute positions):
    sbert then batches as sentence-transformers' predict does (longest pair first by characters,
    ``batch_size`` at a time) and gives its scores."""
    options = {"tokenizer_kwargs": {"padding_side": "left"}}
    ours, ref = CrossEncoder(classifier, **options), reference(classifier, **options)
    words = [w for w in WORDS if not w.startswith("#")] + ["unbelievably", "x"]
    pairs = list(zip(random_sentences(words, 70, seed=1), random_sentences(words, 70, seed=2)))
    for call in ({}, {"batch_size": 9}):
        np.testing.assert_allclose(ours.predict(pairs, **call), ref.predict(pairs, **call), atol=1e-5)


def test_pre_v4_evaluator_names_and_from_input_examples(classifier):
    """Classic CrossEncoder.fit scripts: CECorrelationEvaluator.from_input_examples(dev_samples, name=...)."""
    from sentence_transformers import InputExample as Example
    from sentence_transformers.cross_encoder import evaluation as st_evaluation

    from sbert.cross_encoder import evaluation

    ours_model, ref_model = CrossEncoder(classifier), reference(classifier)
    scored = [InputExample(texts=e.texts, label=0.9 * e.label + 0.05 * i) for i, e in enumerate(EXAMPLES)]
    ref_scored = [Example(texts=e.texts, label=e.label) for e in scored]
    for old, new in (("CECorrelationEvaluator", "CrossEncoderCorrelationEvaluator"), ("CEF1Evaluator", None)):
        examples, ref_examples = (EXAMPLES, [Example(texts=e.texts, label=e.label) for e in EXAMPLES])
        if new is not None:
            examples, ref_examples = scored, ref_scored
        with pytest.warns(DeprecationWarning, match=old):
            ours = getattr(evaluation, old).from_input_examples(examples, name="dev")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # theirs warns too
            theirs = getattr(st_evaluation, old).from_input_examples(ref_examples, name="dev")
        mine, ref = ours(ours_model), theirs(ref_model)
        assert set(mine) == set(ref) and ours.primary_metric == theirs.primary_metric
        for key, value in ref.items():
            assert mine[key] == pytest.approx(value, abs=1e-4), key
    assert issubclass(evaluation.CERerankingEvaluator, evaluation.CrossEncoderRerankingEvaluator)


def test_model_attributes_and_input_checks_as_sentence_transformers(classifier):
    from datasets import Dataset

    from sbert.cross_encoder import CrossEncoderModelCardData

    ours, ref = CrossEncoder(classifier), reference(classifier)
    assert ours.model_type == ref.model_type == "CrossEncoder"
    assert ours.default_huggingface_organization == ref.default_huggingface_organization == "cross-encoder"
    assert ours.model_card_data_class is CrossEncoderModelCardData
    assert ours.model_card_data_class.__name__ == ref.model_card_data_class.__name__
    assert ours.get_model_kwargs() == ref.get_model_kwargs() == []
    assert ours.modalities == ref.modalities == ["text"]
    for modality in ("text", "image", "message", ("text",)):
        assert ours.supports(modality) == ref.supports(modality) == (modality == "text"), modality
    column = Dataset.from_dict({"text": ["a", "b"]})["text"]
    probes = [("a", "b"), ["a", "b"], [("a", "b")], [["a", "b"]], [], "a", None, column, [column]]
    arrays = [np.array(["a", "b"]), np.array([["a", "b"]]), np.array([], dtype=str), np.zeros((2, 2))]
    for inputs in probes + arrays:
        assert ours.is_singular_input(inputs) == ref.is_singular_input(inputs), inputs
    assert ours.is_singular_input(("a", "b")) and not ours.is_singular_input([("a", "b")])
    assert ours.get_backend() == "onnx" and ref.get_backend() == "torch"
    assert ours.processor is ours.tokenizer
    assert ours.processor("a", "b")["input_ids"] == ref.processor("a", "b")["input_ids"]


def test_transformers_model_config_and_checkpointing_as_sentence_transformers(classifier, monkeypatch):
    ours, ref = CrossEncoder(classifier), reference(classifier)
    read = ours.config  # from the files: the model stays on its ONNX graph
    assert ours.get_backend() == "onnx" and type(read) is type(ref.config)
    # sentence-transformers 6 also turns the (decoder) KV cache off in the config; sbert leaves it as saved
    assert {**read.to_diff_dict(), "use_cache": False} == ref.config.to_diff_dict()
    model = ours.transformers_model  # handed out: "auto" scores on it from now on
    assert type(model) is type(ref.transformers_model) and ours.get_backend() == "torch"
    for (name, a), (_, b) in zip(model.state_dict().items(), ref.transformers_model.state_dict().items()):
        assert torch.equal(a, b), name
    assert ours.config is model.config
    ours.config = read
    assert model.config is read
    for call in ("gradient_checkpointing_enable", "activation_checkpointing_enable"):
        for fresh in (CrossEncoder(classifier), reference(classifier)):
            assert not fresh.transformers_model.is_gradient_checkpointing
            getattr(fresh, call)({"use_reentrant": False})
            assert fresh.transformers_model.is_gradient_checkpointing, call

    monkeypatch.setattr("sbert._errors.torch_installed", lambda: False)  # the base install: no torch
    with pytest.raises(BackendUnavailableError, match=r"model\.config.*sbert\[torch\]"):
        _ = CrossEncoder(classifier, backend="onnx").config


def test_push_to_hub_saves_the_model_and_uploads_it(classifier, tmp_path, fake_hub, monkeypatch):
    ours = CrossEncoder(classifier)
    url = ours.push_to_hub("tiny", token="t", private=True)
    assert url == "https://hub/someone/tiny/commit/1"
    assert fake_hub["repo"] == ("tiny", True, False) and fake_hub["token"] == "t"
    message = "Add new CrossEncoder model"  # backend="auto": the torch wording, as sentence-transformers
    assert fake_hub["upload"] == ("someone/tiny", message, False, None)
    assert "CrossEncoder('someone/tiny')" in (tmp_path / "uploaded" / "README.md").read_text()
    loaded = reference(tmp_path / "uploaded")
    np.testing.assert_allclose(loaded.predict(PAIRS), ours.predict(PAIRS), atol=1e-5)
    pr = ours.push_to_hub("tiny", local_model_path=classifier, revision="dev", create_pr=True)
    assert pr == "https://hub/pr/1" and fake_hub["branch"] == "dev"
    with pytest.raises(InputError, match="safetensors"):
        ours.push_to_hub("tiny", safe_serialization=False)

    with pytest.warns(DeprecationWarning, match="push_to_hub"):
        ours.save_to_hub("tiny", organization="org")
    assert fake_hub["repo"][0] == "org/tiny" and fake_hub["upload"][1] == "Add new model."
    ref = reference(classifier)
    for args, kwargs in ((("tiny", "org", True), {}), ((), {"repo_name": "org/tiny", "token": "t"})):
        with pytest.warns(DeprecationWarning):
            passed = save_to_hub_calls(ours, monkeypatch, *args, **kwargs)
        assert passed == save_to_hub_calls(ref, monkeypatch, *args, **kwargs)


def test_preprocess_gives_sentence_transformers_features_for_forward(classifier):
    ours, ref = CrossEncoder(classifier), reference(classifier)
    for prompt in (None, "query: "):
        mine, theirs = ours.preprocess(PAIRS, prompt=prompt), ref.preprocess(PAIRS, prompt=prompt)
        assert_same_features(mine, theirs)
        with torch.no_grad():
            out, ref_out = ours(mine), ref(theirs)
        # sentence-transformers 6 returns the features it was given, "scores" added
        assert out is mine and ref_out is theirs and set(out) - {"modality"} == set(ref_out) - {"modality"}
        logits = out["scores"].squeeze(-1).numpy()
        np.testing.assert_allclose(logits, ref_out["scores"].squeeze(-1).numpy(), atol=1e-5, rtol=0)
        raw = ref.predict(PAIRS, activation_fn=torch.nn.Identity(), prompt=prompt)
        np.testing.assert_allclose(logits, raw, atol=1e-5, rtol=0)
    assert ours.preprocess([]) == ref.preprocess([]) == {}
    with pytest.raises(InputError, match="wrap one pair in a list"):
        ours.preprocess(PAIRS[0])
    with pytest.raises(InputError):
        ours.preprocess([("a", 3)])


def test_calls_written_for_sentence_transformers_6_run_unchanged(classifier):
    ours, ref = CrossEncoder(classifier), reference(classifier)
    query, documents = QUERIES[0], DOCUMENTS
    assert [r["corpus_id"] for r in ours.rank(query, documents, 2, True)] == [
        r["corpus_id"] for r in ref.rank(query, documents, 2, True)
    ]
    np.testing.assert_allclose(  # inputs, prompt_name, prompt, batch_size: positional in its order
        ours.predict(PAIRS, None, "query: ", 4), ref.predict(PAIRS, None, "query: ", 4), atol=1e-5
    )
    for keyword in ("apply_softmax", "convert_to_tensor", "convert_to_numpy", "num_workers"):
        with warnings.catch_warnings():  # logged once, as sentence-transformers' warning_once: no warning
            warnings.simplefilter("error")
            ranked = ours.rank(query, documents, **{keyword: True})
        assert [r["corpus_id"] for r in ranked] == [r["corpus_id"] for r in ours.rank(query, documents)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(ours.predict(PAIRS, num_workers=0), ref.predict(PAIRS), atol=1e-5)
    raw = ours.rank(query, documents, activation_fct=torch.nn.Identity())
    assert [r["score"] for r in raw] == pytest.approx(
        [r["score"] for r in ref.rank(query, documents, activation_fn=torch.nn.Identity())], abs=1e-5
    )
    with pytest.raises(TypeError, match="unexpected keyword"):
        ours.rank(query, documents, batch=3)


def test_a_model_cast_to_half_by_the_user_still_scores(classifier):
    ours, ref = CrossEncoder(classifier, backend="torch"), reference(classifier)
    ours.model.half()
    ref.model.half()
    scores = ours.predict(PAIRS)
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, ref.predict(PAIRS), atol=2e-3)
    on_onnx = CrossEncoder(classifier)  # "auto": ONNX; half() moves it to torch in float16, as nn.Module
    assert on_onnx.half() is on_onnx and (on_onnx.backend, on_onnx.precision) == ("torch", "fp16")
    np.testing.assert_allclose(on_onnx.predict(PAIRS), ref.predict(PAIRS), atol=2e-3)
    assert on_onnx.float().precision == "fp32"


def test_older_constructor_arguments_are_taken_as_in_sentence_transformers(classifier, caplog, monkeypatch):
    ref = reference(classifier, activation_fn=torch.nn.Identity(), processor_kwargs={"model_max_length": 8})
    monkeypatch.setattr("sbert._errors._LOGGED", set())  # logged once per process, as its warning_once
    # logged, not Python warnings (clients such as infinity-emb pass them on every load)
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="sbert"):
        warnings.simplefilter("error")
        ours = CrossEncoder(
            model_name=str(classifier),
            default_activation_function=torch.nn.Identity(),
            automodel_args={},
            tokenizer_args={"model_max_length": 8},
            classifier_dropout=0.0,
        )
    assert sum("deprecated" in r.getMessage() for r in caplog.records) == 5  # in sentence-transformers' words
    assert ours.max_seq_length == ref.max_seq_length == 8
    np.testing.assert_allclose(ours.predict(PAIRS), ref.predict(PAIRS), atol=1e-5)
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['num_lables'\\]"):
        CrossEncoder(classifier, num_lables=1)
    with pytest.raises(InputError, match="not both"):
        CrossEncoder(classifier, model_kwargs={}, automodel_args={})


def test_arguments_after_the_name_by_position_as_in_sentence_transformers(classifier, caplog):
    """sentence-transformers 6 still takes them in 5.3's order (num_labels, max_length, activation_fn,
    device, ...), logging each; a keyword given too wins."""
    from sentence_transformers import CrossEncoder as Reference

    args = (str(classifier), 1, 8, torch.nn.Identity(), "cpu")
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
        warnings.simplefilter("error")
        ours, ref = CrossEncoder(*args, max_length=6), Reference(*args, max_length=6)
    assert ours.max_seq_length == ref.max_seq_length == 6 and ours.num_labels == ref.num_labels == 1
    np.testing.assert_allclose(ours.predict(PAIRS), ref.predict(PAIRS), atol=1e-5)
    assert "Passing `activation_fn` as a positional argument to CrossEncoder is deprecated" in caplog.text
    with pytest.raises(TypeError, match="positional arguments"):
        CrossEncoder(*args, *range(11))


def test_activation_fn_config_and_save_options_as_in_sentence_transformers(
    classifier, tmp_path, caplog, monkeypatch
):
    ref = reference(classifier, activation_fn=torch.nn.Tanh(), config_kwargs={"classifier_dropout": 0.25})
    ours = CrossEncoder(classifier, activation_fn=torch.nn.Tanh(), config_kwargs={"classifier_dropout": 0.25})
    # activation_fn is the torch module, as there; assigning another changes what predict applies
    assert isinstance(ours.activation_fn, torch.nn.Tanh) and isinstance(ref.activation_fn, torch.nn.Tanh)
    assert type(ours.get_default_activation_fn()) is type(ref.get_default_activation_fn()) is torch.nn.Sigmoid
    for model in (ours, ref):
        model.activation_fn = torch.nn.Sigmoid()
    np.testing.assert_allclose(ours.predict(PAIRS), ref.predict(PAIRS), atol=1e-5)
    assert ours.config.classifier_dropout == ref.config.classifier_dropout == 0.25  # before the model loads
    # a pair as a 1-D numpy array of two texts: one score
    pair = np.array(PAIRS[0])
    assert np.shape(ours.predict(pair)) == np.shape(ref.predict(pair)) == ()
    np.testing.assert_allclose(ours.predict(pair), ref.predict(pair), atol=1e-5)
    ours.save_pretrained(tmp_path / "saved", safe_serialization=False, create_model_card=False)
    assert (tmp_path / "saved" / "model.safetensors").is_file() and not (
        tmp_path / "saved" / "README.md"
    ).exists()
    again = CrossEncoder(tmp_path / "saved")
    assert isinstance(again.activation_fn, torch.nn.Sigmoid)
    monkeypatch.setattr("sbert._errors._LOGGED", set())  # logged once per process, as its warning_once
    with caplog.at_level(logging.WARNING, logger="sbert"):
        CrossEncoder(classifier, cache_dir=str(tmp_path / "cache"))
    assert (
        "The CrossEncoder `cache_dir` argument was renamed and is now deprecated. Please use `cache_folder`"
        in (caplog.text)
    )


def test_evaluators_take_a_prompt_name_and_the_older_mrr_at_k_as_sentence_transformers(classifier):
    """prompt_name reaches predict (the model's prompt before each query) in the correlation,
    classification and reranking evaluators, and mrr_at_k is the reranking evaluator's older at_k."""
    from sentence_transformers.cross_encoder import evaluation as st_evaluation

    from sbert.cross_encoder import evaluation

    prompts = {"web": "a web search for: "}
    ours, ref = CrossEncoder(classifier, prompts=prompts), reference(classifier, prompts=prompts)
    pairs = [("a man plays guitar", "music is played"), ("cats sit", "a dog runs"), ("it rains", "wet day")]
    samples = [
        {
            "query": "a man plays guitar",
            "positive": ["music is played"],
            "negative": ["cats sit", "it rains"],
        },
        {"query": "cats sit", "positive": ["a cat is sitting"], "negative": ["music is played", "a car"]},
    ]
    cases = [
        ("CrossEncoderCorrelationEvaluator", (pairs, [0.9, 0.1, 0.5]), {}),
        ("CrossEncoderClassificationEvaluator", (pairs, [1, 0, 1]), {}),
        ("CrossEncoderRerankingEvaluator", (samples,), {"mrr_at_k": 2}),
    ]
    for name, args, options in cases:
        mine = getattr(evaluation, name)(*args, name="dev", prompt_name="web", **options)
        theirs = getattr(st_evaluation, name)(*args, name="dev", prompt_name="web", **options)
        found, expected = mine(ours), theirs(ref)
        assert set(found) == set(expected) and mine.primary_metric == theirs.primary_metric, name
        for key, value in expected.items():
            assert found[key] == pytest.approx(value, abs=1e-5), key
    plain = evaluation.CrossEncoderCorrelationEvaluator(pairs, [0.9, 0.1, 0.5], name="dev")
    prompted = evaluation.CrossEncoderCorrelationEvaluator(
        pairs, [0.9, 0.1, 0.5], name="dev", prompt_name="web"
    )
    assert plain(ours) != prompted(ours)  # the prompt changed the scores


def test_per_call_padding_of_processing_kwargs_as_sentence_transformers(classifier):
    """predict(processing_kwargs={"text": {"padding": "max_length", ...}}) (fixed shapes, as the efficiency
    docs show for compiled models) scores as sentence-transformers 6.3 does."""
    from sentence_transformers import CrossEncoder as STCrossEncoder

    ours, theirs = CrossEncoder(str(classifier)), STCrossEncoder(str(classifier))
    pairs = [("a moderately long query sentence", "and a moderately long candidate sentence"), ("a", "b")]
    for limit in (32, 6):
        text_kwargs = {"padding": "max_length", "max_length": limit}
        kwargs = {"processing_kwargs": {"text": text_kwargs}}
        np.testing.assert_allclose(ours.predict(pairs, **kwargs), theirs.predict(pairs, **kwargs), atol=1e-5)


def test_per_call_processing_kwargs_truncate_as_sentence_transformers(classifier):
    """sentence-transformers 6's predict(processing_kwargs={"text": {"max_length": n}}) truncates this call's
    pairs only; rank passes it on to predict."""
    from sentence_transformers import CrossEncoder as STCrossEncoder

    ours, theirs = CrossEncoder(str(classifier)), STCrossEncoder(str(classifier))
    pairs = [("a moderately long query sentence here", "and a moderately long candidate sentence")] * 2
    limit = {"text": {"max_length": 6, "truncation": True}}
    short = ours.predict(pairs, processing_kwargs=limit)
    np.testing.assert_allclose(short, theirs.predict(pairs, processing_kwargs=limit), atol=1e-5)
    assert not np.allclose(short, ours.predict(pairs))  # the model's own limit is back for the next call
    np.testing.assert_allclose(ours.predict(pairs), theirs.predict(pairs), atol=1e-5)
    ranked = ours.rank(pairs[0][0], [pairs[0][1]], processing_kwargs=limit)
    assert ranked[0]["score"] == pytest.approx(float(short[0]), abs=1e-6)
    # other tokenizer options run sentence-transformers' loop (tests/test_processing_kwargs_s44.py): pairs of
    # one length need no padding there
    unpadded = {"text": {"padding": "do_not_pad"}}
    np.testing.assert_allclose(
        ours.predict(pairs, processing_kwargs=unpadded),
        theirs.predict(pairs, processing_kwargs=unpadded),
        atol=1e-6,
    )
