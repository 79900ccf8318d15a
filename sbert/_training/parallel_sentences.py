"""sentence-transformers' ``ParallelSentencesDataset``: the data of multilingual knowledge distillation.

Each line of a tab-separated file holds one sentence and its translations; every one of them becomes an
``InputExample`` whose label is the teacher's embedding of the line's first sentence, for ``MSELoss`` with
the classic ``fit``. Examples are handed out as sentence-transformers' are: whatever the index asked for,
the next one of a cache that is refilled, when empty, with ``weight`` source lines of each file (each file
read in turn, reshuffled with Python's ``random`` when it wraps around), their translations labelled, and
shuffled again. So a file's ``weight`` sets its share of the examples, and a seed of ``random`` gives the
same examples in the same order as there.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Any

from .._errors import InputError
from .fit_inputs import InputExample


class ParallelSentencesDataset:
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
        self.use_embedding_cache = use_embedding_cache
        self.datasets: list[list[tuple[str, set[str]]]] = []  # per file: (source, the sentences it labels)
        self.datasets_iterator: list[int] = []  # per file: the next source line to draw
        self.dataset_indices: list[int] = []  # each file's index, ``weight`` times
        self.cache: list[InputExample] = []
        self.embedding_cache: dict[str, Any] = {}
        self.num_sentences = 0

    def load_data(
        self,
        filepath: str | Path,
        weight: int = 100,
        max_sentences: int | None = None,
        max_sentence_length: int | None = 128,
    ) -> None:
        """Read a .tsv/.txt/.csv file (or one gzipped), one sentence and its translations per line, skipping
        lines with a sentence longer than ``max_sentence_length`` characters and reading at most
        ``max_sentences`` lines; ``weight`` source lines of it go into each refill of the cache."""
        path = Path(filepath)
        if not path.is_file():
            raise InputError(f"ParallelSentencesDataset.load_data: {path} does not exist.")
        opener = gzip.open if str(path).endswith(".gz") else open
        rows = []
        with opener(path, "rt", encoding="utf8") as lines:
            for line in lines:
                sentences = line.strip().split("\t")
                if (
                    max_sentence_length
                    and max_sentence_length > 0
                    and max(map(len, sentences)) > max_sentence_length
                ):
                    continue
                rows.append(sentences)
                if max_sentences and max_sentences > 0 and len(rows) >= max_sentences:
                    break
        self.add_dataset(rows, weight, max_sentences, max_sentence_length)

    def add_dataset(
        self,
        parallel_sentences: Any,
        weight: int = 100,
        max_sentences: int | None = None,
        max_sentence_length: int | None = 128,
    ) -> None:
        """Add rows of parallel sentences (the first of each row is the source the teacher embeds)."""
        groups: dict[str, set[str]] = {}
        for sentences in parallel_sentences:
            if (
                max_sentence_length
                and max_sentence_length > 0
                and max(map(len, sentences)) > max_sentence_length
            ):
                continue
            # a set, as there: in one interpreter the translations come out in the same order
            groups.setdefault(sentences[0], set()).update(sentences)
            if max_sentences and max_sentences > 0 and len(groups) >= max_sentences:
                break
        if not groups:
            return
        self.num_sentences += sum(map(len, groups.values()))
        self.dataset_indices += [len(self.datasets)] * weight
        self.datasets.append(list(groups.items()))
        self.datasets_iterator.append(0)

    @property
    def groups(self) -> list[tuple[str, set[str]]]:
        """Every file's (source, sentences labelled with it), files in the order loaded."""
        return [group for dataset in self.datasets for group in dataset]

    def generate_data(self) -> None:
        """Refill the cache: ``weight`` source lines of each file, their sentences labelled, shuffled."""
        drawn = [self.next_entry(index) for index in self.dataset_indices]
        embeddings = self.get_embeddings([source for source, _ in drawn])
        for embedding, (_, sentences) in zip(embeddings, drawn):
            self.cache += [InputExample(texts=[sentence], label=embedding) for sentence in sentences]
        random.shuffle(self.cache)

    def next_entry(self, index: int) -> tuple[str, set[str]]:
        """File ``index``'s next source line; past its last, it is reshuffled and read again."""
        entry = self.datasets[index][self.datasets_iterator[index]]
        self.datasets_iterator[index] += 1
        if self.datasets_iterator[index] >= len(self.datasets[index]):
            self.datasets_iterator[index] = 0
            random.shuffle(self.datasets[index])
        return entry

    def get_embeddings(self, sentences: list[str]) -> list[Any]:
        """The teacher's embeddings of ``sentences``, each new one embedded once when caching."""
        if not self.use_embedding_cache:
            return list(self._encode(sentences))
        new = [s for s in sentences if s not in self.embedding_cache]  # repeats too, as there
        if new:
            self.embedding_cache.update(zip(new, self._encode(new)))
        return [self.embedding_cache[s] for s in sentences]

    def _encode(self, sentences: list[str]) -> Any:
        return self.teacher_model.encode(sentences, batch_size=self.batch_size, show_progress_bar=False)

    def __getitem__(self, index: Any) -> InputExample:
        # the index is not read: the next cached example, as there (the loader's shuffling draws nothing new)
        if not self.cache:
            if not self.datasets:
                raise InputError("ParallelSentencesDataset holds no sentences; call load_data(path) first.")
            self.generate_data()
        return self.cache.pop()

    def __len__(self) -> int:
        return self.num_sentences
