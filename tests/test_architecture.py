"""The project's boundaries: core never imports streamlit, pages never import torch, plots stay pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """Top-level package names imported anywhere in a Python file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_never_imports_streamlit(path: Path) -> None:
    assert "streamlit" not in imported_modules(path)


@pytest.mark.parametrize("path", [ROOT / "app.py", *sorted((ROOT / "app_pages").rglob("*.py"))], ids=lambda p: p.name)
def test_pages_never_import_torch(path: Path) -> None:
    assert not {"torch", "torchvision"} & imported_modules(path)


def test_plots_are_pure_functions_of_arrays() -> None:
    plot_files = [ROOT / "core" / "plots.py"] if (ROOT / "core" / "plots.py").exists() else []
    plot_files += sorted((ROOT / "core" / "plots").rglob("*.py")) if (ROOT / "core" / "plots").is_dir() else []
    assert plot_files, "core/plots.py (or a core/plots package) should hold every figure"
    for path in plot_files:
        assert not {"torch", "streamlit"} & imported_modules(path), path


def test_the_scanner_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import torch.nn as nn\nfrom streamlit import session_state\nfrom . import y\n")
    assert imported_modules(sample) == {"torch", "streamlit"}


# --- the house: no import circles, a low core, pages that talk to the Lab (issue 21) -------------------------

PROJECT_DIRS = ("core", "app_pages")
MAX_CORE_MODULES = 12  # top-level modules of core/ besides __init__.py; the rest lives in packages
MAX_CORE_MODULES_PER_PAGE = 4


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    found = {module_name(p): p for top in PROJECT_DIRS for p in sorted((ROOT / top).rglob("*.py"))}
    return {**found, "app": ROOT / "app.py"}


def project_imports(path: Path, modules: dict[str, Path], me: str | None = None) -> set[str]:
    """Every project module `path` (the module `me`) imports, wherever the import stands (top level, in a
    function, under TYPE_CHECKING); `from package import name` counts the submodule when `name` is one."""
    me = me or (module_name(path) if path.name != "app.py" else "app")
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for name in targets:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != me:
                found.add(name)
    return found


def package_of(name: str, modules: dict[str, Path]) -> str:
    return name if modules[name].name == "__init__.py" else name.rpartition(".")[0] or name


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def import_graphs() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(file-level graph, package-level graph) of the project's imports."""
    modules = project_modules()
    files = {name: project_imports(path, modules) for name, path in modules.items()}
    packages: dict[str, set[str]] = {}
    for name, targets in files.items():
        a = package_of(name, modules)
        for target in targets:
            b = package_of(target, modules)
            if a != b and not b.startswith(a + ".") and not a.startswith(b + "."):  # a package and its parts
                packages.setdefault(a, set()).add(b)
    return files, packages


def test_no_import_circles_between_files_or_packages() -> None:
    files, packages = import_graphs()
    assert circles(files) == []
    assert circles(packages) == []


def test_the_circle_finder_finds_circles_of_every_kind(tmp_path: Path) -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
    sample = tmp_path / "x.py"
    sample.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.y import Z\n"
                      "def f():\n    import core.w.deep\nfrom . import v\nfrom core import u\n")
    modules = {name: sample for name in ("core", "core.x", "core.y", "core.w", "core.v", "core.u")}
    assert project_imports(sample, modules, me="core.x") == {"core.y", "core.w", "core.v", "core.u"}


def test_core_keeps_few_top_level_modules() -> None:
    top = [p.name for p in (ROOT / "core").glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= MAX_CORE_MODULES, sorted(top)
    for package in sorted(p for p in (ROOT / "core").iterdir() if (p / "__init__.py").is_file()):
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert doc and "import" in doc, f"{package.name}/__init__.py should say what it owns and may import"


def test_pages_talk_to_few_core_modules() -> None:
    from app_pages.common.ui import PAGES

    modules = project_modules()
    for page in PAGES.values():
        used = {m for m in project_imports(ROOT / page, modules) if m.startswith("core")}
        assert len(used) <= MAX_CORE_MODULES_PER_PAGE, (page, sorted(used))


def test_test_modules_have_distinct_names() -> None:
    # pytest imports test files by basename (rootdir-relative, no __init__ in tests/): two test_x.py in different
    # folders stop the whole collection, which a run of one folder does not show.
    names: dict[str, list[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert not {name: paths for name, paths in names.items() if len(paths) > 1}


# --- the warm start imports what the pages would import late (issue 22) ---------------------------------------

# Imported inside a function on purpose and left cold by serve.py, with the reason.
COLD_ON_PURPOSE = {
    "ray": "the optional sweep backend: not installed by default",
    "tests": "the benchmark's test corpus, present in a checkout only",
    "streamlit_drawable_canvas": "importing it outside a running app raises",
}


def late_imports(path: Path) -> set[str]:
    """Modules (dotted, third-party) that a file imports inside a function."""
    names = set()
    for function in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return {name for name in names if name.split(".")[0] not in PROJECT_DIRS + ("__future__",)}


def test_the_warm_start_imports_what_pages_import_late() -> None:
    """A module first imported during a visit holds the interpreter lock while it loads (captum: 1.7 s), and every
    other student's slider move waits for it; serve.py imports them before the server answers."""
    warmed = late_imports(ROOT / "serve.py")
    late = {name: path.relative_to(ROOT) for path in [ROOT / "app.py", *(ROOT / "core").rglob("*.py"),
                                                      *(ROOT / "app_pages").rglob("*.py")]
            for name in late_imports(path)}
    cold = {name: str(path) for name, path in late.items()
            if name.split(".")[0] not in COLD_ON_PURPOSE
            and not any(name == w or name.startswith(w + ".") for w in warmed)}
    assert not cold, f"imported late by a page but not warmed by serve.py: {cold}"


def test_the_late_import_scanner_sees_function_level_imports(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import numpy\n\ndef f():\n    from captum.attr import Saliency\n    import core.lab\n")
    assert late_imports(sample) == {"captum.attr"}
