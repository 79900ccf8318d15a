"""The saved model card's front matter ``datasets`` for card data naming its datasets, against
sentence-transformers 6.3's card made in the test: only dataset hub ids it has looked up are listed (the
training datasets', then the evaluation datasets'), never a dataset given by name only, and none with
``local_files_only=True``. The hub lookup is patched to succeed (sbert looks nothing up: it lists the ids as
given, what sentence-transformers lists for ids that exist)."""

from __future__ import annotations

import importlib
import re
from types import SimpleNamespace

import pytest
import yaml
from datasets import Dataset, DatasetDict

CASES = {
    "by name": ({"train_datasets": [{"name": "foo"}]}),
    "name and id": ({"train_datasets": [{"name": "foo", "id": "org/foo"}]}),
    "id only": ({"train_datasets": [{"id": "org/bar"}]}),
    "train and eval ids": (
        {
            "train_datasets": [{"id": "org/a"}, {"name": "b"}],
            "eval_datasets": [{"id": "org/c"}, {"id": "org/a"}],
        }
    ),
}


def _front_matter(card: str) -> dict:
    return yaml.safe_load(re.match(r"---\n(.*?)\n---\n", card, re.S).group(1))


def _card(library: str, folder, out, fields: dict) -> dict:
    ns = importlib.import_module(library)
    fields = {
        key: [dict(d) for d in value] if key.endswith("datasets") else value for key, value in fields.items()
    }
    model = ns.SentenceTransformer(
        str(folder), device="cpu", model_card_data=ns.SentenceTransformerModelCardData(**fields)
    )
    data = {"anchor": ["a b", "c d"], "positive": ["a c", "c e"]}

    def datasets(records: list) -> Dataset | DatasetDict | None:
        if len(records) < 2:
            return Dataset.from_dict(data) if records else None
        return DatasetDict({f"part{i}": Dataset.from_dict(data) for i in range(len(records))})

    args = ns.SentenceTransformerTrainingArguments(
        output_dir=str(out / "run"), report_to="none", use_cpu=True
    )
    # a trainer made, not run: the card lists its datasets (sentence-transformers needs them there)
    ns.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=datasets(fields["train_datasets"]),
        eval_dataset=datasets(fields.get("eval_datasets", [])),
        loss=importlib.import_module(f"{library}.sentence_transformer.losses").MultipleNegativesRankingLoss(
            model
        ),
    )
    model.save(str(out / "model"))
    return _front_matter((out / "model" / "README.md").read_text(encoding="utf-8"))


@pytest.fixture
def hub_lookup_succeeds(monkeypatch):
    """sentence-transformers' dataset lookup, answering every id as an existing dataset without a card."""
    card_module = importlib.import_module("sentence_transformers.base.model_card")
    monkeypatch.setattr(
        card_module, "get_dataset_info", lambda repo_id: SimpleNamespace(id=repo_id, cardData=None)
    )


@pytest.mark.parametrize("local_files_only", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_front_matter_datasets_as_sentence_transformers(
    dropout_free_st, tmp_path, hub_lookup_succeeds, case, local_files_only
):
    fields = {**CASES[case], "local_files_only": local_files_only}
    theirs, ours = (
        _card(lib, dropout_free_st, tmp_path / lib, fields) for lib in ("sentence_transformers", "sbert")
    )
    assert ours.get("datasets") == theirs.get("datasets")
