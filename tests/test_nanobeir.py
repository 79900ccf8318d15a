"""Retrieval evaluation during training: the NanoBEIR-style evaluator over local BEIR folders, and the
``pairs`` recipe that mines hard negatives and keeps the checkpoint with the best NDCG@10."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import classic_pooling, torch_model

import sbert
from sbert._cli import main
from sbert._evaluation import NanoBEIREvaluator
from sbert._evaluation.nanobeir import read_beir, subsample
from sbert._training.recipes import run_config

# (id, title, text) documents, queries and which documents answer them; words from the tiny vocabulary
DOCS = {
    "d1": ("Cats", "the cat sat on the mat"),
    "d2": ("", "a man plays guitar"),
    "d3": ("Cars", "the red car is fast"),
    "d4": ("", "she is happy today"),
    "d5": ("Food", "they eat good food in the house"),
    "d6": ("", "the dog ran to the tree"),
    "d7": ("", "a woman plays music"),
    "d8": ("Weather", "it is sunny outside"),
}
QUERIES = {
    "q1": "a cat",
    "q2": "guitar music",
    "q3": "fast car",
    "q4": "happy woman",
    "q5": "eat food",
    "q6": "the dog",
    "q7": "no judgements",
}
QRELS = {
    "q1": {"d1": 1},
    "q2": {"d2": 2, "d7": 1},
    "q3": {"d3": 1},
    "q4": {"d4": 1, "d1": 0},
    "q5": {"d5": 1},
}
QRELS |= {"q6": {"d6": 1}}


def write_beir(folder, split="dev", queries=QUERIES, qrels=QRELS):
    """A BEIR folder in the layout of ../shared/data (corpus.tsv, queries-<split>.tsv, qrels-<split>.tsv)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.tsv").write_text(
        "id\ttitle\ttext\n" + "".join(f"{d}\t{t}\t{x}\n" for d, (t, x) in DOCS.items())
    )
    (folder / f"queries-{split}.tsv").write_text(
        "id\ttext\n" + "".join(f"{q}\t{t}\n" for q, t in queries.items())
    )
    rows = [f"{q}\t{d}\t{s}\n" for q, docs in qrels.items() for d, s in docs.items()]
    (folder / f"qrels-{split}.tsv").write_text("query_id\tcorpus_id\tscore\n" + "".join(rows))
    return folder


def write_beir_download(folder, split="test"):
    """The same set in BEIR's own download layout (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)."""
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": d, "title": t, "text": x} for d, (t, x) in DOCS.items()]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in QUERIES.items())
    )
    rows = [f"{q}\t{d}\t{s}\n" for q, docs in list(QRELS.items())[:4] for d, s in docs.items()]
    (folder / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(rows))
    return folder


def reference(queries=QUERIES, qrels=QRELS, docs=DOCS, name=""):
    """InformationRetrievalEvaluator on the set, built from the dicts above (not from the files)."""
    corpus = {d: f"{t} {x}".strip() for d, (t, x) in docs.items()}
    judged = {q: {d for d, s in qrels[q].items() if s > 0} for q in queries if q in qrels}
    return sbert.InformationRetrievalEvaluator({q: queries[q] for q in judged}, corpus, judged, name=name)


@pytest.fixture(scope="module")
def tiny_path(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.fixture(scope="module")
def model(tiny_path):
    return sbert.SentenceTransformer(tiny_path)


def test_per_set_metrics_are_the_retrieval_evaluators_and_the_mean_is_their_mean(model, tmp_path):
    first = write_beir(tmp_path / "first", split="test")
    second = write_beir_download(tmp_path / "second", split="test")
    evaluator = NanoBEIREvaluator([first, second])
    results = evaluator(model)
    assert evaluator.primary_metric == "NanoBEIR_mean_cosine_ndcg@10" and evaluator.primary_metric in results
    expected = {
        "first": reference()(model),
        "second": reference(qrels=dict(list(QRELS.items())[:4]))(model),
    }
    assert expected["first"] != expected["second"]  # the two sets differ, so the mean is a real mean
    for name, metrics in expected.items():
        for metric, value in metrics.items():
            assert results[f"{name}_{metric}"] == pytest.approx(value, abs=1e-9)
    for metric in expected["first"]:
        mean = np.mean([expected["first"][metric], expected["second"][metric]])
        assert results[f"NanoBEIR_mean_{metric}"] == pytest.approx(mean, abs=1e-9)
    assert len(results) == 3 * len(expected["first"])


def test_capped_evaluation_keeps_every_relevant_document_and_is_deterministic(model, tmp_path):
    folder = write_beir(tmp_path / "set")
    full = read_beir(folder, "dev")
    assert set(full.queries) == {"q1", "q2", "q3", "q4", "q5", "q6"}  # q7 has no judgement
    small = subsample(full, max_queries=3, max_corpus=4, seed=1)
    assert len(small.queries) == 3 and set(small.qrels) == set(small.queries)
    relevant = {d for q in small.queries for d, s in full.qrels[q].items() if s > 0}
    assert relevant <= set(small.corpus) and len(small.corpus) == max(4, len(relevant))
    assert subsample(full, max_queries=3, max_corpus=4, seed=1) == small
    assert subsample(full, max_queries=1, max_corpus=1, seed=2).corpus.keys() == {
        d for q in subsample(full, max_queries=1, seed=2).queries for d, s in full.qrels[q].items() if s > 0
    }  # fewer documents than asked: the relevant ones only
    evaluator = NanoBEIREvaluator([folder], split="dev", max_queries=3, max_corpus=4, seed=1)
    docs = {d: DOCS[d] for d in small.corpus}
    expected = reference(small.queries, small.qrels, docs, name="set")(model)
    assert {k: v for k, v in evaluator(model).items() if k.startswith("set_")} == pytest.approx(expected)


def test_bad_evaluator_arguments_name_the_fix(tmp_path):
    folder = write_beir(tmp_path / "set")
    with pytest.raises(
        sbert.InputError, match=r"no queries file for split 'test': expected queries-test.tsv"
    ):
        NanoBEIREvaluator([folder])
    with pytest.raises(sbert.InputError, match="share a name"):
        NanoBEIREvaluator([folder, folder], split="dev")
    with pytest.raises(sbert.InputError, match="max_queries must be a positive integer"):
        NanoBEIREvaluator([folder], split="dev", max_queries=0)


def pairs_config(tmp_path, tiny_path, evaluation, **arguments):
    """A ``pairs`` recipe on (query, positive) rows that mines one hard negative per pair with the model."""
    pairs = [
        (QUERIES[q], " ".join(DOCS[d]).strip()) for q, docs in QRELS.items() for d, s in docs.items() if s
    ]
    (tmp_path / "pairs.tsv").write_text("query\tpositive\n" + "".join(f"{q}\t{p}\n" for q, p in pairs))
    (tmp_path / "corpus.txt").write_text("".join(f"{t} {x}".strip() + "\n" for t, x in DOCS.values()))
    return {
        "recipe": "pairs",
        "model": str(tiny_path),
        "train": [{"file": "pairs.tsv", "loss": "CachedMultipleNegativesRankingLoss"}],
        "mine": {"corpus": "corpus.txt", "num_negatives": 1},
        "eval": evaluation,
        "output_dir": "run",
        "arguments": {
            "batch_size": 3,
            "learning_rate": 5e-3,
            "max_steps": 3,
            "eval_steps": 1,
            "logging_steps": 1,
            "batch_sampler": "no_duplicates",
            "show_progress_bar": False,
            "plot": False,
            "report_to": "none",
            **arguments,
        },
    }


def check_best(run, output, evaluator, key):
    """Evaluated every step; ``best/`` holds the step with the highest ``key``, as metrics.jsonl says."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = {r["step"]: r[key] for r in records if key in r}
    assert sorted(evals) == [1, 2, 3]
    best_step = max(evals, key=lambda step: (evals[step], -step))  # the first of equal values stays
    assert (output.best_step, output.best_metric) == (best_step, evals[best_step])
    assert evaluator(torch_model(run / "best"))[key] == pytest.approx(evals[best_step], abs=1e-4)


def test_pairs_recipe_mines_negatives_and_keeps_the_best_beir_checkpoint(tiny_path, tmp_path):
    write_beir(tmp_path / "dev-set")
    config = pairs_config(tmp_path, tiny_path, {"beir": ["dev-set"], "split": "dev", "max_queries": 5})
    output = run_config(config, base=tmp_path)
    run = tmp_path / "run"
    readme = (run / "final" / "README.md").read_text()
    assert "pairs (7 examples, columns query, positive, negative_1)" in readme  # the mined rows trained
    evaluator = NanoBEIREvaluator([tmp_path / "dev-set"], split="dev", max_queries=5)
    check_best(run, output, evaluator, "NanoBEIR_mean_cosine_ndcg@10")


def test_sbert_train_with_a_retrieval_eval_keeps_the_best_ndcg_checkpoint(tiny_path, tmp_path, capsys):
    folder = write_beir(tmp_path / "files")
    files = {"corpus": "files/corpus.tsv", "queries": "files/queries-dev.tsv", "qrels": "files/qrels-dev.tsv"}
    config = pairs_config(tmp_path, tiny_path, {"retrieval": files}, save_final_model=False)
    config["mine"]["retriever"] = str(tiny_path)
    del config["train"][0]["loss"]  # the recipe's MultipleNegativesRankingLoss
    (tmp_path / "recipe.yaml").write_text(json.dumps(config))
    assert main(["train", str(tmp_path / "recipe.yaml")]) == 0, capsys.readouterr().err
    run = tmp_path / "run"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    key = "retrieval-queries-dev_cosine_ndcg@10"
    evals = {r["step"]: r[key] for r in records if key in r}
    best = max(evals, key=lambda step: (evals[step], -step))
    output = type("Output", (), {"best_step": best, "best_metric": evals[best]})
    evaluator = reference(name="retrieval-queries-dev")
    check_best(run, output, evaluator, key)
    assert NanoBEIREvaluator([folder], split="dev").evaluators[0].corpus == evaluator.corpus


def test_bad_eval_config_names_the_key_and_the_fix_before_any_model_loads(tiny_path, tmp_path, model_loads):
    write_beir(tmp_path / "files")
    files = {"corpus": "files/corpus.tsv", "queries": "files/queries-dev.tsv", "qrels": "files/missing.tsv"}
    cases = [
        ({"retrieval": files}, r"eval.retrieval.qrels: 'files/missing.tsv' is not a file; give the path"),
        ({"retrieval": {**files, "qrel": "x"}}, r"eval.retrieval needs .* unknown \['qrel'\]"),
        (
            {"beir": ["files"], "split": "dev", "max_docs": 5},
            r"eval: unknown keys \['max_docs'\] for eval.beir",
        ),
        ({"beir": ["nowhere"]}, r"eval.beir: .*nowhere: no such folder"),
        ({"beir": ["files"]}, r"eval.beir: .*no queries file for split 'test': expected queries-test.tsv"),
        ({"beir": ["files"], "split": "dev", "max_queries": 0}, "max_queries must be a positive integer"),
        ({"nli": "x.tsv"}, r"eval must be \{sts: FILE\} or \{retrieval: "),
    ]
    for evaluation, message in cases:
        config = pairs_config(tmp_path, tiny_path, evaluation)
        with pytest.raises(sbert.InputError, match=message):
            run_config(config, base=tmp_path)
    config = pairs_config(tmp_path, tiny_path, None) | {"recipe": "sts"}
    with pytest.raises(sbert.InputError, match="mine .* applies to recipe: pairs or cross-encoder"):
        run_config(config, base=tmp_path)
    config = pairs_config(tmp_path, tiny_path, None)
    config["mine"]["k"] = 3
    with pytest.raises(sbert.InputError, match=r"mine: unknown keys \['k'\]"):
        run_config(config, base=tmp_path)
    assert not model_loads and not (tmp_path / "run").exists()


def _hub_nanobeir(monkeypatch):
    """datasets.load_dataset answering for the hub's NanoBEIR sets offline: the sets above, in the hub's
    columns (corpus/queries ``_id``, ``text``; qrels ``query-id``, ``corpus-id``), one per split name."""
    import datasets

    calls = []

    def load_dataset(path, subset, split):
        calls.append((path, subset, split))
        if subset == "corpus":
            return datasets.Dataset.from_dict(
                {"_id": list(DOCS), "text": [f"{t} {x}".strip() for t, x in DOCS.values()]}
            )
        if subset == "queries":
            return datasets.Dataset.from_dict({"_id": list(QUERIES), "text": list(QUERIES.values())})
        pairs = [(q, d) for q, docs in QRELS.items() for d, s in docs.items() if s > 0]
        return datasets.Dataset.from_dict(
            {"query-id": [q for q, _ in pairs], "corpus-id": [d for _, d in pairs]}
        )

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_hub_nanobeir_sets_by_name_score_as_sentence_transformers(tiny_path, monkeypatch):
    """``NanoBEIREvaluator(dataset_names=[...])`` reads the hub's sets as sentence-transformers does (the
    same subsets and splits asked for) and gives its metric keys and values."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.evaluation import NanoBEIREvaluator as ReferenceEvaluator

    calls = _hub_nanobeir(monkeypatch)
    theirs = ReferenceEvaluator(dataset_names=["scifact", "NFCorpus"], write_csv=False)(
        Reference(str(tiny_path), device="cpu")
    )
    their_calls, calls[:] = list(calls), []
    ours = NanoBEIREvaluator(dataset_names=["scifact", "NFCorpus"])(sbert.SentenceTransformer(tiny_path))
    assert calls == their_calls  # sentence-transformers/NanoBEIR-en, corpus/queries/qrels, NanoSciFact, ...
    assert "NanoSciFact_cosine_ndcg@10" in ours and "NanoBEIR_mean_cosine_ndcg@10" in ours
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=1e-6), key
    with pytest.raises(ValueError, match=r"Dataset\(s\) \['nosuch'\] are not valid NanoBEIR datasets"):
        NanoBEIREvaluator(dataset_names=["nosuch"])
    with pytest.raises(ValueError, match="dataset_names cannot be empty"):
        NanoBEIREvaluator(dataset_names=[])
    assert len(NanoBEIREvaluator().evaluators) == 13  # none named: every NanoBEIR set, as there


def test_hub_nanobeir_prompts_truncation_and_score_functions_as_sentence_transformers(tiny_path, monkeypatch):
    """query_prompts / corpus_prompts (one for all, or one per set), truncate_dim (and its name suffix) and
    score_functions reach each set's evaluator as in sentence-transformers: the same keys and values."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import util as st_util
    from sentence_transformers.sentence_transformer.evaluation import NanoBEIREvaluator as ReferenceEvaluator

    import sbert.util as our_util

    _hub_nanobeir(monkeypatch)
    sets = ["scifact", "nfcorpus"]
    options = {
        "query_prompts": {"scifact": "claim: ", "nfcorpus": "question: "},
        "corpus_prompts": "passage: ",
        "truncate_dim": 16,
    }
    theirs = ReferenceEvaluator(
        dataset_names=sets, write_csv=False, score_functions={"dot": st_util.dot_score}, **options
    )(Reference(str(tiny_path), device="cpu"))
    ours = NanoBEIREvaluator(dataset_names=sets, score_functions={"dot": our_util.dot_score}, **options)(
        sbert.SentenceTransformer(tiny_path)
    )
    assert "NanoSciFact_16_dot_ndcg@10" in ours and "NanoBEIR_mean_16_dot_ndcg@10" in ours
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=1e-6), key
    plain = NanoBEIREvaluator(
        dataset_names=sets, score_functions={"dot": our_util.dot_score}, truncate_dim=16
    )
    assert plain(sbert.SentenceTransformer(tiny_path)) != pytest.approx(ours)  # the prompts changed them
    with pytest.raises(ValueError, match=r"missing query prompts: \['nfcorpus'\]"):
        NanoBEIREvaluator(dataset_names=sets, query_prompts={"scifact": "claim: "})


@pytest.mark.parametrize("show", [True, False])
def test_retrieval_corpus_chunks_and_bar_as_sentence_transformers(tiny_path, bars, show):
    """corpus_chunk_size: the corpus embedded chunk by chunk under a "Corpus Chunks" bar (with
    show_progress_bar), as sentence-transformers does; the metrics as without chunks."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.evaluation import information_retrieval

    bars.watch(information_retrieval, "trange")
    queries, corpus = {q: QUERIES[q] for q in QRELS}, {d: f"{t} {x}" for d, (t, x) in DOCS.items()}
    relevant = {q: {d for d, s in docs.items() if s > 0} for q, docs in QRELS.items()}
    options = {"corpus_chunk_size": 3, "show_progress_bar": show, "write_csv": False}
    reference, model = Reference(str(tiny_path), device="cpu"), sbert.SentenceTransformer(tiny_path)
    bars.clear()  # the models' loading bars
    theirs = information_retrieval.InformationRetrievalEvaluator(queries, corpus, relevant, **options)
    expected = theirs(reference)
    documents = []
    encode = model.encode_document
    model.encode_document = lambda texts, **kw: documents.append(len(texts)) or encode(texts, **kw)
    got = sbert.InformationRetrievalEvaluator(queries, corpus, relevant, **options)(model)
    assert documents == [3, 3, 2]  # the 8 documents
    assert bars.ours == bars.theirs == ([("Corpus Chunks", 3, True)] if show else [])
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-6), key
    whole = sbert.InformationRetrievalEvaluator(queries, corpus, relevant, write_csv=False)(model)
    assert got == pytest.approx(whole, abs=1e-6)


@pytest.mark.parametrize("show", [True, False])
def test_nanobeir_loading_and_evaluating_bars_as_sentence_transformers(
    tiny_path, monkeypatch, bars, show, tmp_path
):
    """A bar while the sets load (always, cleared after) and one over the sets evaluated (with
    show_progress_bar), with sentence-transformers' descriptions and totals; local folders too."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.evaluation import information_retrieval, nano_beir

    _hub_nanobeir(monkeypatch)
    bars.watch(nano_beir)
    bars.watch(information_retrieval, "trange")
    sets = ["scifact", "nfcorpus", "fiqa2018"]
    reference, model = Reference(str(tiny_path), device="cpu"), sbert.SentenceTransformer(tiny_path)
    bars.clear()  # the models' loading bars
    theirs = nano_beir.NanoBEIREvaluator(dataset_names=sets, show_progress_bar=show, write_csv=False)
    theirs(reference)
    NanoBEIREvaluator(dataset_names=sets, show_progress_bar=show, write_csv=False)(model)
    expected = [("Loading NanoBEIR datasets", 3, False)]
    if show:  # and each set's corpus in one chunk
        expected += [("Evaluating datasets", 3, True)] + [("Corpus Chunks", 1, True)] * 3
    assert bars.ours == bars.theirs == expected
    bars.clear()
    NanoBEIREvaluator([write_beir(tmp_path / "a"), write_beir(tmp_path / "b")], split="dev")
    assert bars.ours == [("Loading NanoBEIR datasets", 2, False)]
