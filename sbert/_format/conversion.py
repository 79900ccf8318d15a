"""Which model class a sentence-transformers folder was saved by, and sentence-transformers' notice when
another class loads it.

sentence-transformers 6 reads ``model_type`` from ``config_sentence_transformers.json`` of any folder with
``modules.json`` ("SentenceTransformer" where the file or the key is missing); a class loading another class's
folder builds its own default modules from the folder and logs "Converting <type> model <name> to <class>."
(a warning), which code written for it may look for; its own folder gets "Loading <class> model from
<name>." (info). A plain Hugging Face folder (no ``modules.json``) gets its "No modules.json found for
<name>, initializing a new <class> model." (info), and no warning: code that turns warnings into errors
loads such folders with sentence-transformers.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .._st_loggers import ST_MODEL
from .hub import hub_name_of
from .layout import MODEL_CONFIG_FILE, loads_as_plain, read_json, saved_model_type
from .requirements import check_requirements

# sentence-transformers' load notices go out on its logger's name, so code that sets that logger's level or
# filters its records (``caplog.at_level(logging.INFO, logger="sentence_transformers.base.model")``) sees
# them as there; it is a child of the "sentence_transformers" logger, which is also sbert's logger's parent.
logger = logging.getLogger(ST_MODEL)


def converted_from(folder: Path, model_type: str, name: str, *, own: tuple[str, ...] = ()) -> str | None:
    """The other model class whose folder ``model_type`` is loading (with sentence-transformers' notice
    logged, naming the model as the caller did), or ``None`` where the folder is ``model_type``'s own (or
    of a type in ``own``, which the class reads as its own) or a plain Hugging Face one."""
    name = _notice_name(name, folder)
    saved = saved_model_type(folder)
    if saved is None and loads_as_plain(folder):
        logger.info(f"No modules.json found for {name}, initializing a new {model_type} model.")
    if saved is not None and (saved == model_type or saved in own):
        logger.info(f"Loading {model_type} model from {name}.")
    if saved is None or saved == model_type or saved in own:
        return None
    config = folder / MODEL_CONFIG_FILE  # its own settings are not read on conversion, its requirements are
    if config.is_file():
        check_requirements(read_json(config).get("requirements"), str(folder), for_sbert=True)
    logger.warning(f"Converting {saved} model {name} to {model_type}.")
    return saved


def _notice_name(name: str, folder: Path) -> str:
    """The model as sentence-transformers names it in these notices: a local folder as given, a hub name as
    it resolved (``"all-MiniLM-L6-v2"`` is ``"sentence-transformers/all-MiniLM-L6-v2"`` there)."""
    if Path(name).expanduser().is_dir():
        return name
    return hub_name_of(folder) or name
