"""The torch names of every model class and module type are sentence-transformers 6.3's: ``state_dict``
keys, ``named_modules``, ``load_state_dict`` of its state (strict), the rejection of older ``auto_model.``
keys."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert, build_tiny_classifier

import sbert

TOL = 1e-5
TEXTS = ["hello world", "the quick brown fox jumps"]
PAIRS = [("hello world", "the quick brown fox"), ("a b c", "hello")]


@pytest.fixture(scope="module")
def folders(masked_lm, tmp_path_factory):
    """Folders saved by sentence-transformers 6.3, one per model class and module type."""
    import sentence_transformers as st
    from sentence_transformers.sentence_transformer import modules as m
    from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer
    from sentence_transformers.sparse_encoder import modules as sm

    root = tmp_path_factory.mktemp("names")
    bert = str(build_tiny_bert(root / "bert"))
    torch.manual_seed(0)
    vocab = ["hello", "world", "the", "quick", "brown", "fox", "a", "b", "c"]
    words = m.WordEmbeddings(WhitespaceTokenizer(vocab), np.random.RandomState(0).randn(len(vocab), 6))
    pipelines = {
        "dense": [m.Transformer(bert), m.Pooling(32), m.Dense(32, 8), m.LayerNorm(8), m.Normalize()],
        "words": [words, m.LSTM(6, 4), m.CNN(8, 3, [1, 3]), m.Pooling(6)],
        "static": [m.StaticEmbedding(m.Transformer(bert).tokenizer, embedding_dim=8)],
        "router": [
            m.Router.for_query_document(
                query_modules=[m.Transformer(bert), m.Pooling(32)],
                document_modules=[m.Transformer(bert), m.Pooling(32)],
            )
        ],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecated MLMTransformer, new random modules
        for name, modules in pipelines.items():
            st.SentenceTransformer(modules=modules, device="cpu").save(str(root / name))
        mlm = m.Transformer(str(masked_lm), transformer_task="fill-mask")
        route = m.Router.for_query_document(
            query_modules=[sm.SparseStaticEmbedding(tokenizer=mlm.tokenizer, frozen=False)],
            document_modules=[mlm, sm.SpladePooling("max")],
        )
        sparse = {
            "splade": [sm.MLMTransformer(str(masked_lm)), sm.SpladePooling("max")],
            "inference-free": [route],
            "csr": [m.Transformer(bert), m.Pooling(32), sm.SparseAutoEncoder(32, 64, k=8, k_aux=16)],
        }
        for name, modules in sparse.items():
            st.SparseEncoder(modules=modules, device="cpu").save(str(root / name))
        st.MultiVectorEncoder(bert, device="cpu").save(str(root / "mv"))
    st.CrossEncoder(str(build_tiny_classifier(root / "hf-ce")), device="cpu").save(str(root / "ce"))
    return root


CLASSES = {
    "dense": "SentenceTransformer",
    "words": "SentenceTransformer",
    "static": "SentenceTransformer",
    "router": "SentenceTransformer",
    "splade": "SparseEncoder",
    "inference-free": "SparseEncoder",
    "csr": "SparseEncoder",
    "mv": "MultiVectorEncoder",
    "ce": "CrossEncoder",
}


def both(folders, kind):
    import sentence_transformers as st

    name = CLASSES[kind]
    ours = getattr(sbert, name)(str(folders / kind), backend="torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ours, getattr(st, name)(str(folders / kind), device="cpu")


def outputs(model, kind):
    """What the model computes on the test inputs, as one float64 array."""
    if kind == "ce":
        return np.asarray(model.predict(PAIRS), dtype=np.float64)
    options = {"convert_to_tensor": True} if kind in ("splade", "inference-free", "csr") else {}
    if kind == "mv":
        return np.concatenate([np.asarray(t, dtype=np.float64) for t in model.encode(TEXTS)])
    encode = model.encode_document if kind == "inference-free" else model.encode  # its document route
    got = encode(TEXTS, **options)
    got = got.to_dense() if isinstance(got, torch.Tensor) else torch.as_tensor(got)
    return got.double().numpy()


@pytest.mark.parametrize("kind", list(CLASSES))
def test_names_and_state_dict_as_sentence_transformers(folders, kind):
    ours, theirs = both(folders, kind)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    # their weights, changed, load into ours strictly and give their outputs
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.add_(0.02 * torch.randn_like(parameter))
    result = ours.load_state_dict(theirs.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(outputs(ours, kind), outputs(theirs, kind), atol=TOL, rtol=0)


@pytest.mark.parametrize("kind", ["dense", "splade", "ce"])
def test_model_and_its_older_name_auto_model(folders, kind):
    ours, theirs = both(folders, kind)
    first = ours[0]
    assert len(ours) == len(theirs) and [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert first.model is first.auto_model and type(first.model) is type(theirs[0].model)
    assert ours.get_submodule("0.model") is first.model is ours.transformers_model
    assert dict(ours[0].named_parameters()).keys() == dict(theirs[0].named_parameters()).keys()


@pytest.mark.parametrize("kind", ["dense", "ce"])
def test_older_auto_model_keys_are_refused_as_in_sentence_transformers(folders, kind):
    """sentence-transformers 6.3 loads no ``0.auto_model.`` key (its names before 6, and sbert's before):
    strictly an error naming them, otherwise the same missing and unexpected keys and unchanged weights."""
    ours, theirs = both(folders, kind)
    older = {k.replace("0.model.", "0.auto_model.", 1): v + 1 for k, v in theirs.state_dict().items()}
    errors = []
    for model in (ours, theirs):
        with pytest.raises(RuntimeError, match=r"Unexpected key\(s\) in state_dict: \"0\.auto_model\.") as e:
            model.load_state_dict(older)
        errors.append(str(e.value).split(":", 1)[1])
    assert errors[0] == errors[1]
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    got, expected = ours.load_state_dict(older, strict=False), theirs.load_state_dict(older, strict=False)
    assert (got.missing_keys, got.unexpected_keys) == (expected.missing_keys, expected.unexpected_keys)
    assert all(torch.equal(v, before[k]) for k, v in ours.state_dict().items())


def test_learning_rate_mapping_reads_the_names_of_sentence_transformers(folders, tmp_path):
    """A pattern of sentence-transformers 6's names (``model.0.model.``) or of its older ones (``auto_model``)
    sets those parameters' rate; the optimizer's groups see the real names."""
    from datasets import Dataset

    from sbert import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sbert.losses import MultipleNegativesRankingLoss

    model = sbert.SentenceTransformer(str(folders / "dense"), backend="torch")
    mapping = {r"^model\.0\.model\.embeddings": 1e-3, r"0\.auto_model\.encoder\.layer\.1\.": 5e-4}
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path), learning_rate_mapping=mapping, report_to=[]
    )
    data = Dataset.from_dict({"anchor": TEXTS, "positive": TEXTS[::-1]})
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, loss=MultipleNegativesRankingLoss(model)
    )
    optimizer = trainer._optimizer()  # (sbert has no create_optimizer: the rates are what is checked here)
    rate_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    names = dict(model.named_parameters())
    assert rate_of[id(names["0.model.embeddings.word_embeddings.weight"])] == 1e-3
    assert rate_of[id(names["0.model.encoder.layer.1.output.dense.weight"])] == 5e-4
    assert rate_of[id(names["0.model.encoder.layer.0.output.dense.weight"])] == args.learning_rate
