"""SentEval-style transfer classification: logistic regression on frozen embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import InputError, missing_extra
from .base import Evaluator, encode


class ClassificationEvaluator(Evaluator):
    """Accuracy of a scikit-learn logistic regression trained on the model's frozen embeddings.

    The transfer evaluation of the Sentence-BERT paper (Table 5, SentEval: MR, CR, SUBJ, MPQA, SST, TREC,
    MRPC): texts with class labels, embedded once; then either k-fold cross-validation (default 10 folds,
    stratified, shuffled with ``seed``) or, given ``test_texts``/``test_labels``, one fit on the training
    split and the accuracy on the test split. Keys ``accuracy`` (primary) and ``accuracy_std`` (across folds).

    Needs scikit-learn: ``pip install 'sbert[train]'``.

    Example::

        from sbert import ClassificationEvaluator, SentenceTransformer
        evaluator = ClassificationEvaluator(["great film", "awful plot", ...], ["pos", "neg", ...], folds=5)
        evaluator(SentenceTransformer())["accuracy"]
    """

    main_metric = "accuracy"

    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[Any],
        *,
        test_texts: Sequence[str] | None = None,
        test_labels: Sequence[Any] | None = None,
        folds: int = 10,
        seed: int = 0,
        c: float = 1.0,
        name: str = "",
        batch_size: int = 64,
    ) -> None:
        if len(texts) != len(labels) or not texts:
            raise InputError(
                f"ClassificationEvaluator({name}): need as many labels as texts, and some texts."
            )
        if (test_texts is None) != (test_labels is None):
            raise InputError("Pass both test_texts and test_labels, or neither.")
        if test_texts is not None and (len(test_texts) != len(test_labels) or not test_texts):
            raise InputError(
                f"ClassificationEvaluator({name}): the test split needs as many labels as texts."
            )
        self.texts, self.labels = list(texts), [str(x) for x in labels]
        self.test_texts = None if test_texts is None else list(test_texts)
        self.test_labels = None if test_labels is None else [str(x) for x in test_labels]
        if len(set(self.labels)) < 2:
            raise InputError(f"ClassificationEvaluator({name}): the labels need at least two classes.")
        if self.test_texts is None:
            smallest = min(self.labels.count(label) for label in set(self.labels))
            if folds < 2 or smallest < folds:
                raise InputError(
                    f"ClassificationEvaluator({name}): {folds}-fold cross-validation needs every class at "
                    f"least {folds} times (the rarest has {smallest}); lower folds or pass a test split."
                )
        self.folds, self.seed, self.c, self.name, self.batch_size = folds, seed, c, name, batch_size

    def compute(self, model: Any) -> dict[str, float]:
        try:
            from sklearn.linear_model import LogisticRegression
            from sklearn.model_selection import StratifiedKFold
        except ImportError:
            raise missing_extra("scikit-learn", "train") from None

        def fit_score(x_train, y_train, x_test, y_test) -> float:
            classifier = LogisticRegression(C=self.c, max_iter=2000)
            classifier.fit(x_train, y_train)
            return float(np.mean(classifier.predict(x_test) == y_test))

        x, y = encode(model, self.texts, self.batch_size), np.asarray(self.labels)
        if self.test_texts is not None:
            accuracy = fit_score(
                x, y, encode(model, self.test_texts, self.batch_size), np.asarray(self.test_labels)
            )
            return {"accuracy": accuracy}
        splitter = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=self.seed)
        scores = [fit_score(x[tr], y[tr], x[te], y[te]) for tr, te in splitter.split(x, y)]
        return {"accuracy": float(np.mean(scores)), "accuracy_std": float(np.std(scores))}
