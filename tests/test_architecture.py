"""The package's structure, checked on its source (ast): no import cycles, no reads of private names.

Data flows one way (names -> folders -> modules -> backends -> model -> training | search | server -> CLI,
see docs/architecture.md), so the import graph of ``sbert`` must be acyclic, function-level and
``TYPE_CHECKING`` imports included. A module uses another module's public names only: ``_name`` imported
from another module, or ``obj._name`` read on anything but ``self`` / ``cls``, is a reach-in that ties the
two modules' internals together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sbert"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _package_of(module).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, int, list[str]]]:
    """(imported module, line, names imported from it) for every import statement in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((_absolute(module, node), node.lineno, [alias.name for alias in node.names]))
    return found


def _edges(module: str) -> set[str]:
    """The sbert modules that ``module`` imports (a submodule named in ``from pkg import sub``
    counts as itself)."""
    targets = set()
    for imported, _, names in _imports(module):
        if not imported.startswith("sbert"):
            continue
        submodules = [f"{imported}.{n}" for n in names if f"{imported}.{n}" in MODULES]
        targets.update(submodules)
        if imported in MODULES and len(submodules) < len(names or [None]):
            targets.add(imported)
    targets.discard(module)
    return targets


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    graph = {module: _edges(module) for module in MODULES}
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_planted_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


# Private names of other libraries that sbert reads on purpose, each because the library has no public one:
# transformers keeps a model's attention implementation (sdpa, eager) only in config._attn_implementation;
# datasets keeps the encoded source of a media decoder (audio, video) only in _hf_encoded, which
# NoDuplicatesBatchSampler compares as sentence-transformers' does; torch keeps a module's forward hooks
# only in _forward_pre_hooks / _forward_hooks, which its quantize_dynamic clears on the model it is given,
# so the models show their torch modules' (sbert._model_methods), and those for every module only in
# _global_forward_hooks / _global_forward_pre_hooks (sbert._modules.hooks: inference takes
# sentence-transformers' path while any hook would fire); a parent module's to() and load_state_dict()
# call _apply and _load_from_state_dict on each child, which a model (a child there, as sentence-transformers'
# are) hands to its torch modules (sbert._torch_base); torch prints a tensor with given options only through
# _tensor_str.printoptions, which the card data's usage snippet scores use as sentence-transformers' do.
THIRD_PARTY_PRIVATE = frozenset(
    {
        "_tensor_str",
        "_attn_implementation",
        "_hf_encoded",
        "_forward_pre_hooks",
        "_forward_hooks",
        "_global_forward_hooks",
        "_global_forward_pre_hooks",
        "_apply",
        "_load_from_state_dict",
    }
)


def _private(name: str) -> bool:
    dunder = name.startswith("__") and name.endswith("__")
    return name.startswith("_") and not dunder and name not in THIRD_PARTY_PRIVATE


def _reach_ins(module: str) -> list[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for imported, line, names in _imports(module):
        for name in names:
            if _private(name) and f"{imported}.{name}" not in MODULES:
                found.append(f"{path.name}:{line}: imports {name} from {imported}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            found.append(
                f"{path.relative_to(PACKAGE)}:{node.lineno}: reads .{node.attr} of {ast.unparse(owner)}"
            )
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
            and not (isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls"))
        ):
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.func.id} {node.args[1].value!r}")
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_reads_private_names_of_another(module):
    assert _reach_ins(module) == []
