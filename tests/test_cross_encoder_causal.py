"""A causal language model as a CrossEncoder reranker, as sentence-transformers 6.3 runs one (Qwen3-Reranker
style): ``Transformer(transformer_task="text-generation")`` then ``LogitScore`` (logit of "yes" less "no" at
the last, left-padded position), its folders written and read as there."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import assert_same_features

from sbert import CrossEncoder
from sbert._errors import InputError

TOL = 1e-5
CORPUS = [
    "yes",
    "no",
    "yes no",
    "How many people live in Berlin?",
    "Berlin had many people.",
    "Paris is a big city.",
    "Is the document relevant to the query? Answer yes or no.",
]
PAIRS = [
    ("How many people live in Berlin?", "Berlin had many people, more than Paris."),
    ("query", "document"),
    ("Paris", "Is the document relevant? yes or no"),
    ("Is Paris a big city?", "Paris is a big city."),
    ("yes", "no"),
]


def build_tiny_causal_lm(folder, *, seed: int = 0):
    """A 2-layer random Qwen2 causal LM with a byte-level BPE tokenizer holding "yes" and "no"."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=alphabet, show_progress=False
    )
    tok.train_from_iterator(CORPUS * 3, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<|endoftext|>", eos_token="<|endoftext|>", model_max_length=64
    )
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=0,
        tie_word_embeddings=False,
    )
    Qwen2ForCausalLM(config).eval().save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def causal_lm(tmp_path_factory):
    return build_tiny_causal_lm(tmp_path_factory.mktemp("causal") / "lm")


@pytest.fixture(scope="module")
def st_causal(causal_lm):
    from sentence_transformers import CrossEncoder as Reference

    return Reference(str(causal_lm), device="cpu")


def assert_scores_match(ours, reference, **options):
    """predict with and without activation, and rank, equal sentence-transformers'."""
    for kwargs in ({}, {"activation_fn": torch.nn.Identity()}, {"batch_size": 2}):
        expected = reference.predict(PAIRS, **kwargs, **options)
        np.testing.assert_allclose(ours.predict(PAIRS, **kwargs, **options), expected, atol=TOL)
    documents = [document for _, document in PAIRS]
    expected_rank = reference.rank("Is Paris big?", documents, **options)
    ranked = ours.rank("Is Paris big?", documents, **options)
    assert [r["corpus_id"] for r in ranked] == [r["corpus_id"] for r in expected_rank]
    np.testing.assert_allclose([r["score"] for r in ranked], [r["score"] for r in expected_rank], atol=TOL)


def test_causal_lm_folder_scores_as_sentence_transformers(causal_lm, st_causal):
    model = CrossEncoder(str(causal_lm))
    assert model.num_labels == st_causal.num_labels == 1
    assert type(model.activation_fn) is type(st_causal.activation_fn) is torch.nn.Sigmoid
    assert model.backend == "torch" and len(model) == 2
    assert model[0].transformer_task == "text-generation"
    assert model[1].get_config_dict() == st_causal[1].get_config_dict()
    assert model.tokenizer.padding_side == "left"
    assert_scores_match(model, st_causal)
    assert_scores_match(model, st_causal, prompt="Judge: ")


def test_folder_saved_by_sentence_transformers_loads(causal_lm, st_causal, tmp_path):
    st_causal.save(str(tmp_path / "st"))
    model = CrossEncoder(str(tmp_path / "st"))
    assert model[1].get_config_dict() == st_causal[1].get_config_dict()
    assert_scores_match(model, st_causal)


def test_saved_folder_loads_in_sentence_transformers(causal_lm, st_causal, tmp_path):
    from sentence_transformers import CrossEncoder as Reference

    CrossEncoder(str(causal_lm), activation_fn=torch.nn.Identity()).save(str(tmp_path / "ours"))
    st_causal.save(str(tmp_path / "st"))
    for name in ("modules.json", "sentence_bert_config.json", "1_LogitScore/config.json"):
        ours, theirs = (json.loads((tmp_path / d / name).read_text()) for d in ("ours", "st"))
        assert ours == theirs, name
    reference = Reference(str(tmp_path / "ours"), device="cpu")
    assert type(reference.activation_fn) is torch.nn.Identity
    np.testing.assert_allclose(
        reference.predict(PAIRS), st_causal.predict(PAIRS, activation_fn=torch.nn.Identity()), atol=TOL
    )
    reloaded = CrossEncoder(str(tmp_path / "ours"))
    assert type(reloaded.activation_fn) is torch.nn.Identity
    assert_scores_match(reloaded, reference)


def test_causal_reranker_runs_on_torch_only(causal_lm):
    with pytest.raises(InputError, match="torch backend"):
        CrossEncoder(str(causal_lm), backend="onnx")
    model = CrossEncoder(str(causal_lm))  # "auto" takes torch
    assert model.backend == "torch"
    with pytest.raises(InputError, match="torch backend"):
        model.export("unused")


FLAT_TEMPLATE = (
    'Query: {{ messages | selectattr("role", "eq", "query") | map(attribute="content") | first }}\n'
    'Document: {{ messages | selectattr("role", "eq", "document") | map(attribute="content") | first }}\n'
    "Relevant? Answer yes or no:"
)
STRUCTURED_TEMPLATE = (
    "{% for m in messages %}{{ m.role }}: {{ m.content[0].text }}\n{% endfor %}Answer yes or no:"
)
# every message, a prompt's system message included
ROLES_TEMPLATE = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}Answer yes or no:"


@pytest.mark.parametrize("template", [FLAT_TEMPLATE, STRUCTURED_TEMPLATE])
def test_chat_template_renders_pairs_as_sentence_transformers(causal_lm, tmp_path, template):
    import shutil

    from sentence_transformers import CrossEncoder as Reference

    folder = shutil.copytree(causal_lm, tmp_path / "chat")
    (folder / "chat_template.jinja").write_text(template)
    pairs = [*PAIRS, ("Is Berlin big?", "Berlin had many people. " * 8)]  # cut at max_length: tail restored
    for max_length in (None, 30):
        ours, reference = (
            CrossEncoder(str(folder), max_length=max_length),
            Reference(str(folder), device="cpu", max_length=max_length),
        )
        for batch_size in (32, 2):
            expected = reference.predict(pairs, batch_size=batch_size)
            np.testing.assert_allclose(ours.predict(pairs, batch_size=batch_size), expected, atol=TOL)
        np.testing.assert_array_equal(
            ours.tokenize(pairs)["input_ids"], reference.preprocess(pairs)["input_ids"]
        )
    ours.save(str(tmp_path / "saved"))
    reference.save(str(tmp_path / "st"))
    saved, expected = (
        json.loads((tmp_path / d / "sentence_bert_config.json").read_text()) for d in ("saved", "st")
    )
    assert (
        saved == expected
    )  # the chat template's use and message format, as sentence-transformers reads them
    reloaded = Reference(str(tmp_path / "saved"), device="cpu")
    np.testing.assert_allclose(reloaded.predict(pairs), ours.predict(pairs), atol=TOL)
    from_st = CrossEncoder(str(tmp_path / "st"))
    np.testing.assert_allclose(from_st.predict(pairs), reference.predict(pairs), atol=TOL)
    # a prompt is a system message (this template renders none but the pair's), also on rows cut at 30 tokens
    expected = reference.predict(pairs, prompt="Judge: ")
    np.testing.assert_allclose(ours.predict(pairs, prompt="Judge: "), expected, atol=TOL)


def test_chat_template_without_pair_roles_is_refused(causal_lm, tmp_path):
    import shutil

    folder = shutil.copytree(causal_lm, tmp_path / "chat")
    (folder / "chat_template.jinja").write_text(
        "{% for m in messages %}{% if m.role == 'user' %}{{ m.content }}{% endif %}{% endfor %}"
    )
    with pytest.raises(InputError, match="cannot carry a 'query'/'document' pair"):
        CrossEncoder(str(folder))


def test_loss_and_gradients_match_sentence_transformers(causal_lm):
    from sentence_transformers import CrossEncoder as Reference
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss as ReferenceLoss

    from sbert.cross_encoder.losses import BinaryCrossEntropyLoss

    inputs = [["query", "Paris", "yes is"], ["document", "a big city", "no"]]
    labels = torch.tensor([1.0, 0.0, 1.0])
    ours, reference = CrossEncoder(str(causal_lm)), Reference(str(causal_lm), device="cpu")
    loss, expected = BinaryCrossEntropyLoss(ours)(inputs, labels), ReferenceLoss(reference)(inputs, labels)
    assert loss.item() == pytest.approx(expected.item(), abs=TOL)
    loss.backward()
    expected.backward()
    grad, expected_grad = (m.model.model.embed_tokens.weight.grad for m in (ours, reference[0]))
    torch.testing.assert_close(grad, expected_grad, atol=TOL, rtol=0)


@pytest.mark.parametrize("template", [None, FLAT_TEMPLATE, STRUCTURED_TEMPLATE])
def test_preprocess_features_as_sentence_transformers(causal_lm, tmp_path, template):
    """``model.preprocess`` / ``tokenize`` and ``model[0]``'s give sentence-transformers' keys in its order:
    ``"modality"`` ("message" where a chat template renders the pairs) and ``"logits_to_keep": 1``."""
    import shutil

    from sentence_transformers import CrossEncoder as Reference

    folder = shutil.copytree(causal_lm, tmp_path / "lm")
    if template is not None:
        (folder / "chat_template.jinja").write_text(template)
    ours, reference = CrossEncoder(str(folder)), Reference(str(folder), device="cpu")
    calls = [lambda m: m.preprocess(PAIRS), lambda m: m.tokenize(PAIRS), lambda m: m.preprocess([])]
    texts = [query for query, _ in PAIRS]
    calls.append(lambda m: m.preprocess(PAIRS, prompt="Judge: "))  # chat: a system message, no prompt_length
    calls.append(lambda m: m.preprocess(texts))  # texts alone (chat: a user message each), left-padded
    calls.append(lambda m: m.preprocess([texts[0], PAIRS[1]], prompt="Judge: "))  # a text and a pair
    for call in calls:
        for model, expected in ((ours, reference), (ours[0], reference[0])):
            assert_same_features(call(model), call(expected))
    assert ours[0].get_config_dict() == reference[0].get_config_dict()
    assert ours.modalities == ours[0].modalities == reference.modalities  # "message" with a chat template
    assert ours.supports("message") == reference.supports("message")
    logits = ours[0](ours[0].preprocess(PAIRS))["causal_logits"]
    torch.testing.assert_close(logits, reference[0](reference[0].preprocess(PAIRS))["causal_logits"])
    assert ours[0].get_embedding_dimension() == reference[0].get_embedding_dimension()
    ours[0].save(str(tmp_path / "module"))  # the files of sentence-transformers' Transformer.save
    reference[0].save(str(tmp_path / "st_module"))
    names = {"sentence_bert_config.json", "chat_template.jinja", "config.json", "tokenizer_config.json"}
    for name in names & {p.name for p in (tmp_path / "st_module").iterdir()}:
        assert (tmp_path / "module" / name).is_file(), name
    saved, expected = (
        json.loads((tmp_path / d / "sentence_bert_config.json").read_text()) for d in ("module", "st_module")
    )
    assert saved == expected
    reloaded = Reference(str(tmp_path / "module"), device="cpu")
    np.testing.assert_allclose(reloaded.predict(PAIRS), reference.predict(PAIRS), atol=TOL)


@pytest.mark.parametrize("template", [ROLES_TEMPLATE, STRUCTURED_TEMPLATE])
def test_chat_template_takes_prompts_as_a_system_message(causal_lm, tmp_path, template):
    """predict / rank's ``prompt``, ``prompt_name`` and the default prompt go into the chat template's
    conversation as a leading system message, as sentence-transformers 6.3 puts them; one text is a user
    message."""
    import shutil

    from sentence_transformers import CrossEncoder as Reference

    folder = shutil.copytree(causal_lm, tmp_path / "chat")
    (folder / "chat_template.jinja").write_text(template)
    prompts = {"judge": "Judge the pair: ", "rate": "Rate: "}
    ours = CrossEncoder(str(folder), prompts=prompts, default_prompt_name="judge")
    reference = Reference(str(folder), device="cpu", prompts=prompts, default_prompt_name="judge")
    assert_scores_match(ours, reference)  # the default prompt
    assert_scores_match(ours, reference, prompt_name="rate")
    assert_scores_match(ours, reference, prompt="Is it relevant? ")
    for text in ("Paris is a big city.", "yes"):  # one text alone
        assert ours.predict(text) == pytest.approx(reference.predict(text), abs=TOL)
        assert ours.predict(text, prompt="") == pytest.approx(reference.predict(text, prompt=""), abs=TOL)
    plain = CrossEncoder(str(folder))  # no prompt: none rendered
    np.testing.assert_allclose(plain.predict(PAIRS), reference.predict(PAIRS, prompt=""), atol=TOL)


CONVERSATIONS = [
    [{"role": "query", "content": "Is Paris big?"}, {"role": "document", "content": "Paris is a big city."}],
    [{"role": "system", "content": "Judge"}, {"role": "user", "content": "How many people live in Berlin?"}],
    [{"role": "user", "content": "yes"}, {"role": "assistant", "content": "no"}],
    [{"role": "query", "content": [{"type": "text", "text": "Paris"}]}, {"role": "document", "content": "x"}],
]


def test_chat_template_scores_conversations_as_sentence_transformers(causal_lm, tmp_path):
    """Conversations (lists of role/content messages) go through the chat template as given, as
    sentence-transformers 6.3's "message" input: a list of them scored, one alone a single score, one
    message a one-message conversation, ``prompt`` a leading system message; ``preprocess`` makes the same
    features. A batch mixing them with pairs or texts is refused (sentence-transformers renders each
    conversation there as the text of a user message, by batch)."""
    import shutil

    from sentence_transformers import CrossEncoder as Reference

    folder = shutil.copytree(causal_lm, tmp_path / "chat")
    (folder / "chat_template.jinja").write_text(ROLES_TEMPLATE)
    ours, reference = CrossEncoder(str(folder)), Reference(str(folder), device="cpu")
    for options in ({}, {"batch_size": 2}, {"prompt": "Judge: "}, {"activation_fn": torch.nn.Identity()}):
        expected = reference.predict(CONVERSATIONS, **options)
        np.testing.assert_allclose(ours.predict(CONVERSATIONS, **options), expected, atol=TOL)
        single = ours.predict(CONVERSATIONS[0], **options)
        assert np.shape(single) == () and single == pytest.approx(
            reference.predict(CONVERSATIONS[0], **options), abs=TOL
        )
    message = {"role": "user", "content": "Paris is a big city."}
    assert ours.predict(message) == pytest.approx(reference.predict(message), abs=TOL)
    assert ours.predict([message]) == pytest.approx(reference.predict([message]), abs=TOL)
    for call in (
        lambda m: m.preprocess(CONVERSATIONS),
        lambda m: m.preprocess(CONVERSATIONS, prompt="Judge: "),
        lambda m: m.preprocess(CONVERSATIONS[0]),  # each message a conversation, as there
    ):
        assert_same_features(call(ours), call(reference))
        assert_same_features(call(ours[0]), call(reference[0]))
    assert_same_features(ours.tokenize(CONVERSATIONS), reference.tokenize(CONVERSATIONS))  # its older name
    for mixed in ([CONVERSATIONS[0], PAIRS[0]], [PAIRS[0], CONVERSATIONS[1]], [CONVERSATIONS[0], "a text"]):
        with pytest.raises(InputError, match="separate calls"):
            ours.predict(mixed)
        with pytest.raises(InputError, match="separate calls"):
            ours.preprocess(mixed)
    for refused in ([tuple(CONVERSATIONS[0])], [[]]):  # refused there too (a ValueError)
        with pytest.raises(ValueError):
            reference.predict(refused)
        with pytest.raises(InputError):
            ours.predict(refused)


def test_conversations_without_a_chat_template_are_refused(causal_lm, st_causal):
    """A model without a chat template takes no conversations: a ValueError, as sentence-transformers'."""
    model = CrossEncoder(str(causal_lm))
    for inputs in (CONVERSATIONS, CONVERSATIONS[0], [CONVERSATIONS[0], PAIRS[0]]):
        with pytest.raises(ValueError):
            st_causal.predict(inputs)
        with pytest.raises(InputError):
            model.predict(inputs)
        with pytest.raises(ValueError):
            st_causal.preprocess(inputs)
        with pytest.raises(InputError):
            model.preprocess(inputs)
