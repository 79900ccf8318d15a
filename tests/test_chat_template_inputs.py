"""Chat input on a text embedding model, compared with sentence-transformers 6.3: a tokenizer with a chat
template makes the Transformer take the "message" modality, so texts, pairs and conversations are rendered
through the template (a prompt as a system message, ``task`` to a template that reads it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import BLOCK_TORCH, build_tiny_bert

from sbert import SentenceTransformer
from sbert._errors import InputError

TOL = 1e-5
# In-vocabulary words around the content, so the template's tail is told apart from it when restored.
TEMPLATE = (
    "{% for m in messages %}{% if m.role == 'system' %}the {{ m.content }} . "
    "{% elif m.role == 'query' %}a {{ m.content }} . {% elif m.role == 'document' %}an {{ m.content }} . "
    "{% else %}you {{ m.content }} . {% endif %}{% endfor %}"
    "{% if task == 'query' %}happy dog{% elif task == 'document' %}sad cat{% endif %}"
    "{% if add_generation_prompt %} red car{% endif %}"
)
TEXTS = ["the cat sat on the mat", "a man plays guitar", "she is happy today and the weather is lovely"]
CONVERSATION = [{"role": "user", "content": "the cat sat"}, {"role": "assistant", "content": "on the mat"}]


@pytest.fixture(scope="module")
def chat_folder(tmp_path_factory):
    folder = build_tiny_bert(tmp_path_factory.mktemp("chat") / "bert")
    (folder / "chat_template.jinja").write_text(TEMPLATE)
    return folder


@pytest.fixture(scope="module")
def reference(chat_folder):
    from sentence_transformers import SentenceTransformer as Reference

    return Reference(str(chat_folder), device="cpu")


@pytest.mark.parametrize("backend", [None, "torch"])
def test_texts_pairs_prompts_and_tasks_are_rendered_as_sentence_transformers(chat_folder, reference, backend):
    model = SentenceTransformer(str(chat_folder), **({"backend": backend} if backend else {}))
    for inputs, options in [
        (TEXTS, {}),
        ([("the cat", "a dog sat on the mat"), ("red car", "blue car")], {}),
        (TEXTS, {"prompt": "good music"}),
    ]:
        np.testing.assert_allclose(
            model.encode(inputs, **options), reference.encode(inputs, **options), atol=TOL
        )
    for method in ("encode_query", "encode_document"):  # the template reads task: its tail differs
        expected = getattr(reference, method)(TEXTS)
        np.testing.assert_allclose(getattr(model, method)(TEXTS), expected, atol=TOL)
    assert not np.allclose(model.encode_query(TEXTS), model.encode_document(TEXTS), atol=TOL)
    if backend == "torch":  # the features sentence-transformers 6.3's preprocess makes
        ours, expected = model.preprocess(TEXTS, task="query"), reference.preprocess(TEXTS, task="query")
        np.testing.assert_array_equal(ours["input_ids"], expected["input_ids"])
        assert ours["modality"] == expected["modality"] == "message"


@pytest.mark.parametrize("backend", [None, "torch"])
def test_conversations_are_embedded_as_sentence_transformers(chat_folder, reference, backend):
    model = SentenceTransformer(str(chat_folder), **({"backend": backend} if backend else {}))
    for inputs in ([CONVERSATION, CONVERSATION[:1]], CONVERSATION, CONVERSATION[0]):
        ours, expected = model.encode(inputs), reference.encode(inputs)
        assert ours.shape == expected.shape  # one message or one conversation is one input
        np.testing.assert_allclose(ours, expected, atol=TOL)
    with pytest.raises(InputError, match="separate calls"):
        model.encode([CONVERSATION, "the cat"])


def test_chat_template_processing_kwargs_per_call_and_on_the_module(chat_folder, reference):
    from sentence_transformers.base.modules import Transformer as ReferenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling as ReferencePooling

    from sbert.models import Pooling, Transformer

    per_call = {"chat_template": {"add_generation_prompt": True}}
    model = SentenceTransformer(str(chat_folder), backend="torch")
    expected = reference.encode(TEXTS, processing_kwargs=per_call)
    np.testing.assert_allclose(model.encode(TEXTS, processing_kwargs=per_call), expected, atol=TOL)
    assert not np.allclose(model.encode(TEXTS), expected, atol=TOL)
    ours = Transformer(str(chat_folder), processing_kwargs=per_call)
    theirs = ReferenceTransformer(str(chat_folder), processing_kwargs=per_call)
    assert ours.modality_config == theirs.modality_config
    for inputs in (TEXTS, [CONVERSATION]):
        np.testing.assert_array_equal(
            ours.preprocess(inputs)["input_ids"], theirs.preprocess(inputs)["input_ids"]
        )
    built = SentenceTransformer(modules=[ours, Pooling(32, "mean")])
    from sentence_transformers import SentenceTransformer as Reference

    reference_built = Reference(modules=[theirs, ReferencePooling(32, "mean")], device="cpu")
    np.testing.assert_allclose(built.encode(TEXTS), reference_built.encode(TEXTS), atol=TOL)


@pytest.mark.parametrize("restore", [True, False])
def test_truncated_rows_get_the_template_tail_back_as_sentence_transformers(chat_folder, reference, restore):
    per_call = {"chat_template": {"restore_suffix": restore}}
    model = SentenceTransformer(str(chat_folder), backend="torch")
    model.max_seq_length = reference.max_seq_length = 6
    try:
        ours = model[0].preprocess(TEXTS, task="query", processing_kwargs=per_call)["input_ids"]
        expected = reference.preprocess(TEXTS, task="query", processing_kwargs=per_call)["input_ids"]
        np.testing.assert_array_equal(ours, expected)
        tail = model.tokenizer.convert_tokens_to_ids(["happy", "dog"])
        assert (ours[:, -2:].tolist() == [tail] * len(TEXTS)) is restore
        for onnx in (False, True):
            chosen = SentenceTransformer(str(chat_folder)) if onnx else model
            chosen.max_seq_length = 6
            np.testing.assert_allclose(
                chosen.encode_query(TEXTS, processing_kwargs=per_call),
                reference.encode_query(TEXTS, processing_kwargs=per_call),
                atol=TOL,
            )
    finally:
        reference.max_seq_length = 64


def test_message_modality_folders_load_both_ways(chat_folder, reference, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference

    reference.save(str(tmp_path / "st"))
    for backend in (None, "torch"):
        from_st = SentenceTransformer(str(tmp_path / "st"), **({"backend": backend} if backend else {}))
        np.testing.assert_allclose(from_st.encode_query(TEXTS), reference.encode_query(TEXTS), atol=TOL)
        np.testing.assert_allclose(from_st.encode([CONVERSATION]), reference.encode([CONVERSATION]), atol=TOL)
    SentenceTransformer(str(chat_folder), backend="torch").save(str(tmp_path / "ours"))
    saved, expected = (
        json.loads((tmp_path / d / "sentence_bert_config.json").read_text())["modality_config"]
        for d in ("ours", "st")
    )
    assert saved == expected  # the message modality and its format, as sentence-transformers writes them
    assert (tmp_path / "ours" / "chat_template.jinja").read_text() == TEMPLATE
    loaded = Reference(str(tmp_path / "ours"), device="cpu")
    np.testing.assert_allclose(loaded.encode_query(TEXTS), reference.encode_query(TEXTS), atol=TOL)


def test_pairs_need_a_template_that_renders_both_roles(chat_folder, tmp_path):
    folder = shutil.copytree(chat_folder, tmp_path / "user-only")
    (folder / "chat_template.jinja").write_text(
        "{% for m in messages %}{% if m.role == 'user' %}{{ m.content }} . {% endif %}{% endfor %}"
    )
    from sentence_transformers import SentenceTransformer as Reference

    model, reference = SentenceTransformer(str(folder)), Reference(str(folder), device="cpu")
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=TOL)  # texts render
    with pytest.raises(ValueError, match="cannot carry a 'query'/'document' pair"):
        reference.encode([("the cat", "a dog")])
    with pytest.raises(InputError, match="cannot carry a 'query'/'document' pair"):
        model.encode([("the cat", "a dog")])


def _same_tensors(ours, theirs):
    """Two outputs of encode's other output values (a tensor, a list of them, a dict or a list of dicts)."""
    from collections.abc import Mapping

    import torch

    if isinstance(theirs, (torch.Tensor, Mapping)):  # (a tokenizer's BatchEncoding is a Mapping)
        ours, theirs = [ours], [theirs]
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        if isinstance(reference, Mapping):
            assert mine.keys() == reference.keys()
            _same_tensors([mine[k] for k in reference], [reference[k] for k in reference])
        elif isinstance(reference, torch.Tensor):
            assert isinstance(mine, torch.Tensor) and mine.shape == reference.shape
            torch.testing.assert_close(mine.float(), reference.float(), atol=TOL, rtol=0)
        else:
            assert mine == reference


@pytest.mark.parametrize("backend", [None, "torch"])
def test_token_embeddings_all_features_and_output_options_as_sentence_transformers(chat_folder, backend):
    from sentence_transformers import SentenceTransformer as Reference

    prompts = {"query": "good music", "document": "red car"}
    reference = Reference(str(chat_folder), device="cpu", prompts=prompts)
    model = SentenceTransformer(
        str(chat_folder), prompts=prompts, **({"backend": backend} if backend else {})
    )
    assert model.get_max_seq_length() == reference.get_max_seq_length()
    # the sentence embeddings' options first: the other output values run the torch modules from then on
    for options in ({"truncate_dim": 8}, {"precision": "ubinary"}, {"normalize_embeddings": True}):
        ours, expected = model.encode(TEXTS, **options), reference.encode(TEXTS, **options)
        assert ours.dtype == expected.dtype and ours.shape == expected.shape
        np.testing.assert_allclose(ours.astype(float), expected.astype(float), atol=TOL)
    for method, name in (("encode_query", "document"), ("encode_document", "query"), ("encode_query", None)):
        options = {"prompt_name": name} if name else {}
        expected = getattr(reference, method)(TEXTS, **options)
        np.testing.assert_allclose(getattr(model, method)(TEXTS, **options), expected, atol=TOL)
    embeddings, theirs = model.encode(TEXTS), reference.encode(TEXTS)
    _same_tensors(model.similarity(embeddings, embeddings[:2]), reference.similarity(theirs, theirs[:2]))
    _same_tensors(model.preprocess(TEXTS, task="query"), reference.preprocess(TEXTS, task="query"))
    _same_tensors(model.tokenize([CONVERSATION]), reference.tokenize([CONVERSATION]))  # preprocess's
    for inputs, options in (
        (TEXTS, {"output_value": "token_embeddings", "prompt": "good music"}),
        (CONVERSATION, {"output_value": "token_embeddings"}),
        ([CONVERSATION, CONVERSATION[:1]], {"output_value": None}),
        (TEXTS, {"output_value": None, "task": "query", "truncate_dim": 8}),
        (TEXTS[0], {"output_value": None, "prompt_name": "query"}),
    ):
        _same_tensors(model.encode(inputs, **options), reference.encode(inputs, **options))


class _Reversed:
    """A user's preprocess (mixed into each library's class): the batch's rows in reverse order."""

    def preprocess(self, inputs, prompt=None, **kwargs):
        return super().preprocess(list(reversed(inputs)), prompt=prompt, **kwargs)


def _scale_module(base):
    class Scale(base):  # a module that takes an encode keyword
        forward_kwargs = {"scale"}

        def forward(self, features, scale=1.0, **kwargs):
            features["sentence_embedding"] = features["sentence_embedding"] * scale
            return features

        def save(self, output_path, *args, **kwargs):
            self.save_config(output_path)

    return Scale()


@pytest.mark.parametrize("backend", [None, "torch"])
def test_a_users_preprocess_and_module_keywords_run_as_in_sentence_transformers(chat_folder, backend):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.base.modules import Module as ReferenceModule
    from sentence_transformers.sentence_transformer import modules as reference_modules

    from sbert.base.modules import Module
    from sbert.models import Pooling, Transformer

    theirs = type("Theirs", (_Reversed, Reference), {})(str(chat_folder), device="cpu")
    ours = type("Ours", (_Reversed, SentenceTransformer), {})(
        str(chat_folder), **({"backend": backend} if backend else {})
    )
    generation = {"processing_kwargs": {"chat_template": {"add_generation_prompt": True}}}
    for options in ({}, {"task": "query"}, generation):  # rows swapped inside each batch of 32
        np.testing.assert_allclose(ours.encode(TEXTS, **options), theirs.encode(TEXTS, **options), atol=TOL)
    _same_tensors(
        ours.encode(TEXTS, output_value="token_embeddings"),
        theirs.encode(TEXTS, output_value="token_embeddings"),
    )
    ours = SentenceTransformer(modules=[Transformer(str(chat_folder)), Pooling(32), _scale_module(Module)])
    theirs = Reference(
        modules=[
            reference_modules.Transformer(str(chat_folder)),
            reference_modules.Pooling(32),
            _scale_module(ReferenceModule),
        ],
        device="cpu",
    )
    assert ours.get_model_kwargs() == theirs.get_model_kwargs() == ["scale"]
    for inputs in (TEXTS, [CONVERSATION]):
        expected = theirs.encode_query(inputs, scale=3.0)
        np.testing.assert_allclose(ours.encode_query(inputs, scale=3.0), expected, atol=TOL)
        _same_tensors(
            ours.encode(inputs, scale=3.0, output_value=None),
            theirs.encode(inputs, scale=3.0, output_value=None),
        )


def test_the_multi_process_pool_renders_as_sentence_transformers(chat_folder, reference):
    model = SentenceTransformer(str(chat_folder))
    pool = model.start_multi_process_pool(["cpu"])
    try:
        for inputs, options in (
            (
                TEXTS,
                {"task": "query", "processing_kwargs": {"chat_template": {"add_generation_prompt": True}}},
            ),
            ([CONVERSATION, CONVERSATION[:1], CONVERSATION], {"prompt": "good music"}),
            (CONVERSATION, {}),
        ):
            expected = reference.encode(inputs, **options)
            got = model.encode(inputs, pool=pool, chunk_size=2, **options)
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, atol=TOL)
    finally:
        model.stop_multi_process_pool(pool)


def test_chunking_is_refused_for_rendered_inputs(chat_folder):
    model = SentenceTransformer(str(chat_folder))
    for call in (
        lambda: model.encode(TEXTS, chunk_tokens=4),
        lambda: model.encode_chunks(TEXTS, chunk_tokens=4),
    ):
        with pytest.raises(InputError, match="renders each input through its template"):
            call()


# Run in a fresh interpreter: whether torch (or the torch encoder) was imported is a fact of the process.
GRAPH_PROBE = """
import json, sys
import sbert
texts, conversation = json.loads(sys.argv[2]), json.loads(sys.argv[3])
model = sbert.SentenceTransformer(sys.argv[1])
out = {"backend": model.backend, "max_seq_length": model.max_seq_length}
out["embeddings"] = [
    model.encode(texts).tolist(),
    model.encode_query(texts).tolist(),
    model.encode_document(texts).tolist(),
    model.encode([conversation], prompt="good music").tolist(),
    model.encode(texts, processing_kwargs={"chat_template": {"add_generation_prompt": False}}).tolist(),
]
out["torch_imported"] = "torch" in sys.modules
features = model.preprocess(texts, task="query")
out["features"] = {k: v.tolist() if hasattr(v, "tolist") else v for k, v in features.items()}
out["encoder_built"] = "transformers.models.bert.modeling_bert" in sys.modules
out["after"] = model.encode_query(texts).tolist()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def saved_settings(chat_folder, tmp_path_factory):
    """A folder sentence-transformers 6.3 saved with chat settings of its own (processing_kwargs that add
    the generation prompt, a 10-token limit, a query prompt), its reference model, and what a fresh
    process of sbert made of it on the default backend."""
    import subprocess
    import sys

    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.base.modules import Transformer as ReferenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling as ReferencePooling

    transformer = ReferenceTransformer(
        str(chat_folder), processing_kwargs={"chat_template": {"add_generation_prompt": True}}
    )
    transformer.max_seq_length = 10  # the longest text is cut: its template tail is restored
    folder = tmp_path_factory.mktemp("saved-settings") / "model"
    modules = [transformer, ReferencePooling(32, "mean")]
    Reference(modules=modules, device="cpu", prompts={"query": "good music"}).save(str(folder))
    reference = Reference(str(folder), device="cpu")
    arguments = [str(folder), json.dumps(TEXTS), json.dumps(CONVERSATION)]
    run = subprocess.run(
        [sys.executable, "-c", GRAPH_PROBE, *arguments], capture_output=True, text=True, check=True
    )
    return folder, reference, json.loads(run.stdout.splitlines()[-1])


def test_the_default_backend_encodes_chat_input_from_the_saved_settings_without_torch(saved_settings):
    from sentence_transformers import SentenceTransformer as Reference

    folder, reference, probe = saved_settings
    assert probe["backend"] == "onnx" and probe["max_seq_length"] == reference.max_seq_length == 10
    assert not probe["torch_imported"]  # encode, encode_query, encode_document: no torch at all
    expected = [
        reference.encode(TEXTS),
        reference.encode_query(TEXTS),
        reference.encode_document(TEXTS),
        reference.encode([CONVERSATION], prompt="good music"),
        reference.encode(TEXTS, processing_kwargs={"chat_template": {"add_generation_prompt": False}}),
    ]
    for ours, theirs in zip(probe["embeddings"], expected):
        np.testing.assert_allclose(np.array(ours), theirs, atol=TOL)
    # the saved processing_kwargs count: without them the texts render another prompt
    assert not np.allclose(expected[0], expected[4], atol=TOL)
    np.testing.assert_allclose(np.array(probe["after"]), expected[1], atol=TOL)

    # once the torch modules exist, settings changed on the Transformer win over the saved ones
    for model in (SentenceTransformer(str(folder)), SentenceTransformer(str(folder), backend="onnx")):
        changed = Reference(str(folder), device="cpu")
        for chosen in (model, changed):
            chosen[0].processing_kwargs = {}  # the generation prompt off, on the module
            chosen.max_seq_length = 64
        np.testing.assert_allclose(model.encode(TEXTS), changed.encode(TEXTS), atol=TOL)
        expected = changed.preprocess(TEXTS, task="query")["input_ids"]
        np.testing.assert_array_equal(model.preprocess(TEXTS, task="query")["input_ids"], expected)


def test_preprocess_on_the_default_backend_builds_no_torch_encoder(saved_settings):
    _, reference, probe = saved_settings
    assert not probe["encoder_built"]  # the features are rendered from the files, the torch model unbuilt
    expected = reference.preprocess(TEXTS, task="query")
    assert probe["features"].keys() == expected.keys()
    for name, value in expected.items():
        if hasattr(value, "tolist"):
            assert probe["features"][name] == value.tolist()
        else:
            assert probe["features"][name] == value


def test_without_the_torch_extra_a_chat_model_names_the_install_command(saved_settings):
    """The base install (no transformers, whose Jinja renderer draws the template) says what to install."""
    folder = saved_settings[0]
    probe = BLOCK_TORCH + (
        "import sbert\n"
        f"model = sbert.SentenceTransformer({str(folder)!r})\n"
        "try:\n"
        "    model.encode(['a text'])\n"
        "except sbert.BackendUnavailableError as e:\n"
        "    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "refused:" in out and "chat template" in out and "pip install 'sbert[torch]'" in out


@pytest.mark.parametrize("backend", [None, "torch"])
def test_a_chat_template_set_on_the_tokenizer_is_used_and_saved_as_in_sentence_transformers(
    chat_folder, tmp_path, backend
):
    from sentence_transformers import SentenceTransformer as Reference

    other = "{% for m in messages %}the {{ m.content }} . {% endfor %}{% if task %}{{ task }}{% endif %}"
    model = SentenceTransformer(str(chat_folder), **({"backend": backend} if backend else {}))
    reference = Reference(str(chat_folder), device="cpu")
    before = model.encode_query(TEXTS)
    for chosen in (model, reference):  # a script sets the template as transformers names it
        chosen.tokenizer.chat_template = other
    assert model.tokenizer.chat_template == other
    np.testing.assert_allclose(model.encode_query(TEXTS), reference.encode_query(TEXTS), atol=TOL)
    assert not np.allclose(model.encode_query(TEXTS), before, atol=TOL)  # the new template renders
    model.save(str(tmp_path / "saved"))
    assert (tmp_path / "saved" / "chat_template.jinja").read_text() == other
    np.testing.assert_allclose(
        Reference(str(tmp_path / "saved"), device="cpu").encode_query(TEXTS),
        reference.encode_query(TEXTS),
        atol=TOL,
    )
