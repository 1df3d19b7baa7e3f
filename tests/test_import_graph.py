"""The import graph of ``simulation/`` and ``experiments/`` has no cycles.

Every import statement counts: module level and inside functions (a lazy import that hides a
cycle is still a dependency: the two modules cannot be understood, tested or moved apart),
``import x``, ``from x import y`` and relative imports. An import is an edge to the module it
names in these two packages; ``from pkg import name`` is an edge to ``pkg.name`` when that is a
module and to ``pkg`` otherwise. Importing a submodule also runs its package's ``__init__``;
that implicit step is not an edge (else every package whose ``__init__`` re-exports its
submodules would be a cycle), but an explicit ``from pkg import name`` of the package is.

Imports under ``if TYPE_CHECKING:`` are left out: they never execute (annotations only), so
they tie nothing together at run time. The ``else`` branch of such an ``if`` does execute and
counts.

The graph is read from the source with :mod:`ast`; nothing is imported. A cycle is a strongly
connected component of more than one module (or a module importing itself); the failure names
each cycle's modules and the edges inside it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("simulation", "experiments")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of :data:`PACKAGES`."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def executed_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node`` except the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.orelse:
                yield stmt
                yield from executed_nodes(stmt)
            continue
        yield child
        yield from executed_nodes(child)


def imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Absolute dotted names of what ``module`` imports (``pkg.name`` for ``from pkg import
    name``; relative imports resolved against ``module``)."""
    for node in executed_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                yield f"{source}.{alias.name}"


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of :data:`PACKAGES` it imports (see the module docstring)."""
    files = module_files(root)

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = {resolve(n) for n in imported_names(tree, module, path.name == "__init__.py")}
        graph[module] = {t for t in targets if t is not None and t != module}
    if "simulation.cli" in graph:  # the command line imports its commands by name
        from simulation.cli import COMMAND_MODULES

        graph["simulation.cli"] |= set(COMMAND_MODULES)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """One line per cycle: its modules and the imports between them."""
    lines = []
    for comp in strongly_connected(graph):
        if len(comp) > 1:
            inside = set(comp)
            edges = [f"{a} -> {b}" for a in comp for b in sorted(graph[a] & inside)]
            lines.append(f"{len(comp)} modules: {', '.join(edges)}")
    return lines


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(found)


def test_config_is_at_the_bottom():
    """The configuration imports nothing it configures (the registries validate their own
    names), not even lazily. Its only project imports are two leaves that import nothing of
    the project: ``simulation.paths``, which says where the bundled scenario files are, and
    ``simulation.files``, the one reader of input files (scenarios and sweep specs: the
    refusals of folders, FIFOs, devices, link loops and oversized or non-UTF-8 files live
    there once, below config, so the sweep spec need not read files on its own)."""
    graph = import_graph()
    assert graph["simulation.config"] == {"simulation.paths", "simulation.files"}
    assert graph["simulation.paths"] == set()
    assert graph["simulation.files"] == set()


@pytest.mark.parametrize(
    "module",
    ["simulation.model", "simulation.distribution", "simulation.strategies", "simulation.api"],
)
def test_the_model_side_imports_no_plotting_or_cli(module):
    """STYLE.md: the model never imports matplotlib or the CLI (nor, through the graph, any
    module that does)."""
    graph = import_graph()
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += graph[m]
    banned = {m for m in seen if m.startswith(("simulation.commands", "simulation.dashboard"))}
    banned |= {m for m in seen if m in ("simulation.cli", "simulation.plots")}
    assert not banned, f"{module} reaches {sorted(banned)}"


# ------------------------------------------------------------------ the checker can fail


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_lazy_relative_and_package_cycles(tmp_path):
    _write(
        tmp_path,
        {
            "simulation/__init__.py": "",
            "simulation/a.py": "def f():\n    from simulation import b\n",
            "simulation/b.py": "from . import c\n",
            "simulation/c.py": "import simulation.a as a\n",
            "simulation/pkg/__init__.py": "from simulation.pkg.x import X\n",
            "simulation/pkg/x.py": "from simulation.pkg import helper\nX = 1\n",
            "simulation/ok.py": "from simulation.a import f\n",
            "experiments/__init__.py": "",
        },
    )
    assert sorted(cycles(import_graph(tmp_path))) == [
        "2 modules: simulation.pkg -> simulation.pkg.x, simulation.pkg.x -> simulation.pkg",
        "3 modules: simulation.a -> simulation.b, simulation.b -> simulation.c, "
        "simulation.c -> simulation.a",
    ]


def test_the_checker_ignores_type_checking_blocks_only(tmp_path):
    _write(
        tmp_path,
        {
            "simulation/__init__.py": "",
            "simulation/a.py": "from simulation import b\n",
            "simulation/b.py": (
                "import typing\n"
                "if typing.TYPE_CHECKING:\n    from simulation import a\n"
                "else:\n    from simulation import c\n"
            ),
            "simulation/c.py": "",
            "experiments/__init__.py": "",
        },
    )
    graph = import_graph(tmp_path)
    assert graph["simulation.b"] == {"simulation.c"}
    assert cycles(graph) == []
