"""sentence-transformers' ``util.environment`` module path: what is installed, the device, whether a
process group runs, and a model's declared version requirements."""

from __future__ import annotations

from typing import Any

from .._format.requirements import check_requirements, installed_version
from . import (
    check_package_availability,
    get_device_name,
    is_accelerate_available,
    is_datasets_available,
    is_dist_initialized,
    is_training_available,
)

__all__ = [
    "check_package_availability",
    "check_version_requirements",
    "get_installed_version",
    "get_device_name",
    "is_accelerate_available",
    "is_datasets_available",
    "is_dist_initialized",
    "is_training_available",
]


def get_installed_version(package_name: str) -> str | None:
    """The version of ``package_name`` that runs (``"python"``: the interpreter's), or ``None``."""
    return installed_version(package_name)


def check_version_requirements(requirements: dict[str, Any] | None, source: str | None = None) -> None:
    """Raise ImportError when installed packages do not meet ``requirements`` (package -> PEP 440 specifier,
    or ``{"specifier", "reason"}``), as sentence-transformers checks a model's declared requirements; an
    unreadable specifier is logged and skipped. (Loading a model here checks only the installed packages:
    sbert stands in for sentence-transformers, and its ONNX path needs neither torch nor transformers.)"""
    check_requirements(requirements, source)
