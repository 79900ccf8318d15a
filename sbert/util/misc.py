"""sentence-transformers' ``util.misc`` module path: class paths and imports, logging and ``datasets``
caching switched off for a block, a scoring function's name, a CSV row extended."""

from . import (
    append_to_last_row,
    disable_datasets_caching,
    disable_logging,
    fullname,
    import_from_string,
    similarity_fct_name,
)

__all__ = [
    "append_to_last_row",
    "disable_datasets_caching",
    "disable_logging",
    "fullname",
    "import_from_string",
    "similarity_fct_name",
]
