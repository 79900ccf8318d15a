"""push_to_hub's commit message, the description of the pull request ``create_pr=True`` opens and whether a
model card is uploaded, compared with sentence-transformers 6.3's for the same model (the hub faked: what
would be uploaded is recorded)."""

from __future__ import annotations

import logging
import os
import warnings
from types import SimpleNamespace

import pytest
from conftest import build_tiny_classifier, classic_pooling

import sbert


@pytest.fixture
def uploads(monkeypatch) -> list:
    """huggingface_hub.HfApi without the network, for sbert and sentence-transformers alike: each
    upload_folder call's keywords."""
    from huggingface_hub import HfApi

    calls: list = []

    def upload_folder(self, **kwargs):
        calls.append({**kwargs, "files": sorted(os.listdir(kwargs["folder_path"]))})
        return SimpleNamespace(commit_url="https://hub/commit/1", pr_url="https://hub/pr/1")

    def create_repo(self, repo_id, **kwargs):
        return SimpleNamespace(repo_id=repo_id)

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "create_branch", lambda self, **kwargs: None)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    return calls


def pushed(model, calls: list, **kwargs) -> tuple[str, str | None]:
    """The commit message and description of ``model.push_to_hub``, its architecture (``str(model)``, each
    library's own repr) replaced by a placeholder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.push_to_hub("org/tiny", **kwargs)
    upload = calls.pop()
    description = upload["commit_description"]
    return upload["commit_message"], description and description.replace(str(model), "<architecture>")


@pytest.fixture(scope="module")
def folders(tiny_st_factory, masked_lm, tmp_path_factory) -> dict:
    return {
        "SentenceTransformer": tiny_st_factory(classic_pooling(32, "mean")),
        "CrossEncoder": build_tiny_classifier(tmp_path_factory.mktemp("push_pr") / "classifier"),
        "SparseEncoder": masked_lm,
    }


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder", "SparseEncoder"])
@pytest.mark.parametrize("create_pr", [False, True])
def test_push_to_hub_message_and_pull_request_description_as_sentence_transformers(
    folders, uploads, kind, create_pr
):
    import sentence_transformers

    # sbert's default backend ("auto") may run the model on ONNX: the folder pushed is still a torch model's
    ours = getattr(sbert, kind)(str(folders[kind]))
    reference = getattr(sentence_transformers, kind)(str(folders[kind]), device="cpu")
    # local_model_path: the folder uploaded as it is (sentence-transformers' save asks the hub for a card)
    options = {"create_pr": create_pr, "local_model_path": str(folders[kind])}
    expected = pushed(reference, uploads, **options)
    assert pushed(ours, uploads, **options) == expected
    if create_pr:
        assert 'backend="torch"' in expected[1] and f"from sentence_transformers import {kind}" in expected[1]
    else:
        assert expected[1] is None


@pytest.mark.parametrize(
    ("readme", "replace_model_card", "card"),
    [("missing", False, True), ("there", False, False), ("there", True, True), ("hub error", False, False)],
)
def test_push_to_hub_keeps_a_readme_already_on_the_hub_as_sentence_transformers(
    folders, uploads, monkeypatch, tmp_path, readme, replace_model_card, card
):
    import huggingface_hub
    import sentence_transformers

    existing = tmp_path / "README.md"
    existing.write_text("# my own card")

    def hf_hub_download(repo_id, filename, **kwargs):  # the README.md of the repository pushed to
        if readme == "missing":
            raise huggingface_hub.errors.EntryNotFoundError(filename)
        if readme == "hub error":
            raise OSError("hub unreachable")
        return str(existing)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr("sentence_transformers.util.file_io.hf_hub_download", hf_hub_download)
    folder = str(folders["SentenceTransformer"])
    for model in (
        sbert.SentenceTransformer(folder),
        sentence_transformers.SentenceTransformer(folder, device="cpu"),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.push_to_hub("org/tiny", replace_model_card=replace_model_card)
        assert ("README.md" in uploads.pop()["files"]) is card


def test_save_to_hub_logs_and_refuses_as_sentence_transformers(folders, uploads, caplog):
    import sentence_transformers

    folder = str(folders["SentenceTransformer"])
    messages = []
    for model in (
        sbert.SentenceTransformer(folder),
        sentence_transformers.SentenceTransformer(folder, device="cpu"),
    ):
        caplog.clear()
        with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
            warnings.simplefilter("ignore")
            model.save_to_hub("org/tiny", local_model_path=folder)
            with pytest.raises(ValueError) as refused:
                model.save_to_hub("org/tiny", organization="other")
        logged = [record.getMessage() for record in caplog.records if "save_to_hub" in record.getMessage()]
        messages.append((logged, str(refused.value)))
    (ours_logged, ours_error), (logged, error) = messages
    assert ours_logged == logged and len(logged) == 2  # each call logs
    assert ours_error.startswith(error)  # sbert adds which owners disagree
