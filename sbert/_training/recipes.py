"""Training recipes: a YAML config → model, datasets, losses, evaluator and TrainingArguments → a run.

The four recipes of the Sentence-BERT papers set the defaults; any key of the config overrides them:

    nli      SoftmaxLoss on (sentence1, sentence2, label), string labels mapped to ids
    sts      CosineSimilarityLoss on (sentence1, sentence2, score), scores in [0, 5] scaled to [0, 1]
    pairs    MultipleNegativesRankingLoss on (anchor, positive[, negatives]), no label
    distill  MSELoss: the student regresses onto a teacher's embeddings of the first column
"""

from __future__ import annotations

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
}
LOSSES = (
    "SoftmaxLoss",
    "CosineSimilarityLoss",
    "CoSENTLoss",
    "MultipleNegativesRankingLoss",
    "ContrastiveLoss",
    "TripletLoss",
    "MSELoss",
)
TOP_KEYS = {"recipe", "model", "teacher", "train", "eval", "arguments", "output_dir", "matryoshka_dims"}
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


def load_config(path: str | Path) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        raise missing_extra("pyyaml", "train") from None
    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: expected a mapping of keys (recipe, model, train, output_dir, ...).")
    return config


def run_config(config: dict[str, Any], *, base: Path = Path(".")) -> Any:
    """Check the whole config, load everything, then train. Returns the Trainer's ``TrainOutput``."""
    import torch

    import sbert

    from .arguments import TrainingArguments
    from .data import load_dataset
    from .trainer import Trainer

    unknown = sorted(set(config) - TOP_KEYS)
    if unknown:
        raise InputError(f"config: unknown keys {unknown}; known: {sorted(TOP_KEYS)}.")
    recipe = config.get("recipe")
    if recipe is not None and recipe not in RECIPES:
        raise InputError(f"config: unknown recipe {recipe!r}; choose one of {sorted(RECIPES)}.")
    if "output_dir" not in config:
        raise InputError("config: output_dir is required.")
    args = TrainingArguments.from_dict(
        {"output_dir": str(_path(base, config["output_dir"])), **(config.get("arguments") or {})}
    )
    entries = config.get("train")
    if entries is None:
        raise InputError("config: train (a file or a list of {file: ...}) is required.")
    entries = [entries] if isinstance(entries, (str, dict)) else list(entries)
    specs = []
    for i, entry in enumerate(entries):
        entry = {"file": entry} if isinstance(entry, str) else dict(entry)
        bad = sorted(set(entry) - DATA_KEYS)
        if bad:
            raise InputError(f"config: train[{i}]: unknown keys {bad}; known: {sorted(DATA_KEYS)}.")
        spec = {**RECIPES.get(recipe or "", {}), **entry}
        if "file" not in spec:
            raise InputError(f"config: train[{i}] needs a file.")
        if spec.get("loss") not in LOSSES:
            raise InputError(
                f"config: train[{i}]: loss {spec.get('loss')!r} is not one of {LOSSES} (or set a recipe)."
            )
        specs.append(spec)
    if any(s["loss"] == "MSELoss" for s in specs) and not config.get("teacher"):
        raise InputError("config: MSELoss (distill) needs a teacher model.")
    datasets = {}
    for spec in specs:  # all data is read and checked before the model loads
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
    model = _model(config.get("model"), base)
    model.model_card_data["base_model"] = _describe_model(config.get("model"))
    torch.manual_seed(args.seed)  # new loss weights (SoftmaxLoss's classifier) follow the seed
    teacher = (
        sbert.SentenceTransformer(_model_name(config["teacher"], base)) if config.get("teacher") else None
    )
    losses = {}
    for name, (dataset, spec) in datasets.items():
        options = dict(spec.get("loss_options") or {})
        if spec["loss"] == "SoftmaxLoss":
            options.setdefault(
                "num_labels",
                len(dataset.label_names) if dataset.label_names else int(dataset.labels.max()) + 1,
            )
        if spec["loss"] == "MSELoss":
            first = dataset.columns[dataset.column_names[0]]
            dataset.labels = teacher.encode(first, show_progress_bar=False)
        loss = getattr(sbert, spec["loss"])(model, **options)
        if config.get("matryoshka_dims"):
            loss = sbert.MatryoshkaLoss(model, loss, config["matryoshka_dims"])
        losses[name] = loss
    evaluator = _evaluator(config.get("eval"), base)
    trainer = Trainer(model, {n: d for n, (d, _) in datasets.items()}, losses, args=args, evaluator=evaluator)
    return trainer.train()


def _path(base: Path, value: Any) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path


def _model_name(value: Any, base: Path) -> str | None:
    if value is None:
        return None
    local = _path(base, value)
    return str(local) if local.exists() else str(value)


def _describe_model(value: Any) -> str:
    if value is None:
        return "sentence-transformers/all-MiniLM-L6-v2"
    if isinstance(value, dict):
        return str(value.get("transformer"))
    return str(value)


def _model(value: Any, base: Path) -> Any:
    import sbert

    if value is None or isinstance(value, str):
        return sbert.SentenceTransformer(_model_name(value, base), backend="torch")
    if not isinstance(value, dict) or "transformer" not in value:
        raise InputError(
            "config: model must be a name/folder or {transformer: PATH, pooling: MODE, max_seq_length: N}."
        )
    from .._format.hub import resolve_model_path

    folder = resolve_model_path(_model_name(value["transformer"], base))
    encoder = sbert.Transformer(folder, max_seq_length=value.get("max_seq_length"))
    pooling = sbert.Pooling(encoder.get_word_embedding_dimension(), mode=value.get("pooling", "mean"))
    return sbert.SentenceTransformer(modules=[encoder, pooling])


def _evaluator(value: Any, base: Path) -> Any:
    if not value:
        return None
    import sbert

    from .data import load_dataset

    if not isinstance(value, dict) or set(value) - {"sts"}:
        raise InputError("config: eval must be {sts: FILE} (columns sentence1, sentence2, score).")
    data = load_dataset(_path(base, value["sts"]), columns=["sentence1", "sentence2"], label="score")
    return sbert.EmbeddingSimilarityEvaluator(
        data.columns["sentence1"], data.columns["sentence2"], data.labels, name=f"sts-{data.name}"
    )
