"""Training asymmetric (Router) models the sentence-transformers 6.3 way, on both libraries with the same
code: one shared Transformer + mean Pooling, then a Router of two Dense heads (query, document), dropout-free,
seed 7, ``router_mapping`` and ``prompts`` in the training arguments, an InformationRetrievalEvaluator. Each
run's per-step losses, eval records (loss and the evaluator's metrics), final weights of every route, and
encode_query / encode_document of the trained model and of its saved folder, loaded in either library, match
(1e-5)."""

from __future__ import annotations

import pytest
import torch
from conftest import build_tiny_bert, without_dropout

TOL = 1e-5
Q = [
    "what is the weather",
    "a cat on a mat",
    "who plays guitar",
    "is she happy",
    "what do they eat",
    "big tree",
]
Q += ["the red car", "is it sunny", "who sings", "we eat bread"]
D = [
    "the weather is lovely today",
    "the cat sat on the mat",
    "a man plays guitar",
    "she is happy",
    "they eat food",
]
D += ["a big tree", "the red car is fast", "it is sunny outside", "a woman sings", "we eat bread and food"]
SETTINGS = {
    "max_steps": 4, "per_device_train_batch_size": 4, "per_device_eval_batch_size": 4, "learning_rate": 1e-3,
    "logging_steps": 1, "save_strategy": "no", "disable_tqdm": True, "seed": 7, "report_to": "none",
    "eval_strategy": "steps", "eval_steps": 2, "warmup_steps": 0,
}  # fmt: skip
# Adam's first step moves a weight by lr * g / (|g| + eps): where a gradient is near eps (1e-8), the rounding
# of sbert's length-grouped forwards (sentence-transformers pads each batch whole) changes that step by a few
# % of lr (AVX2: 1.2e-5, one weight in 2048); a wrong update moves weights by about lr
WEIGHT_TOL = SETTINGS["learning_rate"] / 20
PAIRS = {"question": Q[:8], "answer": D[:8]}
EVAL_PAIRS = {"question": Q[8:], "answer": D[8:]}


def library(name: str, sparse: bool = False):
    """The package, its losses and evaluation modules (the SparseEncoder's with ``sparse``)."""
    if name == "st":
        import sentence_transformers as module

        if sparse:
            from sentence_transformers.sparse_encoder import evaluation, losses
        else:
            from sentence_transformers.sentence_transformer import evaluation, losses
    else:
        import sbert as module

        if sparse:
            from sbert.sparse_encoder import evaluation, losses
        else:
            from sbert.sentence_transformer import evaluation, losses
    return module, losses, evaluation


@pytest.fixture(scope="module")
def dense_heads(tmp_path_factory):
    """Transformer -> mean Pooling -> Router(query: Dense 32->16 tanh, document: another), saved by
    sentence-transformers."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as m

    base = tmp_path_factory.mktemp("router-heads")
    bert = without_dropout(build_tiny_bert(base / "bert", seed=0))
    torch.manual_seed(0)
    router = m.Router.for_query_document(
        query_modules=[m.Dense(32, 16, activation_function=torch.nn.Tanh())],
        document_modules=[m.Dense(32, 16, activation_function=torch.nn.Tanh())],
    )
    modules = [m.Transformer(str(bert)), m.Pooling(32, "mean"), router]
    SentenceTransformer(modules=modules, device="cpu").save(str(base / "model"))
    return base / "model"


def _datasets(data):
    from datasets import Dataset, DatasetDict

    if isinstance(next(iter(data.values())), dict):
        return DatasetDict({name: Dataset.from_dict(columns) for name, columns in data.items()})
    return Dataset.from_dict(data)


def _model_and_loss(name, folder, loss):
    module, losses, evaluators = library(name, sparse=loss == "splade")
    if loss == "splade":
        model = module.SparseEncoder(str(folder), device="cpu")
        inner = losses.SparseMultipleNegativesRankingLoss(model)
        return model, losses.SpladeLoss(model, inner, 3e-3, 0), evaluators.SparseInformationRetrievalEvaluator
    model = module.SentenceTransformer(str(folder), device="cpu")
    if loss == "cached":
        loss_fn = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=2)
    else:
        loss_fn = losses.MultipleNegativesRankingLoss(model)
    return model, loss_fn, evaluators.InformationRetrievalEvaluator


def _train(name, folder, out, *, data=PAIRS, evaluation=EVAL_PAIRS, loss="mnrl", **options) -> dict:
    module = library(name)[0]
    model, loss_fn, evaluator_class = _model_and_loss(name, folder, loss)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    train, dev = _datasets(data), _datasets(evaluation)
    queries = {f"q{i}": q for i, q in enumerate(Q[:6])}
    evaluator = evaluator_class(
        queries, {f"d{i}": d for i, d in enumerate(D)}, {q: {"d" + q[1:]} for q in queries}, name="dev"
    )
    prefix = "SparseEncoder" if loss == "splade" else "SentenceTransformer"
    args = getattr(module, prefix + "TrainingArguments")(str(out), **{**SETTINGS, **options})
    trainer = getattr(module, prefix + "Trainer")(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=dev,
        loss=dict.fromkeys(train, loss_fn) if isinstance(dev, dict) else loss_fn,
        evaluator=evaluator,
    )
    trainer.train()
    model.save(str(out / "final"))
    history = trainer.state.log_history
    return {
        "model": model,
        "losses": [r["loss"] for r in history if "loss" in r],
        "eval": [
            {k: v for k, v in r.items() if k.startswith("eval_") and not k.endswith(("runtime", "second"))}
            for r in history
            if any(k.startswith("eval_") for k in r)
        ],
        "weights": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "initial": initial,
        "saved": out / "final",
    }


def _encoded(model) -> tuple:
    return model.encode_query(Q[:3], convert_to_tensor=True), model.encode_document(
        D[:3], convert_to_tensor=True
    )


def assert_same_runs(ours: dict, theirs: dict) -> None:
    assert len(ours["losses"]) == len(theirs["losses"]) == 4
    assert ours["losses"] == pytest.approx(theirs["losses"], abs=TOL)
    assert len(ours["eval"]) == len(theirs["eval"]) >= 2
    for got, want in zip(ours["eval"], theirs["eval"]):
        assert got.keys() == want.keys()
        assert got == pytest.approx(want, abs=TOL)
    assert ours["weights"].keys() == theirs["weights"].keys()
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=WEIGHT_TOL, rtol=0, msg=name)
    moved = {
        name.split(".")[2]
        for name, value in ours["weights"].items()
        if ".sub_modules." in name and not torch.equal(value, ours["initial"][name])
    }
    assert moved == {"query", "document"}  # both routes trained


def _compare(folder, tmp_path, **run) -> tuple[dict, dict]:
    theirs = _train("st", folder, tmp_path / "st", **run)
    ours = _train("sbert", folder, tmp_path / "ours", **run)
    assert_same_runs(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize(
    ("loss", "prompts"),
    [("mnrl", {"question": "query: ", "answer": "passage: "}), ("cached", "query: ")],
    ids=["mnrl-column-prompts", "cached-mnrl-one-prompt"],
)
def test_router_heads_train_evaluate_save_and_encode_as_sentence_transformers(
    dense_heads, tmp_path, loss, prompts
):
    from sentence_transformers import SentenceTransformer as Reference

    import sbert

    ours, theirs = _compare(
        dense_heads,
        tmp_path,
        loss=loss,
        prompts=prompts,
        router_mapping={"question": "query", "answer": "document"},
    )
    assert any(key.startswith("eval_dev_cosine_ndcg@10") for key in ours["eval"][0])
    want = _encoded(theirs["model"])
    for model in [ours["model"]] + [
        load(str(run["saved"]), device="cpu")
        for run in (ours, theirs)
        for load in (sbert.SentenceTransformer, Reference)
    ]:
        for got, expected in zip(_encoded(model), want):
            torch.testing.assert_close(got.cpu(), expected.cpu(), atol=TOL, rtol=0)


PER_DATASET = {"qa": {"question": "query", "answer": "document"}, "dd": {"text2": "query"}}


@pytest.mark.parametrize(
    ("evaluation", "prompts"),
    [
        # both datasets, each its own routes and prompts
        (
            {"qa": EVAL_PAIRS, "dd": {"text1": D[8:], "text2": Q[8:]}},
            {"qa": {"question": "query: "}, "dd": "doc: "},
        ),
        # the mapping names a dataset the evaluation data lacks
        ({"qa": EVAL_PAIRS}, {"qa": {"question": "query: "}, "dd": "doc: "}),
        # one unnamed dataset: the per-dataset mapping sends its columns down the default route
        (EVAL_PAIRS, "query: "),
    ],
    ids=["both", "one-named", "unnamed"],
)
def test_per_dataset_router_mapping_evaluates_as_sentence_transformers(
    dense_heads, tmp_path, evaluation, prompts
):
    """router_mapping and prompts per dataset name: each evaluation dataset takes the routes and prompts the
    mapping gives its name (none for a name it lacks, or a dataset without a name), as sentence-transformers'
    collator gives them; the mapping is checked against the training data only."""
    _compare(
        dense_heads,
        tmp_path,
        data={"qa": PAIRS, "dd": {"text1": D[:8], "text2": Q[:8]}},
        evaluation=evaluation,
        router_mapping=PER_DATASET,
        prompts=prompts,
    )


@pytest.fixture(scope="module")
def legacy_asym(dense_heads, tmp_path_factory):
    """``dense_heads`` as sentence-transformers 2.x saved an ``Asym`` module: modules.json type
    ``sentence_transformers.models.Asym``, the routes in ``config.json`` (module ids ``<id>_Dense``, types by
    module path, no default route), which sentence-transformers 6.3 still loads (``Asym`` is ``Router``)."""
    import json
    import shutil

    folder = shutil.copytree(dense_heads, tmp_path_factory.mktemp("asym") / "model")
    config = json.loads((folder / "2_Router" / "router_config.json").read_text())
    (folder / "2_Router" / "router_config.json").unlink()
    ids = {old: f"14023{i}_Dense" for i, old in enumerate(config["types"])}
    for old, new in ids.items():
        (folder / "2_Router" / old).rename(folder / "2_Router" / new)
    legacy = {
        "types": dict.fromkeys(ids.values(), "sentence_transformers.models.Dense"),
        "structure": {route: [ids[i] for i in members] for route, members in config["structure"].items()},
        "parameters": {"allow_empty_key": True},
    }
    (folder / "2_Router" / "config.json").write_text(json.dumps(legacy))
    (folder / "2_Router").rename(folder / "2_Asym")
    modules = json.loads((folder / "modules.json").read_text())
    modules[2].update(path="2_Asym", type="sentence_transformers.models.Asym")
    (folder / "modules.json").write_text(json.dumps(modules))
    return folder


def test_a_legacy_asym_folder_loads_encodes_saves_and_trains_as_sentence_transformers(legacy_asym, tmp_path):
    """The first route ("query") is the default, as sentence-transformers reads a config without one."""
    from sentence_transformers import SentenceTransformer as Reference

    import sbert

    model, reference = sbert.SentenceTransformer(str(legacy_asym), device="cpu"), Reference(str(legacy_asym))
    for call in ("encode_query", "encode_document", "encode"):
        torch.testing.assert_close(
            getattr(model, call)(D[:3], convert_to_tensor=True),
            getattr(reference, call)(D[:3], convert_to_tensor=True),
            atol=TOL,
            rtol=0,
        )
    model.save(str(tmp_path / "resaved"))
    torch.testing.assert_close(
        Reference(str(tmp_path / "resaved")).encode_query(Q[:3], convert_to_tensor=True),
        reference.encode_query(Q[:3], convert_to_tensor=True),
        atol=TOL,
        rtol=0,
    )
    _compare(legacy_asym, tmp_path, router_mapping={"question": "query", "answer": "document"})


@pytest.fixture(scope="module")
def inference_free(tmp_path_factory):
    """An inference-free SPLADE Router saved by sentence-transformers (a dropout-free tiny masked LM, see
    ``save_inference_free_splade``)."""
    from conftest import build_tiny_masked_lm
    from test_sparse_csr_training import save_inference_free_splade

    base = tmp_path_factory.mktemp("inference-free")
    return save_inference_free_splade(without_dropout(build_tiny_masked_lm(base / "mlm")), base / "model")


def test_inference_free_splade_router_trains_evaluates_and_saves_as_sentence_transformers(
    inference_free, tmp_path
):
    """SpladeLoss(SparseMultipleNegativesRankingLoss) with a SparseInformationRetrievalEvaluator, the question
    column to the static query route (with a prompt), the answer to SPLADE."""
    from sentence_transformers import SparseEncoder as Reference

    import sbert

    ours, theirs = _compare(
        inference_free,
        tmp_path,
        loss="splade",
        router_mapping={"question": "query", "answer": "document"},
        prompts={"question": "query: "},
    )
    assert "eval_dev_dot_ndcg@10" in ours["eval"][0]
    want = _encoded(theirs["model"])
    for model in [ours["model"]] + [
        load(str(run["saved"]), device="cpu")
        for run in (ours, theirs)
        for load in (sbert.SparseEncoder, Reference)
    ]:
        for got, expected in zip(_encoded(model), want):
            torch.testing.assert_close(got.cpu(), expected.cpu(), atol=TOL, rtol=0)
