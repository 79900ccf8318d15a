"""The ``sbert train`` and ``sbert eval`` commands (TRAIN, EVAL): argument parsing only.

The training recipes (a YAML file → datasets, losses, evaluator, arguments) live in
``sbert/_training/recipes.py``; the metrics in ``sbert/_evaluation``; files are read by
:mod:`sbert._io.files`. Each eval command prints one ``name=value`` line per metric and its headline metric
last (``spearman=82.03``), so scripts can take the last line. Stays light (no torch) until a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._errors import InputError, missing_extra
from .._io.atomic import check_output
from .._io.files import read_rows
from .common import (
    EXIT_OK,
    Command,
    add_model_arguments,
    at_least_two,
    load_model,
    metric_text,
    positive_int,
)
from .mine import add_rerank_arguments, run_rerank

# ---------------------------------------------------------------------------------------------- eval

EVAL_DESCRIPTION = """\
Evaluate a model on a file. Every task prints its metrics as name=value lines (x100, 2 decimals), its
headline metric last:
  sts FILE        columns sentence1, sentence2, score (any scale)     last line: spearman=<x100>
  retrieval       --corpus (id, text), --queries (id, text), --qrels (query-id, corpus-id, score), BEIR-style
                                                                      last line: ndcg@10=<x100>
  classify FILE   columns text, label; logistic regression on the frozen embeddings, 10-fold
                  cross-validation or --test T.tsv                     last line: accuracy=<x100>
  rerank          --corpus, --queries, --qrels as retrieval; the --retriever's top-k reranked by the
                  --reranker (a cross-encoder): NDCG@10, MRR@10, MAP side by side   last line: ndcg@10=<x100>
Files are .tsv (unquoted), .csv, .jsonl or .parquet with a header naming the columns."""

EVAL_EXAMPLES = """\
  sbert eval sts ../shared/data/stsb/test.tsv --model ./my-model --plot sts.png
  sbert eval retrieval --corpus corpus.tsv --queries queries.tsv --qrels qrels.tsv
  sbert eval classify reviews.tsv --test reviews-test.tsv
  sbert eval rerank --corpus corpus.tsv --queries queries.tsv --qrels qrels.tsv --reranker ./my-reranker
"""


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    tasks = parser.add_subparsers(dest="eval_task", metavar="TASK", required=True)
    sts = tasks.add_parser("sts", help="STS: Spearman/Pearson of similarity vs gold score")
    sts.add_argument("file", metavar="FILE", help="columns sentence1, sentence2, score")
    sts.add_argument(
        "--plot",
        metavar="FILE",
        help="write a scatter plot of predicted similarity vs gold score; the format follows the extension "
        "(.png, .pdf, .svg, ...; the folder must exist)",
    )
    retrieval = tasks.add_parser(
        "retrieval", help="information retrieval: NDCG@10, MRR@10, MAP@100, Recall@k"
    )
    retrieval.add_argument(
        "--corpus", required=True, metavar="FILE", help="columns id (or _id), text (and title)"
    )
    retrieval.add_argument("--queries", required=True, metavar="FILE", help="columns id (or _id), text")
    retrieval.add_argument(
        "--qrels", required=True, metavar="FILE", help="columns query-id, corpus-id, score"
    )
    classify = tasks.add_parser("classify", help="transfer classification accuracy (logistic regression)")
    classify.add_argument("file", metavar="FILE", help="columns text, label")
    classify.add_argument("--test", metavar="FILE", help="a test split (default: k-fold cross-validation)")
    classify.add_argument(
        "--folds", type=at_least_two, default=None, help="folds of the cross-validation, >= 2 (default 10)"
    )
    rerank = tasks.add_parser("rerank", help="a bi-encoder's top-k reranked by a cross-encoder: NDCG@10")
    add_rerank_arguments(rerank)
    for sub in (sts, retrieval, classify, rerank):
        sub.add_argument("--json", metavar="OUT", help="also write all metrics to this JSON file")
        sub.add_argument(
            "--batch-size", type=int, default=64, metavar="N", help="texts per batch (default 64)"
        )
        if sub is not rerank:  # rerank names its two models itself
            add_model_arguments(sub)


def run_eval(args: argparse.Namespace) -> int:
    _check_eval_outputs(args)  # a missing extra or a bad output path fails now, not after the model ran
    if args.eval_task == "rerank":
        corpus = _id_texts(args.corpus)
        queries = _id_texts(args.queries)
        return run_rerank(args, queries, corpus, _qrels(args.qrels, corpus, queries))
    evaluator, headline = _evaluator(args)
    model = load_model(args)
    results = evaluator(model)
    if args.eval_task == "retrieval":  # printed without the similarity function's name, as ever
        prefix = f"{model.similarity_fn_name}_"
        results = {name.removeprefix(prefix): value for name, value in results.items()}
        headline = (headline[0], headline[0])
    if args.json:
        from .._evaluation.base import record_results

        record_results(model, results, args.json)
    for name, value in results.items():
        if name != headline[1]:
            print(f"{name}={metric_text(name, value)}")
    if args.eval_task == "sts" and args.plot:
        from .._io.plots import sts_scatter

        predicted = evaluator.similarities(model)[model.similarity_fn_name]
        sts_scatter(predicted, evaluator.scores, results[evaluator.main_metric], args.plot)
    print(f"{headline[0]}={metric_text(headline[1], results[headline[1]])}")
    return EXIT_OK


def _check_eval_outputs(args: argparse.Namespace) -> None:
    """What the task needs installed, and the folders it writes into, checked before any work."""
    inputs = [getattr(args, name, None) for name in ("file", "test", "corpus", "queries", "qrels")]
    if args.eval_task == "sts" and args.plot:
        from .._io.plots import check_plot_path

        check_plot_path(args.plot)
        check_output(args.plot, *inputs)
    if args.eval_task == "classify":
        try:
            import sklearn  # noqa: F401  (the classifier of the evaluator)
        except ImportError:
            raise missing_extra("scikit-learn", "train") from None
    if args.json:
        check_output(args.json, *inputs)


def _evaluator(args: argparse.Namespace) -> tuple[Any, tuple[str, str]]:
    """The evaluator of the task, and its headline metric: (printed name, key in the results)."""
    from .. import _evaluation as evaluation
    from .._training.data import load_dataset

    if args.eval_task == "sts":
        data = load_dataset(args.file, columns=["sentence1", "sentence2"], label="score")
        if len(set(data.labels)) < 2:  # a correlation with constant scores is undefined (nan)
            raise InputError(
                f"{args.file}: every pair has the same score, so no correlation can be measured; evaluate "
                "on pairs with different scores."
            )
        evaluator = evaluation.EmbeddingSimilarityEvaluator(
            data.columns["sentence1"], data.columns["sentence2"], data.labels, batch_size=args.batch_size
        )
        return evaluator, ("spearman", "spearman_cosine")
    if args.eval_task == "retrieval":
        queries, corpus = _id_texts(args.queries), _id_texts(args.corpus)
        qrels = _qrels(args.qrels, corpus, queries)
        evaluator = evaluation.InformationRetrievalEvaluator(
            queries, corpus, qrels, batch_size=args.batch_size, show_progress_bar=None
        )  # the corpus may be large: progress on long work, in a terminal
        return evaluator, ("ndcg@10", "")  # the key names the model's similarity function
    train = load_dataset(args.file, columns=["text"], label="label", label_names=_classes(args.file))
    test = None
    if args.test:
        if args.folds is not None:
            raise InputError("--folds is for cross-validation without --test: drop one of them.")
        test = load_dataset(args.test, columns=["text"], label="label", label_names=train.label_names)
    evaluator = evaluation.ClassificationEvaluator(
        train.columns["text"],
        train.labels,
        test_texts=test.columns["text"] if test else None,
        test_labels=test.labels if test else None,
        batch_size=args.batch_size,
        **({} if args.folds is None else {"folds": args.folds}),  # else the evaluator's default
    )
    return evaluator, ("accuracy", "accuracy")


def _rows(path: str) -> list[dict[str, Any]]:
    return [row for _, row in read_rows(Path(path))]


def _classes(path: str) -> list[str]:
    """Every distinct label of a classification file, as text (numbers too: they name classes here)."""
    return sorted({str(row["label"]) for row in _rows(path) if row.get("label") not in (None, "")})


def _pick(path: str, row: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        if name in row:
            return name
    raise InputError(
        f"{path}: needs a column named {' or '.join(map(repr, names))} (columns: {', '.join(row)})."
    )


def _id_texts(path: str) -> dict[str, str]:
    """``{id: text}`` of a corpus or queries file (a title joined before its text); an id given twice is
    refused: the evaluators key texts by id, so one would silently replace the other."""
    rows = list(read_rows(Path(path)))
    if not rows:
        raise InputError(f"{path}: no rows.")
    key, text = _pick(path, rows[0][1], ("id", "_id")), _pick(path, rows[0][1], ("text",))
    title = "title" if "title" in rows[0][1] else None
    out, first_line = {}, {}
    for line, row in rows:
        item, body = str(row[key]), str(row[text] or "")
        if item in first_line:
            raise InputError(
                f"{path}:{line}: id {item!r} is also on line {first_line[item]}; ids must be unique: "
                "remove or rename one."
            )
        first_line[item] = line
        out[item] = f"{row[title]} {body}".strip() if title and row.get(title) else body
    return out


def _qrels(path: str, corpus: dict[str, str], queries: dict[str, str]) -> dict[str, dict[str, float]]:
    """The judgements of a qrels file; one naming a document the corpus lacks is refused (the evaluators
    count such a document as relevant and never found, as sentence-transformers does: here, with both files
    given together, it is more likely the wrong file); queries the queries file lacks are left out with a
    warning (qrels often judge more queries than one split's file holds)."""
    rows = list(read_rows(Path(path)))
    if not rows:
        raise InputError(f"{path}: no rows.")
    q = _pick(path, rows[0][1], ("query-id", "qid", "query_id"))
    d = _pick(path, rows[0][1], ("corpus-id", "docid", "doc_id", "corpus_id"))
    s = "score" if "score" in rows[0][1] else None
    out: dict[str, dict[str, float]] = {}
    for line, row in rows:
        try:
            score = float(row[s]) if s else 1.0
        except (TypeError, ValueError):
            raise InputError(f"{path}:{line}: column 'score': {row[s]!r} is not a number.") from None
        if score > 0 and str(row[d]) not in corpus:
            raise InputError(f"{path}:{line}: document {row[d]!r} is not in the corpus.")
        out.setdefault(str(row[q]), {})[str(row[d])] = score
    unknown = [query for query in out if query not in queries]
    if unknown and len(unknown) < len(out):  # none known: the evaluator's "no query has a relevant document"
        print(
            f"sbert: warning: {path}: {len(unknown)} of {len(out)} judged queries are not in the queries "
            f"file (e.g. {unknown[0]!r}); they are left out.",
            file=sys.stderr,
        )
    return out


EVAL = Command(
    "eval",
    "evaluate a model: STS Spearman, retrieval NDCG@10, classification accuracy, reranking NDCG@10",
    EVAL_DESCRIPTION,
    EVAL_EXAMPLES,
    add_eval_arguments,
    run_eval,
)


# ---------------------------------------------------------------------------------------------- train

TRAIN_DESCRIPTION = """\
Fine-tune a model from a YAML recipe. Keys:
  recipe       nli | sts | pairs | distill: the loss and data defaults below (optional)
                 nli      SoftmaxLoss on (sentence1, sentence2, label) with string labels
                 sts      CosineSimilarityLoss on (sentence1, sentence2, score), scores 0..5 scaled to 0..1
                 pairs    MultipleNegativesRankingLoss on (anchor, positive[, negatives...]), no label
                 distill  MSELoss: the student learns the teacher's embedding of the first column
  model        a model folder or name (default: the embedded all-MiniLM-L6-v2), or
               {transformer: PATH, pooling: mean|cls|max, max_seq_length: N} to build one
  teacher      (distill) the teacher model
  train        a file, or a list of {file, columns, label, score_range, loss, loss_options, limit}
  eval         for best-checkpoint selection: {sts: FILE} (STS Spearman on sentence1, sentence2, score),
               {retrieval: {corpus: F, queries: F, qrels: F}} (NDCG@10) or {beir: [FOLDER, ...], split: dev,
               max_queries: N, max_corpus: N} (mean NDCG@10 over local BEIR folders)
  mine         (pairs, cross-encoder) {corpus, num_negatives, range_min, range_max, relative_margin,
               retriever, ...}: hard negatives for (query, positive) rows first (pairs: the model mines)
  arguments    TrainingArguments: epochs, batch_size, learning_rate, warmup_ratio, seed, precision, ...
  output_dir   where checkpoints, the log, the curve and final/ go (required)
Cross-encoders (rerankers, pair classifiers): recipe cross-encoder in the YAML (keys num_labels, max_length,
mine: {retriever, corpus, num_negatives, range_min, range_max, relative_margin, ...}; a train entry's loss
is one of bce, mse, ce, mnrl, lambda), or without a YAML file: sbert train cross-encoder --train FILE ...
  bce     BinaryCrossEntropyLoss on (query, document, label 0..1)          (default for one label)
  mse     MSELoss on (query, document, score), e.g. a teacher's scores
  ce      CrossEntropyLoss on (sentence1, sentence2, class)                 (default for --num-labels > 1)
  mnrl    MultipleNegativesRankingLoss on (query, positive[, negatives...]), no label
  lambda  LambdaLoss on (query, [documents], [labels]) (.jsonl), or (query, document, label) rows grouped
          by query
--mine-negatives N first adds N hard negatives per (query, positive) pair, found by --retriever (a
bi-encoder) among --corpus and the positives (bce: labeled pairs, mnrl: n-tuples, lambda: lists).
Relative paths in the recipe (train and eval files, model, teacher, output_dir) are relative to the folder
of the YAML file, not to the current folder; --output-dir is relative to the current folder.
An output_dir that already holds a run is refused: --overwrite deletes that run's files first, --resume
continues it from its last checkpoint. Under torchrun, trains data-parallel."""

TRAIN_EXAMPLES = """\
  sbert train stsb.yaml
  sbert train nli.yaml --resume
  sbert train stsb.yaml --output-dir runs/try2 --overwrite
  torchrun --nproc_per_node 2 -m sbert train pairs.yaml
  sbert train cross-encoder --train stsb/train.tsv --score-range 0 5 --loss bce --output runs/ce
  sbert train cross-encoder --train pairs.tsv --corpus corpus.tsv --mine-negatives 5 --loss bce --output r
"""

CROSS_ENCODER = "cross-encoder"  # the CONFIG word that trains a cross-encoder from command-line options
# option -> default of the cross-encoder options (refused with a YAML recipe, whose keys say the same)
_CROSS_OPTIONS = {
    "model": None,
    "train_file": None,
    "loss": None,
    "num_labels": None,
    "max_length": None,
    "columns": None,
    "label": None,
    "score_range": None,
    "epochs": 1,
    "batch_size": 16,
    "lr": 2e-5,
    "warmup_ratio": 0.1,
    "seed": 0,
    "max_steps": None,
    "eval_sts": None,
    "mine_negatives": None,
    "retriever": None,
    "corpus": None,
}


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config", metavar="CONFIG.yaml", help=f"the training recipe, or {CROSS_ENCODER} and the options below"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in output_dir"
    )
    parser.add_argument(
        "--output-dir", metavar="DIR", help="the output_dir to use (relative to the current folder)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in output_dir (its checkpoints, log, curve, best/ and final/)",
    )
    _add_cross_arguments(parser.add_argument_group(f"{CROSS_ENCODER} (instead of a YAML recipe)"))


def _add_cross_arguments(group: Any) -> None:
    group.add_argument("--model", metavar="M", help="a cross-encoder or encoder folder (default: MiniLM's)")
    group.add_argument(
        "--train", dest="train_file", metavar="FILE", help="the training data (.tsv/.csv/.jsonl)"
    )
    group.add_argument("--loss", metavar="LOSS", help="bce | mse | ce | mnrl | lambda (default bce, ce)")
    group.add_argument("--num-labels", type=positive_int, metavar="N", help="outputs of a new head (1)")
    group.add_argument("--max-length", type=positive_int, metavar="N", help="truncate pairs to N tokens")
    group.add_argument("--columns", nargs="+", metavar="NAME", help="the text columns (default: all)")
    group.add_argument("--label", metavar="NAME", help="the label column (default: label or score)")
    group.add_argument("--score-range", nargs=2, type=float, metavar=("LOW", "HIGH"), help="scale to 0..1")
    group.add_argument("--epochs", type=positive_int, default=1, metavar="N", help="default 1")
    group.add_argument("--batch-size", type=positive_int, default=16, metavar="N", help="default 16")
    group.add_argument("--lr", type=float, default=2e-5, metavar="LR", help="peak learning rate (2e-5)")
    group.add_argument("--warmup-ratio", type=float, default=0.1, metavar="R", help="default 0.1")
    group.add_argument("--seed", type=int, default=0, metavar="N", help="default 0")
    group.add_argument("--max-steps", type=positive_int, metavar="N", help="stop after N steps")
    group.add_argument("--eval-sts", metavar="FILE", help="Spearman on (sentence1, sentence2, score) pairs")
    group.add_argument(
        "--mine-negatives", type=positive_int, metavar="N", help="add N hard negatives per pair first"
    )
    group.add_argument("--retriever", metavar="M", help="the bi-encoder that mines (default: MiniLM)")
    group.add_argument("--corpus", metavar="FILE", help="candidate texts for mining (lines or 'text')")
    group.add_argument("--output", dest="output_dir", metavar="DIR", help="the same as --output-dir")


def cross_encoder_config(args: argparse.Namespace) -> dict[str, Any]:
    """The cross-encoder recipe that the command-line options describe (paths as given, from here)."""
    if not args.train_file or not args.output_dir:
        raise InputError(f"sbert train {CROSS_ENCODER} needs --train FILE and --output DIR.")
    spec = {"file": args.train_file}
    for key in ("loss", "columns", "label", "score_range"):
        if getattr(args, key) is not None:
            spec[key] = getattr(args, key)
    config: dict[str, Any] = {"recipe": CROSS_ENCODER, "train": spec, "output_dir": args.output_dir}
    for key in ("model", "num_labels", "max_length"):  # paths stay relative: the base is the current folder
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    if args.eval_sts:
        config["eval"] = {"sts": args.eval_sts}
    if args.mine_negatives:
        mine: dict[str, Any] = {"num_negatives": args.mine_negatives}
        if args.retriever:
            mine["retriever"] = args.retriever
        if args.corpus:
            mine["corpus"] = args.corpus
        config["mine"] = mine
    elif args.retriever or args.corpus:
        raise InputError("--retriever and --corpus mine hard negatives: add --mine-negatives N.")
    config["arguments"] = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "warmup_ratio": args.warmup_ratio,
        "seed": args.seed,
        "max_steps": args.max_steps,
    }
    return config


def _check_no_cross_options(args: argparse.Namespace) -> None:
    given = [k for k, default in _CROSS_OPTIONS.items() if getattr(args, k) != default]
    if given:
        names = ", ".join("--" + ("train" if k == "train_file" else k.replace("_", "-")) for k in given)
        raise InputError(
            f"{names}: options of `sbert train {CROSS_ENCODER}`; a YAML recipe sets these as its keys."
        )


def run_train(args: argparse.Namespace) -> int:
    from .._training.recipes import load_config, run_config

    if args.config == CROSS_ENCODER:
        config = cross_encoder_config(args)
    else:
        _check_no_cross_options(args)
        config = load_config(args.config)
    if args.resume and args.overwrite:
        raise InputError("--resume continues the run in output_dir, --overwrite replaces it: pass one.")
    if args.output_dir:
        config["output_dir"] = str(Path(args.output_dir).absolute())  # a command-line path: from here
    if args.resume:
        config.setdefault("arguments", {})["resume"] = True
    base = Path(".") if args.config == CROSS_ENCODER else Path(args.config).parent
    out = run_config(config, base=base, overwrite=args.overwrite)
    for key, value in out.eval_results.items():
        print(f"{key}={metric_text(key, value)}")
    print(f"steps={out.global_step}")
    print(f"model={out.output_dir / 'final'}")
    return EXIT_OK


TRAIN = Command(
    "train",
    "fine-tune a model from a YAML recipe (NLI softmax, STS regression, pairs, distillation, cross-encoder)",
    TRAIN_DESCRIPTION,
    TRAIN_EXAMPLES,
    add_train_arguments,
    run_train,
)
