"""Model-card parity with sentence-transformers 6.3, continued: the front matter's ``base_model`` (hub models
only, never a local folder, for every model class and trainer), ``model_card_data.task_name`` (each class's
default), ``old_fit`` regenerating the card, and the "Training Details" section of models trained with
sbert's own ``Trainer`` and ``sbert train``."""

from __future__ import annotations

import importlib
import re
import shutil
import warnings
from types import SimpleNamespace

import pytest
from conftest import build_tiny_classifier, build_tiny_masked_lm, without_dropout
from datasets import Dataset
from test_card_body_s41 import DATA, KINDS, LIBRARIES, STS, subsection, training_details

import sbert
from sbert._cli import main


@pytest.fixture(scope="module")
def folders(dropout_free_st, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("card-follow")
    return {
        "dense": dropout_free_st,
        "sparse": without_dropout(build_tiny_masked_lm(root / "mlm")),
        "cross": without_dropout(build_tiny_classifier(root / "ce")),
        "cross3": build_tiny_classifier(root / "ce3", num_labels=3),
    }


def _namespace(library: str, kind: str):
    space = KINDS[kind][0]
    ns = importlib.import_module(f"{LIBRARIES[library]}.{space}")
    for part in ("losses", "evaluation"):
        importlib.import_module(f"{ns.__name__}.{part}")
    return ns


def _trained_card(library: str, kind: str, folder, out) -> tuple[object, str]:
    """The model and its README.md after two steps of the kind's sentence-transformers-style trainer."""
    _, model_class, prefix, run = KINDS[kind]
    ns = _namespace(library, kind)
    model = getattr(ns, model_class)(str(folder), device="cpu")
    loss, _, _ = run(ns, model)
    args = getattr(ns, f"{prefix}TrainingArguments")(
        output_dir=str(out / "run"),
        max_steps=2,
        per_device_train_batch_size=2,
        report_to="none",
        use_cpu=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(ns, f"{prefix}Trainer")(
            model=model, args=args, train_dataset=Dataset.from_dict(DATA), loss=loss
        ).train()
        model.save(str(out / "model"))
    return model, (out / "model" / "README.md").read_text()


def _front_matter(card: str) -> str:
    return card.split("---\n", 2)[1]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_local_folder_is_no_base_model_after_training(folders, kind, tmp_path):
    """sentence-transformers records a base model it finds on the hub only: a model loaded from a local
    folder has none, in the card data or the front matter, before and after a trainer's run."""
    for library in ("st", "sbert"):
        model, card = _trained_card(library, kind, folders[kind], tmp_path / library)
        assert model.model_card_data.base_model is None, library
        assert "base_model:" not in _front_matter(card), library


def test_sbert_trainer_and_train_command_record_no_local_base_model(dropout_free_st, tmp_path):
    model = sbert.SentenceTransformer(str(dropout_free_st), device="cpu", backend="torch")
    args = sbert.TrainingArguments(output_dir=str(tmp_path / "run"), max_steps=1, batch_size=2, plot=False)
    data = sbert.load_dataset(DATA)
    sbert.Trainer(model, data, sbert.CoSENTLoss(model), args=args).train()
    assert model.model_card_data.base_model is None
    assert "base_model:" not in (tmp_path / "run" / "final" / "README.md").read_text()
    (tmp_path / "sts.tsv").write_text("sentence1\tsentence2\tscore\n" + "a b\ta c\t0.5\nc d\tc e\t0.1\n" * 2)
    (tmp_path / "config.yaml").write_text(
        f"recipe: sts\ntrain: {{file: sts.tsv}}\nmodel: {dropout_free_st}\noutput_dir: cli\n"
        "arguments: {batch_size: 2, max_steps: 1, show_progress_bar: false, plot: false}\n"
    )
    assert main(["train", str(tmp_path / "config.yaml")]) == 0
    assert "base_model:" not in (tmp_path / "cli" / "final" / "README.md").read_text()


@pytest.fixture
def hub_cache(dropout_free_st, tmp_path, monkeypatch):
    """A Hugging Face cache holding the tiny model as ``owner/tiny`` at one commit, used offline; the hub's
    model lookup of sentence-transformers' ``set_base_model`` answers for that id only."""
    import huggingface_hub.constants
    import sentence_transformers.base.model_card as st_card

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "cache" / "models--owner--tiny"
    shutil.copytree(dropout_free_st, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)

    def model_info(repo_id):
        if repo_id != "owner/tiny":
            raise ValueError(f"no model {repo_id}")
        return SimpleNamespace(id=repo_id, sha=commit)

    monkeypatch.setattr(st_card, "get_model_info", model_info)
    return tmp_path / "cache", commit


def test_a_hub_model_is_the_base_model_with_its_commit(hub_cache, tmp_path):
    cache, commit = hub_cache
    recorded = {}
    for library, module in LIBRARIES.items():
        model = importlib.import_module(module).SentenceTransformer(
            "owner/tiny", device="cpu", cache_folder=str(cache)
        )
        card = model.model_card_data
        recorded[library] = (card.base_model, card.base_model_revision)
        model.save(str(tmp_path / library))
        assert "base_model: owner/tiny" in _front_matter((tmp_path / library / "README.md").read_text())
    assert recorded["sbert"] == recorded["st"] == ("owner/tiny", commit)


@pytest.mark.parametrize(
    ("kind", "folder"),
    [
        ("dense", "dense"),
        ("cross", "cross"),
        ("cross", "cross3"),
        ("sparse", "sparse"),
        ("multi-vector", "dense"),
    ],
)
def test_task_name_defaults_as_sentence_transformers(folders, kind, folder):
    folder = folders[folder]
    names = {}
    for library, module in LIBRARIES.items():
        if kind == "multi-vector":
            model = importlib.import_module(module).MultiVectorEncoder(str(folder), device="cpu")
        else:
            model = getattr(_namespace(library, kind), KINDS[kind][1])(str(folder), device="cpu")
        names[library] = model.model_card_data.task_name
    assert names["sbert"] == names["st"]
    assert names["st"]


def test_dense_card_sentence_reads_as_the_seed_cards_with_the_default_task(dropout_free_st, tmp_path):
    model = sbert.SentenceTransformer(str(dropout_free_st), device="cpu")
    model._model_card_text = None  # a new card, not the loaded README.md
    model.save(tmp_path / "default")
    assert (
        "can be used for tasks like clustering or semantic search."
        in (tmp_path / "default/README.md").read_text()
    )
    model.model_card_data.task_name = "retrieval"
    model.save(tmp_path / "custom")
    assert "can be used for tasks like retrieval." in (tmp_path / "custom/README.md").read_text()


def test_old_fit_drops_the_loaded_card_as_sentence_transformers(dropout_free_st, tmp_path):
    """SentenceTransformer.old_fit clears the README.md the model was loaded with (a save writes a new card),
    as there."""
    from torch.utils.data import DataLoader

    folder = shutil.copytree(dropout_free_st, tmp_path / "with-card")
    (folder / "README.md").write_text("# A card written by hand\n")
    seen = {}
    for library, module in LIBRARIES.items():
        ns = importlib.import_module(module)
        losses = importlib.import_module(f"{module}.sentence_transformer.losses")
        model = ns.SentenceTransformer(str(folder), device="cpu")
        assert model._model_card_text, library  # the folder's README.md, loaded
        examples = [ns.InputExample(texts=[a, b], label=s) for a, b, s in zip(*DATA.values())]
        loader = DataLoader(examples, batch_size=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.old_fit(
                [(loader, losses.CosineSimilarityLoss(model))],
                epochs=1,
                steps_per_epoch=1,
                show_progress_bar=False,
            )
        seen[library] = model._model_card_text
    assert seen["sbert"] == seen["st"] is None


def _rows(text: str) -> list[list[str]]:
    rows = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_sbert_trainer_card_has_training_details(dropout_free_st, tmp_path):
    """sbert's own Trainer: the Training Details section with the dataset (size, columns, statistics and
    samples tables, the loss and its parameters: as sentence-transformers' trainer writes them for the
    same named dataset and loss), its arguments, the run's logs and the framework versions."""
    model = sbert.SentenceTransformer(str(dropout_free_st), device="cpu", backend="torch")
    evaluator = sbert.EmbeddingSimilarityEvaluator(*STS, name="sts-dev")
    args = sbert.TrainingArguments(
        output_dir=str(tmp_path / "run"),
        max_steps=3,
        batch_size=2,
        eval_steps=2,
        save_steps=2,
        logging_steps=1,
        learning_rate=1e-4,
        seed=3,
        plot=False,
        show_progress_bar=False,
    )
    data = sbert.load_dataset(DATA, name="stsb")
    sbert.Trainer(model, {"stsb": data}, sbert.CoSENTLoss(model), args=args, evaluator=evaluator).train()
    model.save(tmp_path / "model")
    ours = training_details((tmp_path / "model" / "README.md").read_text())
    # the headings in order; "### Training Time" (a clock reading) is left out of the comparison
    headings = [h for h in re.findall(r"^#+ .*$", ours, flags=re.M) if h != "### Training Time"]
    assert headings == [
        "## Training Details",
        "### Training Dataset",
        "#### stsb",
        "### Training Hyperparameters",
        "#### Non-Default Hyperparameters",
        "#### All Hyperparameters",
        "### Training Logs",
        "### Framework Versions",
    ]
    # the dataset's part equals sentence-transformers' for the same data and loss (a dict of one dataset)
    st = importlib.import_module("sentence_transformers")
    st_losses = importlib.import_module("sentence_transformers.sentence_transformer.losses")
    reference = st.SentenceTransformer(str(dropout_free_st), device="cpu")
    st_args = st.SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "st"), max_steps=1, per_device_train_batch_size=2, report_to="none"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st.SentenceTransformerTrainer(
            model=reference,
            args=st_args,
            train_dataset={"stsb": Dataset.from_dict(DATA)},
            loss=st_losses.CoSENTLoss(reference),
        ).train()
        reference.save(str(tmp_path / "st-model"))
    theirs = training_details((tmp_path / "st-model" / "README.md").read_text())
    part = "### Training Dataset"
    assert ours.split(part, 1)[1].split("\n### ", 1)[0] == theirs.split(part, 1)[1].split("\n### ", 1)[0]
    changed = dict(
        re.findall(r"^- `([^`]+)`: (.*)$", subsection(ours, "#### Non-Default Hyperparameters"), re.M)
    )
    assert changed == {"batch_size": "2", "learning_rate": "0.0001", "seed": "3", "max_steps": "3"}
    every = dict(re.findall(r"^- `([^`]+)`: (.*)$", ours.split("#### All Hyperparameters", 1)[1], re.M))
    assert every["epochs"] == "1" and every["lr_scheduler_type"] == "linear" and "output_dir" not in every
    # the logs: one row per logged step, the evaluation's metric at the evaluated steps, the best step bold
    rows = _rows(subsection(ours, "### Training Logs"))
    header = subsection(ours, "### Training Logs").splitlines()[0]
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "Epoch",
        "Step",
        "Training Loss",
        "sts-dev_spearman_cosine",
    ]
    assert [row[1].strip("*") for row in rows] == ["1", "2", "3"]
    assert rows[0][3] == "-" and rows[1][3] != "-" and rows[1][1] == "**2**"
    assert "- Sentence Transformers: " in ours and "- Transformers: " in ours
    # the front matter's trainer tags, as sentence-transformers' trainer adds them
    front = _front_matter((tmp_path / "model" / "README.md").read_text())
    for tag in ("generated_from_trainer", "dataset_size:6", "loss:CoSENTLoss"):
        assert f"- {tag}\n" in front


def test_train_command_card_has_training_details(dropout_free_st, tmp_path):
    (tmp_path / "sts.tsv").write_text("sentence1\tsentence2\tscore\n" + "a b\ta c\t0.5\nc d\tc e\t0.1\n" * 2)
    (tmp_path / "config.yaml").write_text(
        f"recipe: sts\ntrain: {{file: sts.tsv}}\nmodel: {dropout_free_st}\noutput_dir: cli\n"
        "arguments: {batch_size: 2, max_steps: 2, logging_steps: 1, show_progress_bar: false, plot: false}\n"
    )
    assert main(["train", str(tmp_path / "config.yaml")]) == 0
    details = training_details((tmp_path / "cli" / "final" / "README.md").read_text())
    assert "* Size: 4 training samples" in details
    assert "* Columns: <code>sentence1</code>, <code>sentence2</code>, and <code>score</code>" in details
    assert "CosineSimilarityLoss" in details
    assert [row[1] for row in _rows(subsection(details, "### Training Logs"))] == ["1", "2"]
