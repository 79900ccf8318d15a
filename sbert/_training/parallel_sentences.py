"""sentence-transformers' ``ParallelSentencesDataset``: the data of multilingual knowledge distillation.

Each line of a tab-separated file holds one sentence and its translations; every one of them becomes an
``InputExample`` whose label is the teacher's embedding of the line's first sentence, for ``MSELoss`` with
the classic ``fit``. sentence-transformers' version regenerates examples as training samples them; here the
examples are made once (the teacher embeds each distinct source sentence once, on first access), and every
sentence appears once per epoch, whatever its file's ``weight``.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._errors import InputError
from .fit_inputs import InputExample


class ParallelSentencesDataset(Sequence):
    """Translations labelled with the teacher's embedding of their source sentence.

    Example::

        data = ParallelSentencesDataset(student_model=student, teacher_model=teacher)
        data.load_data("en-de.tsv.gz")
        loader = DataLoader(data, shuffle=True, batch_size=64)
        student.fit(train_objectives=[(loader, losses.MSELoss(student))], epochs=5)
    """

    def __init__(
        self, student_model: Any, teacher_model: Any, batch_size: int = 8, use_embedding_cache: bool = True
    ) -> None:
        self.student_model, self.teacher_model = student_model, teacher_model
        self.batch_size = batch_size  # the teacher's encode batch size
        self.use_embedding_cache = use_embedding_cache  # accepted: each source is embedded once anyway
        self.groups: list[tuple[str, list[str]]] = []  # (source, the distinct sentences labelled with it)
        self._examples: list[InputExample] | None = None

    def load_data(
        self,
        filepath: str | Path,
        weight: int = 100,
        max_sentences: int | None = None,
        max_sentence_length: int | None = 128,
    ) -> None:
        """Read a .tsv/.txt/.csv file (or one gzipped), one sentence and its translations per line, skipping
        lines with a sentence longer than ``max_sentence_length`` characters and reading at most
        ``max_sentences`` lines. ``weight`` is accepted (every sentence appears once per epoch here)."""
        path = Path(filepath)
        if not path.is_file():
            raise InputError(f"ParallelSentencesDataset.load_data: {path} does not exist.")
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            rows = [line.rstrip("\n").split("\t") for line in lines if line.strip()]
        self.add_dataset(rows, weight, max_sentences, max_sentence_length)

    def add_dataset(
        self,
        parallel_sentences: Sequence[Sequence[str]],
        weight: int = 100,
        max_sentences: int | None = None,
        max_sentence_length: int | None = 128,
    ) -> None:
        """Add rows of parallel sentences (the first of each row is the source the teacher embeds)."""
        groups: dict[str, list[str]] = {}
        for row in parallel_sentences:
            sentences = [s.strip() for s in row]
            if max_sentence_length and max(map(len, sentences)) > max_sentence_length:
                continue
            labelled = groups.setdefault(sentences[0], [])
            labelled += [s for s in dict.fromkeys(sentences) if s not in labelled]
            if max_sentences and len(groups) >= max_sentences:
                break
        self.groups += list(groups.items())
        self._examples = None

    @property
    def examples(self) -> list[InputExample]:
        if self._examples is None:
            if not self.groups:
                raise InputError("ParallelSentencesDataset holds no sentences; call load_data(path) first.")
            sources = [source for source, _ in self.groups]
            embeddings = self.teacher_model.encode(sources, batch_size=self.batch_size)
            self._examples = [
                InputExample(texts=[sentence], label=embedding)
                for (_, sentences), embedding in zip(self.groups, embeddings)
                for sentence in sentences
            ]
        return self._examples

    def __getitem__(self, index: Any) -> Any:
        return self.examples[index]

    def __len__(self) -> int:
        return sum(len(sentences) for _, sentences in self.groups)
