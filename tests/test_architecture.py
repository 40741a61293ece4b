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


@pytest.mark.parametrize("path", [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))], ids=lambda p: p.name)
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
