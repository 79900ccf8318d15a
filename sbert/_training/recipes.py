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


def run_config(config: dict[str, Any], *, base: Path = Path("."), overwrite: bool = False) -> Any:
    """Check the whole config, load everything, then train. Returns the Trainer's ``TrainOutput``.

    Relative paths in ``config`` (data, models, output_dir) are relative to ``base``, the YAML file's
    folder. An output_dir holding an earlier run is refused unless ``overwrite`` (its files are then
    deleted just before training starts) or ``arguments.resume`` (the run continues).
    """
    import torch

    from .._model import SentenceTransformer
    from .trainer import Trainer, remove_previous_run

    recipe = _check_keys(config)
    args = _arguments(config, base)
    replace = _check_output_dir(Path(args.output_dir), resume=bool(args.resume), overwrite=overwrite)
    specs = _train_specs(config, recipe)
    datasets = _load_datasets(specs, base)  # all data is read and checked before the model loads
    model = _model(config.get("model"), base)
    model.model_card_data["base_model"] = _describe_model(config.get("model"))
    torch.manual_seed(args.seed)  # new loss weights (SoftmaxLoss's classifier) follow the seed
    teacher = SentenceTransformer(_model_name(config["teacher"], base)) if config.get("teacher") else None
    losses = {
        name: _loss(model, dataset, spec, teacher, config.get("matryoshka_dims"))
        for name, (dataset, spec) in datasets.items()
    }
    evaluator = _evaluator(config.get("eval"), base)
    trainer = Trainer(model, {n: d for n, (d, _) in datasets.items()}, losses, args=args, evaluator=evaluator)
    if replace:
        remove_previous_run(Path(args.output_dir))
    return trainer.train()


def config_losses() -> dict[str, type]:
    """The loss classes a config can name, by name: every registered loss but those wrapping another
    (MatryoshkaLoss comes from ``matryoshka_dims``)."""
    from .. import _losses

    classes = {name: getattr(_losses, name) for name in _losses.LOSSES}
    return {name: cls for name, cls in classes.items() if not cls.wraps_loss}


def _check_keys(config: dict[str, Any]) -> str | None:
    """The recipe named by ``config`` (or None), after checking its top-level keys."""
    unknown = sorted(set(config) - TOP_KEYS)
    if unknown:
        raise InputError(f"config: unknown keys {unknown}; known: {sorted(TOP_KEYS)}.")
    recipe = config.get("recipe")
    if recipe is not None and recipe not in RECIPES:
        raise InputError(f"config: unknown recipe {recipe!r}; choose one of {sorted(RECIPES)}.")
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


def _describe_model(value: Any) -> str:
    if value is None:
        return "sentence-transformers/all-MiniLM-L6-v2"
    if isinstance(value, dict):
        return str(value.get("transformer"))
    return str(value)


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
    pooling = Pooling(encoder.get_word_embedding_dimension(), mode=value.get("pooling", "mean"))
    return SentenceTransformer(modules=[encoder, pooling])


def _evaluator(value: Any, base: Path) -> Any:
    if not value:
        return None
    from .._evaluation.similarity import EmbeddingSimilarityEvaluator
    from .data import load_dataset

    if not isinstance(value, dict) or set(value) - {"sts"}:
        raise InputError("config: eval must be {sts: FILE} (columns sentence1, sentence2, score).")
    data = load_dataset(_path(base, value["sts"]), columns=["sentence1", "sentence2"], label="score")
    return EmbeddingSimilarityEvaluator(
        data.columns["sentence1"], data.columns["sentence2"], data.labels, name=f"sts-{data.name}"
    )
