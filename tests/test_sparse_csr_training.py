"""Training sentence-transformers 6.3's other sparse architectures as it does: CSR (Transformer, Pooling,
SparseAutoEncoder) with CSRLoss (each named part and every gradient on a fixed batch; SparseEncoderTrainer
step for step), and inference-free SPLADE (a Router: SparseStaticEmbedding for queries, SPLADE for
documents) with router_mapping and learning_rate_mapping. Tiny dropout-free models, so that both trainers
compute the same function."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from conftest import without_dropout

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

TOL = 1e-5
PART_TOL = 1.01e-4  # sentence-transformers' trainer logs the parts rounded to 4 decimals
WIDTH = 32  # the tiny BERT's hidden size
QUERIES = ["the cat sat on the mat", "a dog ran", "who plays guitar", "what is the weather today"]
POSITIVES = ["a cat is here", "the dog runs fast", "a man plays guitar", "it is sunny outside"]
NEGATIVES = ["it is sunny", "she is happy", "they eat food", "a big red car"]
WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]
RECIPE = {
    "per_device_train_batch_size": 4, "num_train_epochs": 2, "learning_rate": 5e-3, "warmup_steps": 0.1,
    "weight_decay": 0.01, "save_strategy": "no", "disable_tqdm": True, "logging_steps": 1, "seed": 3,
    "report_to": "none",
}  # fmt: skip


def namespace(library: str):
    """``sentence_transformers.sparse_encoder`` or sbert's."""
    return __import__("sentence_transformers" if library == "st" else "sbert").sparse_encoder


@pytest.fixture(scope="module")
def csr_folders(tiny_bert, tmp_path_factory):
    """CSR folders saved by sentence-transformers on the dropout-free tiny BERT: with auxiliary latents (a
    third of the latents already dead, so the auxiliary part has dead units from the first step) and with
    ``normalize`` and no auxiliary latents."""
    from sentence_transformers import SparseEncoder
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from sentence_transformers.sparse_encoder.modules import SparseAutoEncoder

    root = tmp_path_factory.mktemp("csr-training")
    bert = without_dropout(shutil.copytree(tiny_bert, root / "bert"))
    folders = {}
    for name, options in (("aux", {"k_aux": 8}), ("normalized", {"k_aux": 0, "normalize": True})):
        torch.manual_seed(0)
        csr = SparseAutoEncoder(WIDTH, hidden_dim=64, k=4, dead_threshold=2, **options)
        with torch.no_grad():
            csr.pre_bias.normal_(std=0.1)
            csr.latent_bias.normal_(std=0.1)
            csr.stats_last_nonzero[::3] = 5  # dead: inactive for more than dead_threshold steps
        modules = [Transformer(str(bert)), Pooling(WIDTH, "mean"), csr]
        SparseEncoder(modules=modules, device="cpu").save(str(root / name))
        folders[name] = root / name
    return folders


def load_pair(path):
    """sentence-transformers' model and sbert's, from one folder."""
    return namespace("st").SparseEncoder(str(path), device="cpu"), namespace("ours").SparseEncoder(
        str(path), device="cpu"
    )


# ------------------------------------------------------------------ CSRLoss on one batch

# name -> (columns, labels, CSRLoss options, inner loss or None for the default)
LOSS_CASES = {
    "default": ([QUERIES, POSITIVES], None, {}, None),
    "weighted-hard-negatives": ([QUERIES, POSITIVES, NEGATIVES], None, {"beta": 0.5, "gamma": 2.0}, None),
    "margin-mse": (
        [QUERIES, POSITIVES, NEGATIVES],
        [0.5, -1.0, 2.0, 0.3],
        {"gamma": 0.5},
        "SparseMarginMSELoss",
    ),
}


@pytest.mark.parametrize("kind", ["aux", "normalized"])
@pytest.mark.parametrize("case", list(LOSS_CASES))
def test_csr_loss_value_and_gradients_equal_sentence_transformers(csr_folders, kind, case):
    """CSRLoss on a fixed batch: each named part (in sentence-transformers' order), every gradient of the
    model (1e-5), and the dead-latent statistics the forward updates are sentence-transformers'."""
    columns, labels, options, inner = LOSS_CASES[case]
    labels = None if labels is None else torch.tensor(labels)
    results = {}
    for library, model in zip(("st", "ours"), load_pair(csr_folders[kind])):
        model.train()
        losses = namespace(library).losses
        loss = losses.CSRLoss(model, loss=inner and getattr(losses, inner)(model), **options)
        parts = loss([model.preprocess(texts) for texts in columns], labels)
        sum(parts.values()).backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        stats = model[2].stats_last_nonzero.clone()
        results[library] = ({k: float(v.detach()) for k, v in parts.items()}, grads, stats)
    (theirs, their_grads, their_stats), (ours, our_grads, our_stats) = results["st"], results["ours"]
    assert list(ours) == list(theirs)
    np.testing.assert_allclose(list(ours.values()), list(theirs.values()), atol=TOL, rtol=1e-6)
    assert (ours["reconstruction_loss_aux"] > 0) == (kind == "aux")
    assert our_grads.keys() == their_grads.keys() and "2.encoder.weight" in our_grads
    for name, grad in our_grads.items():
        torch.testing.assert_close(grad, their_grads[name], atol=TOL, rtol=1e-4, msg=name)
    assert torch.equal(our_stats, their_stats)


def test_csr_losses_refuse_what_sentence_transformers_cannot_run(csr_folders):
    from sbert.sparse_encoder import SparseEncoder, losses

    model = SparseEncoder(str(csr_folders["aux"]), device="cpu")
    features = [model.preprocess(QUERIES), model.preprocess(POSITIVES)]
    # a NotImplementedError, as sentence-transformers' CSRReconstructionLoss.forward raises
    with pytest.raises(NotImplementedError, match="not intended to be used standalone. Use it within CSR"):
        losses.CSRReconstructionLoss(model)(features)
    for inner in (losses.FlopsLoss(model), losses.CSRReconstructionLoss(model), torch.nn.Linear(2, 2)):
        with pytest.raises(ValueError, match="CSRLoss cannot use"):
            losses.CSRLoss(model, loss=inner)
    with torch.inference_mode(), pytest.raises(ValueError, match="SparseAutoEncoder's training outputs"):
        losses.CSRLoss(model)(features)
    assert losses.CSRLoss(model, beta=0.2).describe() == (
        "CSRLoss(beta=0.2, gamma=1.0, loss=SparseMultipleNegativesRankingLoss)"
    )


# ------------------------------------------------------------------ the trainers, step for step


def _recorder():
    from transformers import TrainerCallback

    class Record(TrainerCallback):
        def __init__(self):
            self.train, self.eval = [], []

        def on_log(self, args, state, control, logs=None, **kwargs):
            if "loss" in logs:
                self.train.append(dict(logs))
            elif "eval_loss" in logs:
                self.eval.append(dict(logs))

    return Record()


def _train(library, path, out, data, make_loss, **recipe):
    """Train a fresh model of ``path`` with ``make_loss(losses, model)``; the model, the records logged
    (training, evaluation) and the steps."""
    space = namespace(library)
    model = space.SparseEncoder(str(path), device="cpu")
    record = _recorder()
    args = space.SparseEncoderTrainingArguments(str(out), **{**RECIPE, **recipe})
    trainer = space.SparseEncoderTrainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=data if "eval_strategy" in recipe else None,
        loss=make_loss(space.losses, model),
        callbacks=[record],
    )
    return model, record, trainer.train().global_step


def assert_same_records(ours: list[dict], theirs: list[dict], exact: tuple[str, ...]) -> None:
    """The same records with the same keys (an evaluation's timings by name only):
    ``loss`` / ``eval_loss`` within 1e-5, the parts as rounded there, the keys of ``exact`` (learning rate,
    scheduled weights) equal."""
    assert len(ours) == len(theirs) > 0
    for got, expected in zip(ours, theirs):
        assert set(got) == set(expected)
        for key, value in expected.items():
            if key in ("loss", "eval_loss"):
                assert got[key] == pytest.approx(value, abs=TOL), key
            elif key.endswith("_loss"):
                assert got[key] == pytest.approx(value, abs=PART_TOL), key
            elif key in exact:
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-15), key


def assert_same_weights(model, reference, initial) -> float:
    """Every weight (and buffer) within 1e-5 of sentence-transformers' trained model; how far the weights
    moved from ``initial``."""
    ours, theirs = model.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys()
    for name, value in ours.items():
        torch.testing.assert_close(value, theirs[name], atol=TOL, rtol=0, msg=name)
    return max(float((value.float() - initial[name].float()).abs().max()) for name, value in ours.items())


def test_csr_training_equals_sentence_transformers_trainer(csr_folders, tmp_path):
    """SparseEncoderTrainer with CSRLoss, as sentence-transformers': each logged loss (1e-5) and its parts,
    the eval records, the steps and every weight and dead-latent statistic of the trained model (1e-5).
    sentence-transformers adds no callback for CSRLoss (the regularizer schedule is SpladeLoss's), so the
    records have no regularizer weights."""
    from datasets import Dataset

    data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:]})
    options = {"eval_strategy": "steps", "eval_steps": 2, "per_device_eval_batch_size": 4}
    runs = {
        library: _train(
            library,
            csr_folders["aux"],
            tmp_path / library,
            data,
            lambda losses, model: losses.CSRLoss(model, beta=0.5, gamma=2.0),
            **options,
        )
        for library in ("st", "ours")
    }
    (reference, theirs, their_steps), (model, ours, our_steps) = runs["st"], runs["ours"]
    assert our_steps == their_steps == 4
    assert_same_records(ours.train, theirs.train, ("learning_rate",))
    assert_same_records(ours.eval, theirs.eval, ())
    assert {"reconstruction_loss_aux", "base_loss"} <= set(ours.train[0])
    assert not any("regularizer_weight" in key for record in ours.train for key in record)
    initial = load_pair(csr_folders["aux"])[1].state_dict()
    assert assert_same_weights(model, reference, initial) > 1e-3


@pytest.fixture(scope="module")
def inference_free(masked_lm, tmp_path_factory):
    """An inference-free SPLADE folder saved by sentence-transformers (:func:`save_inference_free_splade`)
    from a copy of the dropout-free tiny masked LM."""
    root = tmp_path_factory.mktemp("inference-free-training")
    return save_inference_free_splade(
        without_dropout(shutil.copytree(masked_lm, root / "mlm")), root / "model"
    )


def save_inference_free_splade(mlm, out):
    """Save to ``out``, with sentence-transformers, an inference-free SPLADE Router: SparseStaticEmbedding
    (trainable, random weights) for queries; the masked LM in the folder ``mlm`` (its head's bias raised in
    place, so that documents share terms with queries) and SpladePooling for documents."""
    from sentence_transformers import SparseEncoder
    from sentence_transformers.base.modules import Router, Transformer
    from sentence_transformers.sparse_encoder.modules import SparseStaticEmbedding, SpladePooling
    from transformers import BertForMaskedLM

    head = BertForMaskedLM.from_pretrained(str(mlm))
    with torch.no_grad():
        head.cls.predictions.bias.fill_(0.3)
    head.save_pretrained(str(mlm), safe_serialization=True)
    document = Transformer(str(mlm), transformer_task="fill-mask")
    torch.manual_seed(0)
    weight = torch.rand(len(document.tokenizer.get_vocab())) + 0.5
    query = SparseStaticEmbedding(tokenizer=document.tokenizer, weight=weight, frozen=False)
    router = Router.for_query_document([query], [document, SpladePooling("max")])
    SparseEncoder(modules=[router], device="cpu", similarity_fn_name="dot").save(str(out))
    return out


QUERY_WEIGHT = "0.sub_modules.query.0.weight"


def test_inference_free_training_equals_sentence_transformers_trainer(inference_free, tmp_path):
    """SpladeLoss (no query regularization) on a Router, with router_mapping sending the "query" column to
    SparseStaticEmbedding and "answer" to SPLADE, and learning_rate_mapping giving the static weights their
    own rate: the logged losses, parts and scheduled weights, and every trained weight equal
    sentence-transformers' (1e-5); the query weights moved further than the base rate could move them."""
    from datasets import Dataset

    def splade(losses, model):
        inner = losses.SparseMultipleNegativesRankingLoss(model)
        return losses.SpladeLoss(model, inner, query_regularizer_weight=0, document_regularizer_weight=3e-3)

    data = Dataset.from_dict({"query": WORDS[:8], "answer": WORDS[4:]})
    options = {
        "router_mapping": {"query": "query", "answer": "document"},
        "learning_rate_mapping": {r"sub_modules\.query\.0\.weight": 0.1},
    }
    runs = {
        library: _train(library, inference_free, tmp_path / library, data, splade, **options)
        for library in ("st", "ours")
    }
    (reference, theirs, their_steps), (model, ours, our_steps) = runs["st"], runs["ours"]
    assert our_steps == their_steps == 4
    exact = ("learning_rate", "document_regularizer_weight", "query_regularizer_weight")
    assert_same_records(ours.train, theirs.train, exact)
    assert ours.train[-1]["document_regularizer_weight"] == 3e-3
    initial = load_pair(inference_free)[1].state_dict()
    assert assert_same_weights(model, reference, initial) > 1e-3
    query_moved = float((model.state_dict()[QUERY_WEIGHT] - initial[QUERY_WEIGHT]).abs().max())
    assert query_moved > 2 * RECIPE["learning_rate"] * our_steps  # Adam moves a weight about lr a step


def test_a_learning_rate_pattern_matching_no_parameter_is_refused(inference_free, tmp_path):
    """A pattern no parameter name matches (sentence-transformers 6.3 names the static weights
    ``0.sub_modules.query.0.weight``, so ``SparseStaticEmbedding\\.weight`` matches none): a ValueError, as
    sentence-transformers raises, naming how the names look."""
    from datasets import Dataset

    data = Dataset.from_dict({"query": WORDS[:4], "answer": WORDS[4:8]})

    def splade(losses, model):
        return losses.SpladeLoss(model, losses.SparseMultipleNegativesRankingLoss(model), 3e-3, 0)

    with pytest.raises(ValueError, match=r"no parameter matches .*model\.0\.sub_modules\.query\.0\.weight"):
        _train(
            "ours",
            inference_free,
            tmp_path,
            data,
            splade,
            router_mapping={"query": "query", "answer": "document"},
            learning_rate_mapping={r"SparseStaticEmbedding\.weight": 0.1},
        )


def test_splade_max_pooling_sends_the_gradient_of_a_tie_where_sentence_transformers_does():
    """A token scored the same at several positions (here [PAD], whose zero embedding row gives it the head's
    bias everywhere): max pooling's gradient goes to one position, as sentence-transformers' SpladePooling
    sends it, so that the encoder's gradients (and training) stay the same."""
    from sentence_transformers.sparse_encoder.modules import SpladePooling as Reference

    from sbert.sparse_encoder.modules import SpladePooling

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 7, generator=generator)
    logits[:, :, 0] = 0.3  # a tie at every position
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]])
    grads = []
    for pooling in (Reference("max"), SpladePooling("max")):
        tokens = logits.clone().requires_grad_(True)
        pooled = pooling.train()({"token_embeddings": tokens, "attention_mask": mask})["sentence_embedding"]
        (pooled * torch.arange(1.0, 8.0)).sum().backward()
        grads.append(tokens.grad)
    torch.testing.assert_close(grads[1], grads[0], atol=0, rtol=0)
    assert int((grads[1][:, :, 0] != 0).sum()) == 3  # one position of each text
