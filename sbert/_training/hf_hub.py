"""Hugging Face ``Trainer``'s Hub methods on sentence-transformers' trainers: ``push_to_hub`` at the end of a
script (the model saved to ``output_dir`` with its card, then that folder uploaded, checkpoints left out),
``init_hf_repo`` and ``create_model_card``; the same repository and upload calls as there, on
``huggingface_hub.HfApi``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .._format.card_data import card_data_for

# what Hugging Face's trainer leaves out of the uploaded output_dir: hidden files and checkpoints
IGNORE_PATTERNS = ["_*", "checkpoint-*"]


class HubMethods:
    """The methods, mixed into sentence-transformers' trainers (which give ``model``, ``st_args`` and
    ``save_model``)."""

    hub_model_id: str | None = None  # the repository, once init_hf_repo made it

    def init_hf_repo(self, token: str | None = None, private: bool | None = None) -> None:
        """Create (or find) the repository ``hub_model_id`` names (default: ``output_dir``'s folder name)."""
        if not self.is_world_process_zero():
            return
        from huggingface_hub import HfApi

        args = self.st_args
        name = args.hub_model_id or Path(args.output_dir).absolute().name
        token = token if token is not None else args.hub_token
        private = private if private is not None else args.hub_private_repo
        self.hub_model_id = HfApi().create_repo(name, token=token, private=private, exist_ok=True).repo_id

    def create_model_card(
        self,
        language: str | None = None,
        license: str | None = None,
        tags: str | list[str] | None = None,
        model_name: str | None = None,
        finetuned_from: str | None = None,
        tasks: str | list[str] | None = None,
        dataset_tags: str | list[str] | None = None,
        dataset: str | list[str] | None = None,
        dataset_args: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """``README.md`` in ``output_dir``: the model's card (sbert's layout, as its ``save`` writes it), with
        ``language``, ``license`` and ``tags`` added to its card data, as sentence-transformers' trainer adds
        them."""
        if not self.is_world_process_zero():
            return
        self._add_card_data(language, license, tags)
        folder = Path(self.st_args.output_dir)
        card = self.model.model_card_data
        held_id = card.model_id
        self._save_into(folder, model_name or folder.name, ["README.md"])
        if model_name is None:  # the card is titled by its folder, which is no model id there
            card.model_id = held_id

    def _save_into(self, folder: Path, model_name: str, names: list[str] | None = None) -> None:
        """The model's files (``names`` of them, default all) written into ``folder``, beside what it holds
        (checkpoints, logs): ``save`` replaces a folder whole."""
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            self.model.save(scratch, model_name=model_name)
            for name in names or os.listdir(scratch):
                source = Path(scratch) / name
                if source.is_dir():
                    shutil.copytree(source, folder / name, dirs_exist_ok=True)
                else:
                    shutil.copyfile(source, folder / name)
        self.model.model_card_data.save_dir = self.st_args.output_dir  # not the scratch folder

    def _add_card_data(self, language: Any, license: Any, tags: Any) -> None:
        model = self.model
        data = model.model_card_data = card_data_for(model)
        if language:
            data.set_language(language)
        if license:
            data.set_license(license)
        if tags:
            data.add_tags(tags)

    def push_to_hub(
        self,
        commit_message: str | None = "End of training",
        blocking: bool = True,
        token: str | None = None,
        revision: str | None = None,
        private: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Save the model to ``output_dir``, write its card and upload the folder (checkpoints and hidden
        files left out) to ``hub_model_id``'s repository, made first if needed; the upload's ``CommitInfo``
        (a future with ``blocking=False``)."""
        args = self.st_args
        model_name = kwargs.pop("model_name", None)
        if model_name is None:
            model_name = args.hub_model_id.split("/")[-1] if args.hub_model_id else Path(args.output_dir).name
        token = token if token is not None else args.hub_token
        if self.hub_model_id is None:
            self.init_hf_repo(token=token, private=private)
        if not self.is_world_process_zero():
            return None
        # the model and its card (named model_name) in output_dir, as save_model and create_model_card there
        self._add_card_data(kwargs.get("language"), kwargs.get("license"), kwargs.get("tags"))
        self._save_into(Path(args.output_dir), model_name)
        from huggingface_hub import HfApi

        return HfApi().upload_folder(
            repo_id=self.hub_model_id,
            folder_path=str(args.output_dir),
            commit_message=commit_message,
            token=token,
            run_as_future=not blocking,
            ignore_patterns=list(IGNORE_PATTERNS),
            revision=revision if revision is not None else args.hub_revision,
        )
