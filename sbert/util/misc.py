"""sentence-transformers' ``util.misc`` module path: class paths and imports (a model config's module class
behind the trust_remote_code gate), logging and ``datasets`` caching switched off for a block, a distillation
loss's teacher targets checked, a scoring function's name, a CSV row extended, the hub's owner-less original
model names."""

from . import (
    ORIGINAL_TRANSFORMER_MODELS,
    append_to_last_row,
    check_teacher_targets,
    disable_datasets_caching,
    disable_logging,
    fullname,
    import_from_string,
    import_module_class,
    similarity_fct_name,
)

__all__ = [
    "ORIGINAL_TRANSFORMER_MODELS",
    "append_to_last_row",
    "disable_datasets_caching",
    "disable_logging",
    "fullname",
    "import_from_string",
    "import_module_class",
    "check_teacher_targets",
    "similarity_fct_name",
]
