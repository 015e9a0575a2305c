"""The package's shape is its architecture (docs/architecture.md): one package per pipeline stage,
no import cycles (type-only imports counted), and a stage never imports a later one, so each
stage can be read, tested and changed with only the stages before it in mind."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cldetl"
# Stages in pipeline order, each allowed to import itself and the ones before it. Shell modules
# (the CLI, the pipeline that strings the stages together) come last and may import anything.
ORDER = (
    ("cldetl.errors", "cldetl.display", "cldetl.collector"),
    ("cldetl.spec",),
    ("cldetl.mapping",),
    ("cldetl.extract",),
    ("cldetl.transform",),
    ("cldetl.validate",),
    ("cldetl.national",),
    ("cldetl.publish",),
    ("cldetl.report",),
    ("cldetl.onboarding",),
    ("cldetl.pipeline", "cldetl.cli", "cldetl.pytest_plugin", "cldetl.__main__", "cldetl"),
)
MAX_LINES = 600


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = modules()


def imported(name: str, path: Path) -> set[str]:
    """Every cldetl module `name` imports, at any depth and under TYPE_CHECKING too."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            # `from cldetl import collector` imports the module, not the package
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: imported(name, path) for name, path in MODULES.items()}


def rank(module: str) -> int:
    best = None
    for i, group in enumerate(ORDER):
        for prefix in group:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (i, len(prefix))
    assert best is not None, f"{module} belongs to no stage: add it to ORDER"
    return best[0]


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), leaving out a package's
    __init__ re-exporting its own submodules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def edges(v: str) -> set[str]:
        return {w for w in GRAPH[v] if not w.startswith(v + ".")}

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges(v):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            strong(v)
    return found


def test_no_import_cycles():
    assert cycles() == []


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    monkeypatch.setitem(GRAPH, "cldetl.spec", GRAPH["cldetl.spec"] | {"cldetl.mapping.model"})
    monkeypatch.setitem(
        GRAPH, "cldetl.mapping.model", GRAPH["cldetl.mapping.model"] | {"cldetl.spec"}
    )
    assert ["cldetl.mapping.model", "cldetl.spec"] in cycles()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_stage_imports_only_itself_and_earlier_stages(module):
    later = sorted(target for target in GRAPH[module] if rank(target) > rank(module))
    assert later == [], f"{module} imports later stages: {later}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_do_one_job(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines; split it along its jobs"


def test_the_top_level_holds_the_stages_and_a_few_shell_modules():
    top = sorted(
        p.name for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()
    )
    stages = {
        "spec",
        "mapping",
        "extract",
        "transform",
        "validate",
        "national",
        "publish",
        "report",
        "onboarding",
        "cli",
    }
    assert stages <= set(top)
    assert len(set(top) - stages) <= 8, top
