"""Label accuracy: how often a classification head on the model's embeddings (SoftmaxLoss) is right."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._backends.devices import batch_to_device
from .._errors import InputError
from .._st_loggers import ST_LABEL_ACCURACY
from .base import Evaluator


class LabelAccuracyEvaluator(Evaluator):
    """Accuracy of ``softmax_model``'s classifier on labelled pairs: the NLI accuracy of the
    Sentence-BERT paper, measured with the head trained by :class:`sbert.losses.SoftmaxLoss`.

    ``dataloader``: a ``torch.utils.data.DataLoader`` (or a list) of :class:`sbert.InputExample` with the
    texts the head takes (two for SoftmaxLoss) and an integer class ``label``; batches of its
    ``batch_size`` are tokenized by the model and classified, dropout off. Key ``accuracy`` (primary).

    Example::

        from torch.utils.data import DataLoader
        from sbert import InputExample, SentenceTransformer
        from sbert.evaluation import LabelAccuracyEvaluator
        from sbert.losses import SoftmaxLoss
        model = SentenceTransformer()
        loss = SoftmaxLoss(model, num_labels=3)
        dev = [InputExample(texts=["A man eats.", "Someone eats."], label=0), ...]
        evaluator = LabelAccuracyEvaluator(DataLoader(dev, batch_size=16), name="nli-dev", softmax_model=loss)
        evaluator(model)["nli-dev_accuracy"]
    """

    csv_stem = "accuracy_evaluation"
    main_metric = "accuracy"
    st_logger = ST_LABEL_ACCURACY
    st_heading = "Evaluation on the {name} dataset{when}:"

    def __init__(
        self, dataloader: Any, name: str = "", softmax_model: Any = None, write_csv: bool = True
    ) -> None:
        where = f"LabelAccuracyEvaluator({name})"
        if softmax_model is None:
            raise InputError(
                f"{where}: pass softmax_model=SoftmaxLoss(model, ...), the classifier to measure."
            )
        self.examples = list(getattr(dataloader, "dataset", dataloader))
        if not self.examples:
            raise InputError(f"{where}: the dataloader holds no examples.")
        if not all(hasattr(e, "texts") and hasattr(e, "label") for e in self.examples):
            raise InputError(
                f"{where}: the dataloader must hold InputExample(texts=[...], label=class_id) items."
            )
        widths = {len(e.texts) for e in self.examples}
        if len(widths) != 1:
            raise InputError(f"{where}: the examples hold different numbers of texts {sorted(widths)}.")
        self.batch_size = getattr(dataloader, "batch_size", None) or 32
        self.dataloader = dataloader
        self.name = name
        self.softmax_model = softmax_model
        self.write_csv = write_csv

    def csv_header_columns(self) -> list[str]:
        return ["accuracy"]

    def compute(self, model: Any) -> dict[str, float]:
        import torch

        modules = [m for m in (model, self.softmax_model) if isinstance(m, torch.nn.Module)]
        training = [m.training for m in modules]
        for module in modules:
            module.eval()
        correct = 0
        try:
            with torch.no_grad():
                for start in range(0, len(self.examples), self.batch_size):
                    batch = self.examples[start : start + self.batch_size]
                    logits = self.classify(model, [e.texts for e in batch])
                    predicted = logits.argmax(dim=1).cpu().numpy()
                    correct += int((predicted == np.asarray([e.label for e in batch])).sum())
        finally:
            for module, mode in zip(modules, training):
                module.train(mode)
        return {"accuracy": correct / len(self.examples)}

    def result_lines(self, results: dict[str, float]) -> list[str]:
        total = len(self.examples)
        return [f"Accuracy: {results['accuracy']:.4f} ({round(results['accuracy'] * total)}/{total})\n"]

    def classify(self, model: Any, texts: Sequence[Sequence[str]]) -> Any:
        """Class scores ``(B, labels)`` of a batch: each text column tokenized by ``model``."""
        device = getattr(model, "device", "cpu")
        features = [
            batch_to_device(model.tokenize([row[i] for row in texts]), device) for i in range(len(texts[0]))
        ]
        if hasattr(self.softmax_model, "logits"):  # sbert's SoftmaxLoss
            return self.softmax_model.logits(features)
        output = self.softmax_model(features, labels=None)  # a head that answers as sentence-transformers'
        return output[1] if isinstance(output, tuple) else output
