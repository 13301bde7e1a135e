"""The house's plan holds: packages by layer, each importing only its own package and the layers
below it, and no module importing itself back through others (no circles).

Every ``import`` counts, at module level or inside a function (a deferred import is still a
dependency), except the names ``recommender._legacy`` maps for old code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import recommender

SRC = Path(recommender.__file__).parent
# bottom to top (the command line serves the web app, so it stands above it)
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("database",),
    ("geo",),
    ("reference",),
    ("register",),
    ("model",),
    ("simulation",),
    ("recommend",),
    ("render",),
    ("scenario",),
    ("webapp",),
    ("cli",),
    ("bench",),
)
FLOOR = {package: i for i, floor in enumerate(LAYERS) for package in floor}


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that ``name`` imports (a ``from X import y`` counts as ``X.y``
    when that is a module, else ``X``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]  # fmt: skip
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _package(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in FLOOR) else None


def test_every_package_has_a_floor() -> None:
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(FLOOR)
    loose = sorted(p.name for p in SRC.glob("*.py") if p.name not in ("__init__.py", "_legacy.py"))
    assert loose == [], "a module outside the packages"


def _upward(name: str, graph: dict[str, set[str]]) -> list[str]:
    """What ``name`` imports from another package on its floor or above."""
    mine = _package(name)
    if mine is None:
        return []  # recommender/__init__ and _legacy: above the plan
    return [
        target
        for target in sorted(graph[name])
        if (theirs := _package(target)) is not None
        and theirs != mine
        and FLOOR[theirs] >= FLOOR[mine]
    ]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_down_only(name: str) -> None:
    assert _upward(name, GRAPH) == [], f"{name} imports a package on its own floor or above"


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components: any with two or more modules is a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def test_no_circles() -> None:
    assert _circles(GRAPH) == []


def test_the_checks_see_what_they_look_for() -> None:
    """The walk reads real arrows (deferred imports too), and the checks fail on a graph
    with an upward import and a circle."""
    assert "recommender.core.errors" in GRAPH["recommender.geo.geography"]
    assert "recommender.model.fit" in GRAPH["recommender.model.workflow"]
    assert "recommender.webapp" in GRAPH["recommender.cli.serve"]  # inside a function
    bad = {name: set(targets) for name, targets in GRAPH.items()}
    bad["recommender.core.errors"].add("recommender.webapp.api")
    assert _upward("recommender.core.errors", bad) == ["recommender.webapp.api"]
    circle = {name: set(targets) for name, targets in GRAPH.items()}
    circle["recommender.model.fit"].add("recommender.model.workflow")
    (found,) = _circles(circle)  # the old training circle, back
    assert {"recommender.model.fit", "recommender.model.workflow"} <= set(found)
