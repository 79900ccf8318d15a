"""CrossEncoder(modules=[...]): a cross-encoder built from modules, as in sentence-transformers 6.3 (a
StaticEmbedding with a Dense writing "scores", or a sequence-classification Transformer), compared with
sentence-transformers' scores, saved folders and loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import assert_same_features, build_tiny_classifier
from sentence_transformers import CrossEncoder as STCrossEncoder
from sentence_transformers.base.modules import Dense as STDense
from sentence_transformers.base.modules import Transformer as STTransformer
from sentence_transformers.sentence_transformer.modules import StaticEmbedding as STStaticEmbedding
from tokenizers import Tokenizer

from sbert import InputError
from sbert.cross_encoder import CrossEncoder
from sbert.cross_encoder.modules import Dense, Transformer
from sbert.models import StaticEmbedding

PAIRS = [
    ("a man is eating food", "a man eats a piece of bread"),
    ("the cat", "a dog is running in the park with a ball"),
    ("a woman is playing guitar", "the woman plays"),
]
QUERY, DOCUMENTS = "a man is eating", ["the cat is on the car", "a man eats food", "a woman runs"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("ce-modules") / "clf", num_labels=1)


def static_stacks(classifier, labels: int) -> tuple[CrossEncoder, STCrossEncoder]:
    """The same StaticEmbedding + Dense("scores") weights as an sbert and a sentence-transformers model."""
    tokenizer = Tokenizer.from_file(str(classifier / "tokenizer.json"))
    torch.manual_seed(labels)
    static, dense = (
        STStaticEmbedding(tokenizer, embedding_dim=16),
        STDense(16, labels, module_output_name="scores"),
    )
    reference = STCrossEncoder(modules=[static, dense])
    ours = CrossEncoder(
        modules=[
            StaticEmbedding(tokenizer, embedding_weights=static.embedding.weight.detach().numpy()),
            Dense(
                16,
                labels,
                module_output_name="scores",
                init_weight=dense.linear.weight.detach(),
                init_bias=dense.linear.bias.detach(),
            ),
        ]
    )
    return ours, reference


def assert_same_scores(ours, reference) -> None:
    np.testing.assert_allclose(ours.predict(PAIRS), reference.predict(PAIRS), atol=1e-5)
    if ours.num_labels == 1:
        ranked, expected = ours.rank(QUERY, DOCUMENTS), reference.rank(QUERY, DOCUMENTS)
        assert [r["corpus_id"] for r in ranked] == [r["corpus_id"] for r in expected]
        np.testing.assert_allclose([r["score"] for r in ranked], [r["score"] for r in expected], atol=1e-5)


@pytest.mark.parametrize("labels", [1, 3])
def test_static_dense_stack_scores_as_sentence_transformers(classifier, labels):
    ours, reference = static_stacks(classifier, labels)
    assert ours.num_labels == reference.num_labels == labels
    assert type(ours.activation_fn) is type(reference.activation_fn)  # Sigmoid for one label, else Identity
    assert ours.config is None and ours.model is None  # no transformers model in the stack
    assert len(ours) == 2 and isinstance(ours[1], Dense)
    assert_same_scores(ours, reference)
    np.testing.assert_allclose(ours.predict("a man"), reference.predict("a man"), atol=1e-5)  # one text


def test_transformer_stack_scores_as_sentence_transformers(classifier):
    ours = CrossEncoder(modules=[Transformer(classifier, transformer_task="sequence-classification")])
    reference = STCrossEncoder(
        modules=[STTransformer(str(classifier), transformer_task="sequence-classification")]
    )
    assert ours.num_labels == 1 and ours.config.num_labels == 1
    assert ours.model is ours[0].model  # the transformers model, as there
    assert_same_scores(ours, reference)


def test_static_stack_folders_load_both_ways(classifier, tmp_path):
    ours, reference = static_stacks(classifier, 1)
    ours.save(tmp_path / "sbert")
    entries = json.loads((tmp_path / "sbert" / "modules.json").read_text())
    assert [e["type"].rsplit(".", 1)[-1] for e in entries] == ["StaticEmbedding", "Dense"]
    assert (tmp_path / "sbert" / "1_Dense" / "config.json").is_file()
    settings = json.loads((tmp_path / "sbert" / "config_sentence_transformers.json").read_text())
    assert settings["model_type"] == "CrossEncoder"
    assert settings["activation_fn"] == "torch.nn.modules.activation.Sigmoid"
    assert_same_scores(ours, STCrossEncoder(str(tmp_path / "sbert")))
    reference.save(str(tmp_path / "st"))
    loaded = CrossEncoder(tmp_path / "st")
    assert loaded.num_labels == 1 and loaded.model is None
    assert_same_scores(loaded, reference)
    assert_same_scores(CrossEncoder(tmp_path / "sbert"), reference)


def test_transformer_stack_folders_load_both_ways(classifier, tmp_path):
    ours = CrossEncoder(modules=[Transformer(classifier, transformer_task="sequence-classification")])
    reference = STCrossEncoder(
        modules=[STTransformer(str(classifier), transformer_task="sequence-classification")]
    )
    ours.save(tmp_path / "sbert")
    reference.save(str(tmp_path / "st"))
    assert_same_scores(STCrossEncoder(str(tmp_path / "sbert")), reference)
    assert_same_scores(CrossEncoder(tmp_path / "st"), reference)


def test_module_stack_runs_on_torch_only(classifier, tmp_path):
    ours, reference = static_stacks(classifier, 1)
    assert ours.backend == "torch"
    with pytest.raises(InputError, match="backend='torch'"):
        CrossEncoder(modules=list(ours), backend="onnx")
    reference.save(str(tmp_path / "st"))
    with pytest.raises(InputError, match="backend='torch'"):
        CrossEncoder(tmp_path / "st", backend="onnx")
    with pytest.raises(InputError, match="empty modules list"):
        CrossEncoder(modules=[])


@pytest.mark.parametrize("labels", [1, 3])
def test_folder_transformer_module_preprocesses_as_sentence_transformers(classifier, labels, tmp_path):
    """A loaded cross-encoder's ``model[0]`` (its Transformer) tokenizes, preprocesses and runs features, as
    sentence-transformers' does: a BatchEncoding with ``"modality"``, ``{}`` for no inputs."""
    folder = classifier if labels == 1 else build_tiny_classifier(tmp_path / "clf3", num_labels=labels)
    ours, reference = CrossEncoder(folder), STCrossEncoder(str(folder), device="cpu")
    module, expected = ours[0], reference[0]
    for call in (
        lambda m: m.tokenize(PAIRS),
        lambda m: m.preprocess(PAIRS),
        lambda m: m.preprocess(PAIRS, prompt="Judge: "),
        lambda m: m.preprocess([]),
        lambda m: m.tokenize([]),
    ):
        assert_same_features(call(module), call(expected))
    scores = module(module.preprocess(PAIRS))["scores"]
    torch.testing.assert_close(scores, expected(expected.preprocess(PAIRS))["scores"])
    assert module.get_config_dict() == expected.get_config_dict()
    assert module.modality_config == expected.modality_config
    assert module.max_seq_length == expected.max_seq_length
    module.max_seq_length = 5  # the model's limit, as there
    assert ours.max_seq_length == 5 and module.tokenize(PAIRS)["input_ids"].shape[1] == 5


def test_single_texts_preprocess_as_sentence_transformers(classifier):
    """Texts alone, plain or as ``{"text": ...}``, are preprocessed one text a row (``[CLS] text [SEP]``), as
    sentence-transformers' Transformer reads them, by the model and by its module 0."""
    ours, reference = CrossEncoder(classifier), STCrossEncoder(str(classifier), device="cpu")
    texts = ["a man is eating food", "the cat"]
    for inputs in (texts, [{"text": text} for text in texts], [PAIRS[0], texts[1]]):  # mixed: each as it is
        for model, expected in ((ours, reference), (ours[0], reference[0])):
            assert_same_features(model.preprocess(inputs), expected.preprocess(inputs))
            assert_same_features(
                model.preprocess(inputs, prompt="Q: "), expected.preprocess(inputs, prompt="Q: ")
            )


def test_transformer_module_members_as_sentence_transformers(classifier, tmp_path):
    """``model[0]``'s other sentence-transformers Transformer members: ``processor`` (its tokenizer),
    ``do_lower_case``, ``config_keys``, ``get_embedding_dimension``, ``backend`` and ``save``, whose folder
    both libraries load with the same scores."""
    ours, reference = CrossEncoder(classifier), STCrossEncoder(str(classifier), device="cpu")
    module, expected = ours[0], reference[0]
    assert module.processor is module.tokenizer is ours.tokenizer
    assert expected.processor is expected.tokenizer
    for name in ("do_lower_case", "config_keys", "backend"):
        assert getattr(module, name) == getattr(expected, name), name
    assert module.get_embedding_dimension() == expected.get_embedding_dimension()
    with pytest.warns(FutureWarning, match="renamed"):
        assert module.get_sentence_embedding_dimension() == expected.get_embedding_dimension()
    module.save(str(tmp_path / "sbert"))
    expected.save(str(tmp_path / "st"))
    config_file = "sentence_bert_config.json"
    saved, wanted = (json.loads((tmp_path / d / config_file).read_text()) for d in ("sbert", "st"))
    assert saved == wanted
    assert (tmp_path / "sbert" / "model.safetensors").is_file() and (
        tmp_path / "sbert" / "tokenizer.json"
    ).is_file()
    assert_same_scores(STCrossEncoder(str(tmp_path / "sbert"), device="cpu"), reference)
    assert_same_scores(CrossEncoder(tmp_path / "sbert"), reference)


CHAT_TEMPLATE = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}Relevant?"


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_classifier_with_chat_template_renders_as_sentence_transformers(classifier, tmp_path, backend):
    """A sequence-classification cross-encoder whose tokenizer has a chat template (Qwen3-Reranker-seq-cls
    style) reads its pairs, texts and prompts as chat messages, as sentence-transformers 6.3 infers it: the
    "message" modality, pairs as "query"/"document" messages, a prompt as a system message."""
    import shutil

    folder = shutil.copytree(classifier, tmp_path / "chat")
    (folder / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    ours, reference = CrossEncoder(folder, backend=backend), STCrossEncoder(str(folder), device="cpu")
    assert ours.modalities == reference.modalities == ["text", "message"]
    assert_same_scores(ours, reference)
    for prompt in ("Judge: ", None):
        expected = reference.predict(PAIRS, prompt=prompt)
        np.testing.assert_allclose(ours.predict(PAIRS, prompt=prompt), expected, atol=1e-5)
    assert ours.predict("a man") == pytest.approx(reference.predict("a man"), abs=1e-5)
    conversations = [  # as given to the chat template, one alone a single score
        [{"role": "query", "content": query}, {"role": "document", "content": document}]
        for query, document in PAIRS
    ] + [[{"role": "system", "content": "Judge"}, {"role": "user", "content": "a woman plays"}]]
    for prompt in ("Judge: ", None):
        expected = reference.predict(conversations, prompt=prompt)
        np.testing.assert_allclose(ours.predict(conversations, prompt=prompt), expected, atol=1e-5)
    assert ours.predict(conversations[0]) == pytest.approx(reference.predict(conversations[0]), abs=1e-5)
    texts = [query for query, _ in PAIRS]
    for inputs in (PAIRS, texts, conversations):
        assert_same_features(ours.preprocess(inputs), reference.preprocess(inputs))
        assert_same_features(
            ours.preprocess(inputs, prompt="Q: "), reference.preprocess(inputs, prompt="Q: ")
        )
    ours.save(tmp_path / "sbert")
    reference.save(str(tmp_path / "st"))
    saved, expected = (
        json.loads((tmp_path / d / "sentence_bert_config.json").read_text()) for d in ("sbert", "st")
    )
    assert saved == expected
