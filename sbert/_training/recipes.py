"""Training recipes: a YAML config → model, datasets, losses, evaluator and TrainingArguments → a run.

The four recipes of the Sentence-BERT papers set the defaults; any key of the config overrides them:

    nli      SoftmaxLoss on (sentence1, sentence2, label), string labels mapped to ids
    sts      CosineSimilarityLoss on (sentence1, sentence2, score), scores in [0, 5] scaled to [0, 1]
    pairs    MultipleNegativesRankingLoss on (anchor, positive[, negatives]), no label; ``mine`` adds hard
             negatives (found by the model being trained, or ``mine.retriever``) to (query, positive) pairs
    distill  MSELoss: the student regresses onto a teacher's embeddings of the first column

and one recipe trains a CrossEncoder (a reranker or pair classifier) instead:

    cross-encoder  a loss of sbert.cross_encoder.losses by name or short name (bce, mse, ce, mnrl, lambda;
                   default bce for one label, ce for more) on (query, document[, ...]) rows; ``mine`` adds
                   hard negatives found by a bi-encoder to (query, positive) pairs first

``eval`` picks the best checkpoint: ``{sts: FILE}``, ``{retrieval: {corpus, queries, qrels}}`` (NDCG@10 on one
set of files) or ``{beir: [FOLDER, ...], split, max_queries, max_corpus}`` (mean NDCG@10 over BEIR folders).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import InputError, missing_extra

RECIPES: dict[str, dict[str, Any]] = {
    "nli": {"loss": "SoftmaxLoss", "columns": ["sentence1", "sentence2"], "label": "label"},
    "sts": {
        "loss": "CosineSimilarityLoss",
        "columns": ["sentence1", "sentence2"],
        "label": "score",
        "score_range": [0, 5],
    },
    "pairs": {"loss": "MultipleNegativesRankingLoss", "label": ""},
    "distill": {"loss": "MSELoss", "label": ""},
    "cross-encoder": {},
}
CROSS_ENCODER = "cross-encoder"
TOP_KEYS = {
    "recipe",
    "model",
    "teacher",
    "train",
    "eval",
    "arguments",
    "output_dir",
    "matryoshka_dims",
    "mine",
}
CROSS_KEYS = {"num_labels", "max_length"}  # the cross-encoder recipe's own keys
MINING_RECIPES = ("pairs", CROSS_ENCODER)
MINE_KEYS = {
    "retriever",
    "corpus",
    "num_negatives",
    "range_min",
    "range_max",
    "max_score",
    "min_score",
    "absolute_margin",
    "relative_margin",
    "sampling_strategy",
    "use_faiss",
    "seed",
}
# the mined rows each cross-encoder loss trains on (mining makes 1/0 relevance labels or lists)
MINED_FORMATS = {
    "BinaryCrossEntropyLoss": "labeled-pair",
    "MultipleNegativesRankingLoss": "n-tuple",
    "CachedMultipleNegativesRankingLoss": "n-tuple",
    **dict.fromkeys(
        ("LambdaLoss", "RankNetLoss", "ListNetLoss", "ListMLELoss", "PListMLELoss", "ADRMSELoss"),
        "labeled-list",
    ),
}
EVAL_FORMS = (
    "{sts: FILE}",
    "{retrieval: {corpus: FILE, queries: FILE, qrels: FILE}}",
    "{beir: [FOLDER, ...], split: dev, max_queries: N, max_corpus: N}",
)
RETRIEVAL_FILES = ("corpus", "queries", "qrels")
BEIR_OPTIONS = ("split", "max_queries", "max_corpus")
DATA_KEYS = {
    "file",
    "columns",
    "label",
    "score_range",
    "loss",
    "loss_options",
    "limit",
    "name",
    "label_names",
}


def _yaml_loader(yaml: Any) -> type:
    """PyYAML's safe loader, reading ``2e-5`` as a float as YAML 1.2 does (YAML 1.1 wants ``2.0e-5`` and
    would hand the learning rate over as a string)."""

    class Loader(yaml.SafeLoader):
        pass

    number = r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(number), list("-+0123456789"))
    return Loader


def load_config(path: str | Path) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        raise missing_extra("pyyaml", "train") from None
    try:
        config = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_yaml_loader(yaml))
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: expected a mapping of keys (recipe, model, train, output_dir, ...).")
    return config


def run_config(config: dict[str, Any], *, base: Path = Path("."), overwrite: bool = False) -> Any:
    """Check the whole config, load everything, then train. Returns the Trainer's ``TrainOutput``.

    Relative paths in ``config`` (data, models, output_dir) are relative to ``base``, the YAML file's
    folder. An output_dir holding an earlier run is refused unless ``overwrite`` (its files are then
    deleted just before training starts) or ``arguments.resume`` (the run continues).
    """
    from .trainer import remove_previous_run

    recipe = _check_keys(config)
    args = _arguments(config, base)
    replace = _check_output_dir(Path(args.output_dir), resume=bool(args.resume), overwrite=overwrite)
    build = _cross_encoder_trainer if recipe == CROSS_ENCODER else _bi_encoder_trainer
    trainer = build(config, recipe, args, base)
    if replace:
        remove_previous_run(Path(args.output_dir))
    return trainer.train()


def _bi_encoder_trainer(config: dict[str, Any], recipe: str | None, args: Any, base: Path) -> Any:
    """The Trainer of a SentenceTransformer recipe, everything loaded and checked."""
    import torch

    from .._model import SentenceTransformer
    from .trainer import Trainer

    specs = _train_specs(config, recipe)
    # all data (and the eval files) is read and checked before the model loads
    mining = _mining(config.get("mine"), base)
    datasets = _load_datasets(specs, base)
    evaluator = _evaluator(config.get("eval"), base)
    model = _model(config.get("model"), base)
    if mining:  # the model being trained mines, unless a retriever is named
        retriever = model if mining["retriever"] is None else SentenceTransformer(mining["retriever"])
        datasets = _mine(datasets, mining, retriever, lambda spec: "n-tuple")
    torch.manual_seed(args.seed)  # new loss weights (SoftmaxLoss's classifier) follow the seed
    teacher = SentenceTransformer(_model_name(config["teacher"], base)) if config.get("teacher") else None
    losses = {
        name: _loss(model, dataset, spec, teacher, config.get("matryoshka_dims"))
        for name, (dataset, spec) in datasets.items()
    }
    return Trainer(model, {n: d for n, (d, _) in datasets.items()}, losses, args=args, evaluator=evaluator)


def config_losses() -> dict[str, type]:
    """The loss classes a config can name, by name: every registered loss but those wrapping another
    (MatryoshkaLoss comes from ``matryoshka_dims``)."""
    from .. import _losses

    classes = {name: getattr(_losses, name) for name in _losses.LOSSES}
    return {name: cls for name, cls in classes.items() if not cls.wraps_loss}


def _check_keys(config: dict[str, Any]) -> str | None:
    """The recipe named by ``config`` (or None), after checking its top-level keys."""
    unknown = sorted(set(config) - TOP_KEYS - CROSS_KEYS)
    if unknown:
        raise InputError(f"config: unknown keys {unknown}; known: {sorted(TOP_KEYS | CROSS_KEYS)}.")
    recipe = config.get("recipe")
    if recipe is not None and recipe not in RECIPES:
        raise InputError(f"config: unknown recipe {recipe!r}; choose one of {sorted(RECIPES)}.")
    if recipe != CROSS_ENCODER and set(config) & CROSS_KEYS:
        raise InputError(f"config: {sorted(set(config) & CROSS_KEYS)} apply to recipe: {CROSS_ENCODER} only.")
    if config.get("mine") and recipe not in MINING_RECIPES:
        raise InputError(
            "config: mine turns (query, positive) pairs into rows with hard negatives: it applies to "
            f"recipe: {' or '.join(MINING_RECIPES)}; set one of them."
        )
    if recipe == CROSS_ENCODER and set(config) & {"teacher", "matryoshka_dims"}:
        raise InputError(
            "config: teacher and matryoshka_dims apply to bi-encoder recipes; to distil a cross-encoder, "
            "put the teacher's scores in a label column and use loss mse."
        )
    if "output_dir" not in config:
        raise InputError("config: output_dir is required.")
    return recipe


def _check_output_dir(output_dir: Path, *, resume: bool, overwrite: bool) -> bool:
    """Whether an earlier run in ``output_dir`` is to be deleted before training; refuses to mix runs.

    Under torchrun only the first process looks (the others start later and would see its new files)."""
    from .distributed import launch_rank
    from .trainer import previous_run

    if resume or launch_rank() != 0:
        return False
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"output_dir {output_dir} is a file; choose a folder.")
    ours, others = previous_run(output_dir)
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise InputError(
            f"output_dir {output_dir} holds files that are not from a training run ({shown}); "
            "choose an empty or new folder."
        )
    if ours and not overwrite:
        raise InputError(
            f"output_dir {output_dir} already holds a training run; pass --overwrite to replace it, "
            "--resume to continue it, or choose another folder."
        )
    return bool(ours)


def _arguments(config: dict[str, Any], base: Path) -> Any:
    from .arguments import TrainingArguments

    output_dir = str(_path(base, config["output_dir"]))
    return TrainingArguments.from_dict({"output_dir": output_dir, **(config.get("arguments") or {})})


def _train_specs(config: dict[str, Any], recipe: str | None) -> list[dict[str, Any]]:
    """One checked spec per training dataset: its entry in the config over the recipe's defaults."""
    entries = config.get("train")
    if entries is None:
        raise InputError("config: train (a file or a list of {file: ...}) is required.")
    entries = [entries] if isinstance(entries, (str, dict)) else list(entries)
    names = tuple(config_losses())
    specs = []
    for i, entry in enumerate(entries):
        entry = {"file": entry} if isinstance(entry, str) else dict(entry)
        bad = sorted(set(entry) - DATA_KEYS)
        if bad:
            raise InputError(f"config: train[{i}]: unknown keys {bad}; known: {sorted(DATA_KEYS)}.")
        spec = {**RECIPES.get(recipe or "", {}), **entry}
        if "file" not in spec:
            raise InputError(f"config: train[{i}] needs a file.")
        if spec.get("loss") not in names:
            raise InputError(
                f"config: train[{i}]: loss {spec.get('loss')!r} is not one of {names} (or set a recipe)."
            )
        specs.append(spec)
    if any(s["loss"] == "MSELoss" for s in specs) and not config.get("teacher"):
        raise InputError("config: MSELoss (distill) needs a teacher model.")
    return specs


def _load_datasets(specs: list[dict[str, Any]], base: Path) -> dict[str, tuple[Any, dict[str, Any]]]:
    """name -> (dataset, spec); a name met twice gets the dataset's position as a suffix."""
    from .data import load_dataset

    datasets = {}
    for spec in specs:
        dataset = load_dataset(
            _path(base, spec["file"]),
            columns=spec.get("columns"),
            label=spec.get("label"),
            label_names=spec.get("label_names"),
            score_range=tuple(spec["score_range"]) if spec.get("score_range") else None,
            name=spec.get("name"),
            limit=spec.get("limit"),
        )
        if dataset.name in datasets:
            dataset.name = f"{dataset.name}_{len(datasets)}"
        datasets[dataset.name] = (dataset, spec)
    return datasets


def _loss(model: Any, dataset: Any, spec: dict[str, Any], teacher: Any, matryoshka_dims: Any) -> Any:
    """The loss ``spec`` names, built for ``dataset`` (a distillation set gets the teacher's labels)."""
    options = dict(spec.get("loss_options") or {})
    if spec["loss"] == "SoftmaxLoss":
        options.setdefault(
            "num_labels",
            len(dataset.label_names) if dataset.label_names else int(dataset.labels.max()) + 1,
        )
    if spec["loss"] == "MSELoss":
        first = dataset.columns[dataset.column_names[0]]
        dataset.labels = teacher.encode(first, show_progress_bar=False)
    if spec["loss"] in ("GISTEmbedLoss", "CachedGISTEmbedLoss"):
        if teacher is None:
            raise InputError(f"config: {spec['loss']} needs a guide model: set teacher: NAME (the guide).")
        options.setdefault("guide", teacher)
    loss = config_losses()[spec["loss"]](model, **options)
    if matryoshka_dims:
        from .._losses.matryoshka import MatryoshkaLoss

        loss = MatryoshkaLoss(model, loss, matryoshka_dims)
    return loss


def _path(base: Path, value: Any) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path


def _model_name(value: Any, base: Path) -> str | None:
    if value is None:
        return None
    local = _path(base, value)
    return str(local) if local.exists() else str(value)


def _model(value: Any, base: Path) -> Any:
    from .._model import SentenceTransformer

    if value is None or isinstance(value, str):
        return SentenceTransformer(_model_name(value, base), backend="torch")
    if not isinstance(value, dict) or "transformer" not in value:
        raise InputError(
            "config: model must be a name/folder or {transformer: PATH, pooling: MODE, max_seq_length: N}."
        )
    from .._format.hub import resolve_model_path
    from .._modules.pooling import Pooling
    from .._modules.transformer import Transformer

    folder = resolve_model_path(_model_name(value["transformer"], base))
    encoder = Transformer(folder, max_seq_length=value.get("max_seq_length"))
    pooling = Pooling(encoder.get_embedding_dimension(), mode=value.get("pooling", "mean"))
    return SentenceTransformer(modules=[encoder, pooling])


def _evaluator(value: Any, base: Path, *, cross_encoder: bool = False) -> Any:
    """The ``eval`` evaluator (one of ``EVAL_FORMS``): embedding similarity or a cross-encoder's pair scores
    on an STS file, retrieval on a corpus/queries/qrels triple, or on BEIR folders (NanoBEIR-style)."""
    if not value:
        return None
    kind = _eval_kind(value, cross_encoder)
    if kind == "retrieval":
        return _retrieval_evaluator(value["retrieval"], base)
    if kind == "beir":
        return _beir_evaluator(value, base)
    from .._evaluation.reranking import CrossEncoderCorrelationEvaluator
    from .._evaluation.similarity import EmbeddingSimilarityEvaluator
    from .data import load_dataset

    data = load_dataset(
        _eval_file(base, "eval.sts", value["sts"]), columns=["sentence1", "sentence2"], label="score"
    )
    if cross_encoder:
        pairs = list(zip(data.columns["sentence1"], data.columns["sentence2"]))
        return CrossEncoderCorrelationEvaluator(pairs, data.labels, name=f"sts-{data.name}")
    return EmbeddingSimilarityEvaluator(
        data.columns["sentence1"], data.columns["sentence2"], data.labels, name=f"sts-{data.name}"
    )


def _eval_kind(value: Any, cross_encoder: bool) -> str:
    """Which of ``EVAL_FORMS`` the ``eval`` mapping is, after checking its keys."""
    forms = " or ".join(EVAL_FORMS[:1] if cross_encoder else EVAL_FORMS)
    kinds = [k for k in ("sts", "retrieval", "beir") if isinstance(value, dict) and k in value]
    if len(kinds) != 1:
        raise InputError(f"config: eval must be {forms}.")
    allowed = {kinds[0], *(BEIR_OPTIONS if kinds[0] == "beir" else ())}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InputError(f"config: eval: unknown keys {unknown} for eval.{kinds[0]}; eval must be {forms}.")
    if cross_encoder and kinds[0] != "sts":
        raise InputError(
            f"config: eval.{kinds[0]} ranks with a bi-encoder; a cross-encoder recipe's eval is {forms} "
            "(score a reranker's top-k with sbert eval rerank)."
        )
    return kinds[0]


def _eval_file(base: Path, key: str, value: Any) -> Path:
    path = _path(base, value) if isinstance(value, (str, Path)) else None
    if path is None or not path.is_file():
        raise InputError(
            f"config: {key}: {value!r} is not a file; give the path of an existing file (relative to the "
            "YAML file's folder)."
        )
    return path


def _retrieval_evaluator(files: Any, base: Path) -> Any:
    """NDCG@10 & co. of the model's ranking of a corpus file for a queries file, judged by a qrels file."""
    from .._evaluation.nanobeir import read_id_texts, read_qrels
    from .._evaluation.retrieval import InformationRetrievalEvaluator

    keys = set(files) if isinstance(files, dict) else set()
    if keys != set(RETRIEVAL_FILES):
        missing, unknown = sorted(set(RETRIEVAL_FILES) - keys), sorted(keys - set(RETRIEVAL_FILES))
        raise InputError(
            f"config: eval.retrieval needs the files corpus, queries and qrels (missing {missing}, unknown "
            f"{unknown}): {EVAL_FORMS[1]}."
        )
    paths = {key: _eval_file(base, f"eval.retrieval.{key}", files[key]) for key in RETRIEVAL_FILES}
    return InformationRetrievalEvaluator(
        read_id_texts(paths["queries"]),
        read_id_texts(paths["corpus"]),
        read_qrels(paths["qrels"]),
        name=f"retrieval-{paths['queries'].stem}",
    )


def _beir_evaluator(value: dict[str, Any], base: Path) -> Any:
    """Mean NDCG@10 & co. over BEIR folders, each cut to ``max_queries`` / ``max_corpus`` if given."""
    from .._evaluation.nanobeir import NanoBEIREvaluator

    folders = [value["beir"]] if isinstance(value["beir"], str) else value["beir"]
    if not isinstance(folders, list) or not folders or not all(isinstance(f, str) for f in folders):
        raise InputError(f"config: eval.beir must be a BEIR folder or a list of them: {EVAL_FORMS[2]}.")
    paths = [_path(base, folder) for folder in folders]
    options = {key: value[key] for key in BEIR_OPTIONS if key in value}
    try:
        return NanoBEIREvaluator(paths, **options)
    except InputError as e:
        raise InputError(f"config: eval.beir: {e}") from None


# ---------------------------------------------------------------------------------------------- cross-encoder


def cross_encoder_losses() -> dict[str, type]:
    """The cross-encoder loss classes a config can name, by class name."""
    from .._losses import cross

    return {name: getattr(cross, name) for name in cross.CROSS_LOSSES}


def cross_loss_name(name: Any, num_labels: int | None) -> str:
    """The class name of a cross-encoder loss given by class or short name (``None``: bce for one label,
    ce for more, as sentence-transformers' default loss)."""
    from .._losses.cross import CROSS_LOSSES, SHORT_NAMES

    if name is None:
        name = "ce" if (num_labels or 1) > 1 else "bce"
    name = SHORT_NAMES.get(str(name).lower(), name)
    if name not in CROSS_LOSSES:
        raise InputError(
            f"Unknown cross-encoder loss {name!r}; choose one of {sorted(SHORT_NAMES)} "
            f"({', '.join(SHORT_NAMES[n] for n in sorted(SHORT_NAMES))})."
        )
    return name


def _cross_encoder_trainer(config: dict[str, Any], recipe: str | None, args: Any, base: Path) -> Any:
    """The Trainer of the cross-encoder recipe: data read (and mined) and checked, then the model."""
    import torch

    from .._cross_encoder.model import CrossEncoder
    from .._model import SentenceTransformer
    from .trainer import Trainer

    name = _model_name(config.get("model"), base)
    num_labels = _head_labels(name, config.get("num_labels"))
    specs = _cross_specs(config, num_labels)
    torch.manual_seed(args.seed)  # a new head's weights follow the seed
    # the model loads before any data is mined: a wrong model fails in seconds, not after the mining
    model = CrossEncoder(name, num_labels=num_labels, max_length=config.get("max_length"), backend="torch")
    mining = _mining(config.get("mine"), base)
    _check_mined_losses(specs if mining else [])
    datasets = _load_datasets(specs, base)
    evaluator = _evaluator(config.get("eval"), base, cross_encoder=True)
    if mining:
        retriever = SentenceTransformer(mining["retriever"])  # None: the default model
        datasets = _mine(datasets, mining, retriever, lambda spec: MINED_FORMATS[spec["loss"]])
    else:
        datasets = {name: (_listwise(d, s), s) for name, (d, s) in datasets.items()}
    classes = cross_encoder_losses()
    losses = {
        name: classes[spec["loss"]](model, **(spec.get("loss_options") or {}))
        for name, (_, spec) in datasets.items()
    }
    return Trainer(model, {n: d for n, (d, _) in datasets.items()}, losses, args=args, evaluator=evaluator)


def _head_labels(name: str | None, num_labels: Any) -> Any:
    """``num_labels`` as given, or 1 when it is left out and the model is a SentenceTransformer: the recipe
    then puts a new one-score head on its encoder (a trained cross-encoder keeps its own labels)."""
    if num_labels is not None:
        return num_labels
    from .._format.hub import resolve_model_path
    from .._format.layout import MODULES_FILE, cross_encoder_reason

    folder = resolve_model_path(name, default_namespace="cross-encoder")
    return 1 if (folder / MODULES_FILE).is_file() and cross_encoder_reason(folder) is None else None


def _cross_specs(config: dict[str, Any], num_labels: Any) -> list[dict[str, Any]]:
    if num_labels is not None and (not isinstance(num_labels, int) or num_labels < 1):
        raise InputError(f"config: num_labels must be a positive integer, got {num_labels!r}.")
    entries = config.get("train")
    if entries is None:
        raise InputError("config: train (a file or a list of {file: ...}) is required.")
    entries = [entries] if isinstance(entries, (str, dict)) else list(entries)
    specs = []
    for i, entry in enumerate(entries):
        spec = {"file": entry} if isinstance(entry, str) else dict(entry)
        bad = sorted(set(spec) - DATA_KEYS)
        if bad or "file" not in spec:
            raise InputError(
                f"config: train[{i}] needs a file; unknown keys {bad}; known: {sorted(DATA_KEYS)}."
            )
        spec["loss"] = cross_loss_name(spec.get("loss"), num_labels)
        if MINED_FORMATS.get(spec["loss"]) == "n-tuple":
            spec.setdefault("label", "")  # (query, positive, negatives...) rows have no label
        specs.append(spec)
    return specs


def _listwise(dataset: Any, spec: dict[str, Any]) -> Any:
    """The list losses' data (LambdaLoss, ListNet, ...): a flat (query, document, label) file is grouped by
    query."""
    from .data import group_by_query

    if MINED_FORMATS.get(spec["loss"]) == "labeled-list" and not dataset.list_columns:
        return group_by_query(dataset)
    return dataset


def _mining(value: Any, base: Path) -> dict[str, Any] | None:
    """The checked ``mine`` options, with the retriever's folder and the corpus texts read."""
    if not value:
        return None
    value = {} if value is True else value
    if not isinstance(value, dict):
        raise InputError(f"config: mine must be a mapping of {sorted(MINE_KEYS)} (or true for the defaults).")
    if set(value) - MINE_KEYS:
        raise InputError(
            f"config: mine: unknown keys {sorted(set(value) - MINE_KEYS)}; known: {sorted(MINE_KEYS)}."
        )
    from .._io.files import read_texts

    options = dict(value)
    options["retriever"] = _model_name(options.get("retriever"), base)
    if options.get("corpus"):
        options["corpus"] = read_texts(str(_path(base, options["corpus"])))[0]
    return options


def _check_mined_losses(specs: list[dict[str, Any]]) -> None:
    for spec in specs:
        if spec["loss"] not in MINED_FORMATS:
            raise InputError(
                f"config: mining gives relevance labels (1 positive, 0 negative) or lists; {spec['loss']} "
                f"does not train on them: use bce, mnrl or lambda."
            )


def _mine(
    datasets: dict[str, tuple[Any, dict[str, Any]]],
    mining: dict[str, Any],
    retriever: Any,
    output_format: Callable[[dict[str, Any]], str],
) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each dataset's (query, positive) pairs (its first two columns; the rows labelled above 0, when
    labelled) with the hard negatives ``retriever`` finds, in the rows ``output_format(spec)`` names."""
    from .._search.mining import mine_hard_negatives
    from .data import load_dataset

    options = {"verbose": False, **{k: v for k, v in mining.items() if k not in ("retriever", "corpus")}}
    mined: dict[str, tuple[Any, dict[str, Any]]] = {}
    for name, (pairs, spec) in datasets.items():
        keep = range(len(pairs)) if pairs.labels is None else [i for i, y in enumerate(pairs.labels) if y > 0]
        fmt = output_format(spec)
        columns = {c: [pairs.columns[c][i] for i in keep] for c in pairs.column_names[:2]}
        rows = mine_hard_negatives(
            columns, retriever, corpus=mining.get("corpus"), output_format=fmt, **options
        )
        label = {"labeled-pair": "label", "labeled-list": "labels"}.get(fmt, "")
        mined[name] = (load_dataset(rows, label=label, name=name), spec)
    return mined
