"""The model card's data and its saved text against sentence-transformers 6.3, for every model class: what
``save(path, model_name=...)`` leaves in ``model.model_card_data``, the card data's default tags,
``pipeline_tag`` and ``library_name`` and the front matter they become, the loaded README.md that an
untrained model's save writes again, and the training-log row that ``trainer.evaluate()`` after ``train()``
adds."""

from __future__ import annotations

import importlib
import shutil
import warnings

import pytest
import yaml
from conftest import (
    build_tiny_bert,
    build_tiny_classifier,
    build_tiny_masked_lm,
    classic_pooling,
    without_dropout,
    write_st_folder,
)

LIBRARIES = {"st": "sentence_transformers", "sbert": "sbert"}
KINDS = {  # kind -> (namespace, model class)
    "dense": ("sentence_transformer", "SentenceTransformer"),
    "cross": ("cross_encoder", "CrossEncoder"),
    "classifier": ("cross_encoder", "CrossEncoder"),
    "sparse": ("sparse_encoder", "SparseEncoder"),
    "multi_vector": ("multi_vector_encoder", "MultiVectorEncoder"),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict:
    """Folders without a README.md (so both libraries write their own card)."""
    root = tmp_path_factory.mktemp("card-more")
    bert = without_dropout(build_tiny_bert(root / "bert"))  # the two trainers then agree step by step
    return {
        "dense": write_st_folder(bert, root / "st", classic_pooling(32, "mean")),
        "cross": build_tiny_classifier(root / "ce"),
        "classifier": build_tiny_classifier(root / "ce2", num_labels=2),
        "sparse": build_tiny_masked_lm(root / "mlm"),
        "multi_vector": bert,
    }


def _model(library: str, kind: str, folder):
    space, model_class = KINDS[kind]
    namespace = importlib.import_module(f"{LIBRARIES[library]}.{space}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(namespace, model_class)(str(folder), device="cpu")


def _front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n", 2)[1])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_save_with_a_model_name_sets_the_model_id_as_sentence_transformers(folders, kind, tmp_path):
    for name in ("someone/my-model", str(folders[kind])):  # a name on the hub; an existing folder: unset
        ids = []
        for library in LIBRARIES:
            model = _model(library, kind, folders[kind])
            model.save(str(tmp_path / library / kind), model_name=name)
            ids.append(model.model_card_data.model_id)
        assert ids[1] == ids[0], name
    assert ids[0] is None


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_card_data_defaults_equal_sentence_transformers(folders, kind):
    theirs, ours = (_model(library, kind, folders[kind]).model_card_data for library in LIBRARIES)
    assert list(ours.tags) == list(theirs.tags)
    assert ours.pipeline_tag == theirs.pipeline_tag
    assert ours.library_name == theirs.library_name


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_front_matter_tags_pipeline_and_library_equal_sentence_transformers(folders, kind, tmp_path):
    matters = []
    for library in LIBRARIES:
        model = _model(library, kind, folders[kind])
        model.model_card_data.language = ["en"]
        model.model_card_data.license = "mit"
        model.save(str(tmp_path / library))
        matters.append(_front_matter((tmp_path / library / "README.md").read_text()))
    theirs, ours = matters
    if kind == "dense":  # the seed cards' tag for a folder that plain transformers loads too (README)
        assert ours["tags"][-1] == "transformers" and "transformers" not in theirs["tags"]
        ours["tags"] = ours["tags"][:-1]
    for key in ("language", "license", "tags", "pipeline_tag", "library_name"):
        assert ours.get(key) == theirs.get(key), key
    assert list(ours) == list(theirs)  # the keys in sentence-transformers' order


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_resaving_an_untrained_model_writes_the_loaded_readme_again(folders, kind, tmp_path):
    """sentence-transformers keeps the README.md of a folder of the model's own class while no trainer has
    touched the model (card data changes included), and writes a new card for a plain Hugging Face folder."""
    source = tmp_path / "source"
    _model("st", kind, folders[kind]).save(str(source))  # the class's own folder
    plain = tmp_path / "plain-source"
    shutil.copytree(folders["multi_vector" if kind == "dense" else kind], plain)  # a Hugging Face folder
    space, model_class = KINDS[kind]
    placeholder = {"dense": "sentence_transformers", "multi_vector": "multi_vector_encoder"}.get(kind)
    placeholder = placeholder or ("sparse_encoder" if kind == "sparse" else "cross_encoder")
    readme = (
        "---\nlanguage:\n- en\nlicense: mit\n---\n\n# A hand-written card\n\n"
        f'model = {model_class}("{placeholder}_model_id")\n'
    )
    for folder in (source, plain):
        (folder / "README.md").write_text(readme)
    written = {}
    for library in LIBRARIES:
        model = _model(library, kind, source)
        model.model_card_data.set_language("de")  # card data changes do not make a new card there either
        model.save(str(tmp_path / library / "plain"))
        model.save(str(tmp_path / library / "named"), model_name="someone/my-model")
        _model(library, kind, plain).save(str(tmp_path / library / "from-plain"))
        written[library] = [
            (tmp_path / library / sub / "README.md").read_text() for sub in ("plain", "named", "from-plain")
        ]
    assert written["sbert"][:2] == written["st"][:2]
    assert written["st"][0] == readme
    assert written["st"][1] == readme.replace(f"{placeholder}_model_id", "someone/my-model")
    assert written["st"][2] != readme and written["sbert"][2] != readme


def _trainer(library: str, folder, out):
    st = importlib.import_module(f"{LIBRARIES[library]}.sentence_transformer")
    losses = importlib.import_module(f"{st.__name__}.losses")
    evaluation = importlib.import_module(f"{st.__name__}.evaluation")
    from datasets import Dataset

    model = st.SentenceTransformer(str(folder), device="cpu")
    data = Dataset.from_dict(
        {
            "sentence1": ["a b", "c d", "e f", "g h"],
            "sentence2": ["a c", "c e", "e g", "g a"],
            "score": [0.9, 0.1, 0.5, 0.3],
        }
    )
    evaluator = evaluation.EmbeddingSimilarityEvaluator(
        ["a b", "c d", "e f"], ["a c", "c e", "g a"], [0.9, 0.5, 0.1], name="dev"
    )
    args = st.SentenceTransformerTrainingArguments(
        output_dir=str(out),
        max_steps=3,
        per_device_train_batch_size=2,
        eval_strategy="no",  # evaluated after the run only
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=3,
    )
    return model, st.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=data,
        loss=losses.CoSENTLoss(model),
        evaluator=evaluator,
    )


def test_evaluate_after_train_adds_its_row_to_the_training_logs(folders, tmp_path):
    logs = {}
    for library in LIBRARIES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model, trainer = _trainer(library, folders["dense"], tmp_path / library)
            trainer.train()
            trainer.evaluate()
        logs[library] = model.model_card_data.training_logs
    theirs, ours = logs["st"], logs["sbert"]
    assert [list(row) for row in ours] == [list(row) for row in theirs]
    assert [(row["Epoch"], row["Step"]) for row in ours] == [(row["Epoch"], row["Step"]) for row in theirs]
    for their_row, our_row in zip(theirs, ours):
        assert our_row == pytest.approx(their_row, abs=1e-4)


def test_a_model_trained_by_sberts_own_trainer_gets_a_new_card(folders, tmp_path):
    """sbert's Trainer tags the card data ``generated_from_trainer`` as sentence-transformers' trainers do,
    so the save of the trained model writes a new card, not the README.md it was loaded with."""
    from conftest import train_args

    import sbert

    source = tmp_path / "source"
    _model("st", "dense", folders["dense"]).save(str(source))
    (source / "README.md").write_text("# A hand-written card\n")
    model = sbert.SentenceTransformer(str(source), device="cpu")
    data = sbert.load_dataset(
        {
            "sentence1": ["a b", "c d", "e f", "g h"],
            "sentence2": ["a c", "c e", "e g", "g a"],
            "score": [0.9, 0.1, 0.5, 0.3],
        },
        name="pairs",
    )
    sbert.Trainer(model, data, sbert.CosineSimilarityLoss(model), args=train_args(tmp_path / "run")).train()
    assert "generated_from_trainer" in model.model_card_data.tags
    model.save(str(tmp_path / "trained"))
    card = (tmp_path / "trained" / "README.md").read_text()
    assert "# A hand-written card" not in card and "## Usage (sbert)" in card
