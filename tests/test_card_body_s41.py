"""The "Training Details" part of the model card after a short training run with an evaluator, an eval
dataset, logging and evaluation every few steps and the best model loaded at the end, against
sentence-transformers 6.3's card for the same run: its headings in order, each dataset's size, columns,
statistics and samples tables and loss parameters, the hyperparameter lists, the training-log table (its
columns, its rows' epochs and steps, the bold row of the saved checkpoint) and the framework-version lines;
for the SentenceTransformer, the CrossEncoder and the SparseEncoder."""

from __future__ import annotations

import importlib
import re
import warnings

import pytest
from conftest import build_tiny_classifier, build_tiny_masked_lm, without_dropout
from datasets import Dataset

LIBRARIES = {"st": "sentence_transformers", "sbert": "sbert"}
DATA = {
    "sentence1": ["a b", "c d", "e f", "g h", "a d b", "b c"],
    "sentence2": ["a c", "c e", "e g", "g a", "d a", "c b a"],
    "score": [0.9, 0.1, 0.5, 0.3, 1.0, 0.0],
}
STS = (["a b", "c d", "e f"], ["a c", "c e", "g a"], [0.9, 0.5, 0.1])


def _dense_run(ns, model):
    evaluator = ns.evaluation.EmbeddingSimilarityEvaluator(*STS, name="sts-dev")
    return ns.losses.CoSENTLoss(model), evaluator, "eval_sts-dev_spearman_cosine"


def _sparse_run(ns, model):
    losses = ns.losses
    loss = losses.SpladeLoss(
        model, losses.SparseCoSENTLoss(model), document_regularizer_weight=3e-5, query_regularizer_weight=5e-5
    )
    evaluator = ns.evaluation.SparseEmbeddingSimilarityEvaluator(*STS, name="sts-dev")
    return loss, evaluator, "eval_sts-dev_spearman_cosine"


def _cross_run(ns, model):
    evaluator = ns.evaluation.CrossEncoderCorrelationEvaluator(
        [list(pair) for pair in zip(STS[0], STS[1])], STS[2], name="sts-dev"
    )
    return ns.losses.BinaryCrossEntropyLoss(model), evaluator, "eval_sts-dev_spearman"


KINDS = {  # kind -> (namespace, model class, trainer prefix, run)
    "dense": ("sentence_transformer", "SentenceTransformer", "SentenceTransformer", _dense_run),
    "sparse": ("sparse_encoder", "SparseEncoder", "SparseEncoder", _sparse_run),
    "cross": ("cross_encoder", "CrossEncoder", "CrossEncoder", _cross_run),
}


@pytest.fixture(scope="module")
def folders(dropout_free_st, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("card-body")
    return {
        "dense": dropout_free_st,
        "sparse": without_dropout(build_tiny_masked_lm(root / "mlm")),
        "cross": without_dropout(build_tiny_classifier(root / "ce")),
    }


def _card(library: str, kind: str, folder, out) -> str:
    space, model_class, prefix, run = KINDS[kind]
    ns = importlib.import_module(f"{LIBRARIES[library]}.{space}")
    for part in ("losses", "evaluation"):
        importlib.import_module(f"{ns.__name__}.{part}")
    model = getattr(ns, model_class)(str(folder), device="cpu")
    loss, evaluator, best_metric = run(ns, model)
    args = getattr(ns, f"{prefix}TrainingArguments")(
        output_dir=str(out / "run"),
        max_steps=4,
        per_device_train_batch_size=2,
        per_device_eval_batch_size=2,
        learning_rate=1e-4,
        warmup_steps=0.1,
        eval_strategy="steps",
        eval_steps=2,
        save_steps=2,
        logging_steps=1,
        load_best_model_at_end=True,
        metric_for_best_model=best_metric,
        report_to="none",
        use_cpu=True,
        seed=3,
    )
    data = Dataset.from_dict(DATA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = getattr(ns, f"{prefix}Trainer")(
            model=model, args=args, train_dataset=data, eval_dataset=data, loss=loss, evaluator=evaluator
        )
        trainer.train()
        model.save(str(out / "model"))
    return (out / "model" / "README.md").read_text()


def training_details(card: str) -> str:
    """The card from "## Training Details" up to the next second-level heading."""
    assert "## Training Details\n" in card, "no Training Details section"
    part = card.split("## Training Details\n", 1)[1]
    return "## Training Details\n" + re.split(r"^## ", part, maxsplit=1, flags=re.M)[0]


def subsection(text: str, heading: str) -> str:
    """The lines under ``heading`` up to the next heading of any level."""
    part = text.split(heading + "\n", 1)[1]
    return re.split(r"^#+ ", part, maxsplit=1, flags=re.M)[0]


@pytest.fixture(scope="module")
def cards(folders, tmp_path_factory) -> dict:
    made = {}

    def get(kind: str) -> tuple[str, str]:
        if kind not in made:
            out = tmp_path_factory.mktemp(kind)
            made[kind] = tuple(
                training_details(_card(lib, kind, folders[kind], out / lib)) for lib in ("st", "sbert")
            )
        return made[kind]

    return get


def _headings(text: str) -> list[str]:
    """The headings in order, but the Training Time's (whose presence is a clock reading's)."""
    return [h for h in re.findall(r"^#+ .*$", text, flags=re.M) if h != "### Training Time"]


def _table_headers(text: str) -> list[str]:
    lines = text.splitlines()
    return [
        lines[i].strip()
        for i in range(len(lines) - 1)
        if lines[i].strip().startswith("|") and re.match(r"\s*\|:?-", lines[i + 1])
    ]


def _rows(table_text: str) -> list[list[str]]:
    rows = [line.strip() for line in table_text.splitlines() if line.strip().startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_training_details_has_the_headings_and_tables_of_sentence_transformers(cards, kind):
    theirs, ours = cards(kind)
    assert _headings(ours) == _headings(theirs)
    assert _table_headers(ours) == _table_headers(theirs)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_dataset_sections_equal_sentence_transformers(cards, kind):
    """Size, columns, statistics and samples tables, the loss with its parameters: all deterministic."""
    theirs, ours = cards(kind)
    for heading in ("### Training Dataset", "### Evaluation Dataset"):
        assert heading in theirs
        their_part = theirs.split(heading, 1)[1].split("\n### ", 1)[0]
        our_part = ours.split(heading, 1)[1].split("\n### ", 1)[0]
        assert our_part == their_part


def _hyperparameters(text: str, heading: str) -> list[tuple[str, str]]:
    return re.findall(r"^- `([^`]+)`: (.*)$", subsection(text, heading), flags=re.M)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_hyperparameter_lists_equal_sentence_transformers(cards, kind):
    theirs, ours = cards(kind)
    for heading in ("#### Non-Default Hyperparameters", "#### All Hyperparameters"):
        their_items, our_items = _hyperparameters(theirs, heading), _hyperparameters(ours, heading)
        assert their_items
        assert [key for key, _ in our_items] == [key for key, _ in their_items], heading
        # the values too, but output paths (the arguments are the same otherwise)
        assert dict(our_items) == dict(their_items), heading


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_training_logs_table_matches_sentence_transformers(cards, kind):
    theirs, ours = cards(kind)
    their_rows, our_rows = (_rows(subsection(text, "### Training Logs")) for text in (theirs, ours))
    assert len(their_rows) == 4
    assert len(our_rows) == len(their_rows)
    assert [row[:2] for row in our_rows] == [row[:2] for row in their_rows]  # epoch, step (bold or not)
    # which cells are empty ("-") and which are bold: the same; the values agree to the loss's noise
    shape = [[cell == "-" or cell == "**-**" for cell in row] for row in their_rows]
    assert [[cell == "-" or cell == "**-**" for cell in row] for row in our_rows] == shape
    assert [[cell.startswith("**") for cell in row] for row in our_rows] == [
        [cell.startswith("**") for cell in row] for row in their_rows
    ]
    their_logs, our_logs = (subsection(text, "### Training Logs") for text in (theirs, ours))
    assert our_logs.replace(" ", "").count("\n") == their_logs.replace(" ", "").count("\n")
    their_note = "* The bold row denotes the saved checkpoint." in theirs
    assert ("* The bold row denotes the saved checkpoint." in ours) == their_note


@pytest.mark.parametrize("kind", ["dense"])
def test_framework_versions_list_what_sentence_transformers_lists(cards, kind):
    theirs, ours = cards(kind)
    their_lines = re.findall(r"^- ([^:]+): (.*)$", subsection(theirs, "### Framework Versions"), flags=re.M)
    our_lines = re.findall(r"^- ([^:]+): (.*)$", subsection(ours, "### Framework Versions"), flags=re.M)
    assert [name for name, _ in our_lines] == [name for name, _ in their_lines]
    ours_by_name, theirs_by_name = dict(our_lines), dict(their_lines)
    for name in ("Python", "Transformers", "PyTorch", "Accelerate", "Datasets", "Tokenizers"):
        assert ours_by_name[name] == theirs_by_name[name], name
    assert "sbert" in ours_by_name["Sentence Transformers"]
