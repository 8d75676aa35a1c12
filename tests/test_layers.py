"""The modules' plan holds: each layer imports only its own and the layers
below it (docs/architecture.md), no two modules of the package import each
other (even inside a function), and none reaches into another's private
names.  Read from the source with `ast`, so a new upward import, cycle or
private use fails here before anyone has to untangle it."""

from __future__ import annotations

import ast
from pathlib import Path

import atlas

PACKAGE = Path(atlas.__file__).parent


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(), str(path))
    return out


def _target(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name a relative `from ... import` points at."""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + (node.module.split(".") if node.module else []))


def imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in its text."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, tree in mods.items():
        is_package = (PACKAGE.parent / Path(*name.split("."), "__init__.py")).exists()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                target = _target(name, is_package, node)
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    graph[name].add(sub if sub in mods else target)
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in mods}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


# Bottom up.  The package's root (`atlas`, for __version__ and `atlas.load`)
# stands outside the order: it is what every layer belongs to.
LAYERS = [
    "atlas.files",
    "atlas.meaning",
    "atlas.machine",
    "atlas.front",
    "atlas.logic",
    "atlas.search",
    "atlas.pipeline",
    "atlas.superopt",
    "atlas.market",
    "atlas.boot",
    "atlas.tools",
]
# What a backend plugin may use: the layers up to the search.
BACKEND_REACH = LAYERS.index("atlas.search")


def layer(module: str) -> int | None:
    """The index in LAYERS of the layer a module belongs to; None for the root."""
    for i, name in enumerate(LAYERS):
        if module == name or module.startswith(name + "."):
            return i
    return None


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Each import of a module from a layer above the importer's."""
    out = []
    for name, targets in sorted(graph.items()):
        for target in sorted(targets):
            here, there = layer(name), layer(target)
            if here is not None and there is not None and there > here:
                out.append(f"{name} imports {target}")
    return out


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_uses(tree: ast.Module, aliases: dict[str, str]) -> list[str]:
    """`module._name` for each private name reached through an imported module's alias."""
    return [
        f"{aliases[node.value.id]}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and _private(node.attr)
    ]


def test_no_module_imports_one_that_imports_it():
    assert cycles(imports()) == []


def test_every_module_belongs_to_a_layer():
    assert [m for m in _modules() if m != "atlas" and layer(m) is None] == []


def test_no_layer_imports_one_above_it():
    assert upward(imports()) == []


def test_an_upward_import_is_found():
    graph = {
        "atlas.meaning.ir": {"atlas.logic.rules"},
        "atlas.logic.rules": {"atlas.meaning.ir"},
        "atlas.tools.cli": {"atlas.pipeline", "atlas"},
    }
    assert upward(graph) == ["atlas.meaning.ir imports atlas.logic.rules"]


def test_the_backends_import_no_layer_above_the_search():
    import atlas.backends

    offences = []
    for path in sorted(Path(atlas.backends.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("atlas."):
                targets = [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            offences += [f"{path.name} imports {t}" for t in targets if (layer(t) or 0) > BACKEND_REACH]
    assert offences == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_uses_another_modules_private_names():
    mods = _modules()
    offences = []
    for name, tree in mods.items():
        is_package = (PACKAGE.parent / Path(*name.split("."), "__init__.py")).exists()
        imported_as: dict[str, str] = {}  # local alias -> module of the package
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                target = _target(name, is_package, node)
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in mods:
                        imported_as[alias.asname or alias.name] = sub
                    elif _private(alias.name) and target != name:
                        offences.append(f"{name} imports {target}.{alias.name}")
        offences += [f"{name} uses {u}" for u in _private_uses(tree, imported_as)]
    assert offences == []


def test_the_backends_use_only_public_names_of_atlas():
    import atlas.backends

    root = Path(atlas.backends.__file__).parent
    offences = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        aliases: dict[str, str] = {}  # local name -> atlas module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "atlas":
                for alias in node.names:
                    if _private(alias.name):
                        offences.append(f"{path.name} imports {node.module}.{alias.name}")
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        offences += [f"{path.name} uses {u}" for u in _private_uses(tree, aliases)]
    assert offences == []
