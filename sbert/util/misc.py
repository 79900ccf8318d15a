"""sentence-transformers' ``util.misc`` module path: class paths and imports."""

from . import fullname, import_from_string

__all__ = ["fullname", "import_from_string"]
