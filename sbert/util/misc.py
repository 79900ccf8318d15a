"""sentence-transformers' ``util.misc`` module path: class paths and imports, logging and ``datasets``
caching switched off for a block, a scoring function's name, a CSV row extended, the hub's owner-less
original model names."""

from . import (
    ORIGINAL_TRANSFORMER_MODELS,
    append_to_last_row,
    disable_datasets_caching,
    disable_logging,
    fullname,
    import_from_string,
    similarity_fct_name,
)

__all__ = [
    "ORIGINAL_TRANSFORMER_MODELS",
    "append_to_last_row",
    "disable_datasets_caching",
    "disable_logging",
    "fullname",
    "import_from_string",
    "similarity_fct_name",
]
