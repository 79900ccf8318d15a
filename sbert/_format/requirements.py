"""The ``requirements`` a model folder declares in ``config_sentence_transformers.json`` (as in
sentence-transformers 6.3): package name -> PEP 440 specifier, or ``{"specifier": ..., "reason": ...}``;
``"python"`` is the running Python, ``"pytorch"`` is torch. Checked before any module loads, so an
environment the model's author ruled out fails with the ``pip install`` command that fixes it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

_LOGGER = logging.getLogger(__name__)
# the name config_sentence_transformers.json's __version__ block gives torch
_ALIASES = {"pytorch": "torch"}
# sbert stands in for these: a model's requirement on them is about the folder format sbert reads
_STANDS_IN_FOR = frozenset({"sentence-transformers", "sentence_transformers"})


def installed_version(package: str) -> str | None:
    """The version of ``package`` that runs: an imported module's ``__version__`` first (an editable
    install's metadata can lag), else the installed distribution's; ``None`` when it is not installed."""
    import platform  # here with importlib.metadata: few folders declare requirements; start-up stays light
    from importlib.metadata import PackageNotFoundError, version

    if package == "python":
        return platform.python_version()
    module_version = getattr(sys.modules.get(package.replace("-", "_")), "__version__", None)
    if isinstance(module_version, str):
        return module_version
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def check_requirements(requirements: Any, source: str | None = None, *, for_sbert: bool = False) -> None:
    """Raise ImportError listing each unmet requirement (and the ``pip install -U`` line); a specifier that
    cannot be read is logged and skipped, so a typo does not make a model unloadable. ``for_sbert``: what a
    load checks here, where sbert stands in for sentence-transformers and a package that is not installed is
    asked for by the path that needs it (the ONNX path needs neither torch nor transformers)."""
    if not requirements:
        return
    if not isinstance(requirements, dict):
        _LOGGER.warning(f"Ignoring the requirements of {source!r}: expected a mapping of version specifiers.")
        return
    from packaging.specifiers import SpecifierSet  # here: most folders declare none, and start-up stays light
    from packaging.version import Version

    unmet: list[str] = []
    to_install: list[str] = []
    for name, requirement in requirements.items():
        package = _ALIASES.get(name, name)
        specifier = requirement.get("specifier", "") if isinstance(requirement, dict) else requirement
        reason = requirement.get("reason", "") if isinstance(requirement, dict) else ""
        if not isinstance(specifier, str):
            _LOGGER.warning(f"Cannot check requirement {specifier!r} of {source!r}: not a version specifier.")
            continue
        found = installed_version(package)
        if for_sbert and (package in _STANDS_IN_FOR or found is None):
            continue
        try:
            if found is not None and SpecifierSet(specifier, prereleases=True).contains(Version(found)):
                continue
        except Exception as e:  # packaging's InvalidSpecifier / InvalidVersion: skipped, as a typo
            _LOGGER.warning(f"Cannot check requirement {specifier!r} of {source!r}: {e}")
            continue
        state = f"installed: {package} {found}" if found else "not installed"
        unmet.append(f"- {package}{specifier} ({state}){f': {reason}' if reason else ''}")
        if package != "python":
            to_install.append(f'"{package}{specifier}"')
    if unmet:
        whose = f"The model {source!r}" if source else "This model"
        lines = [f"{whose} declares requirements this environment does not meet:", *unmet]
        if to_install:
            lines.append(f"Fix: pip install -U {' '.join(to_install)}")
        raise ImportError("\n".join(lines))
