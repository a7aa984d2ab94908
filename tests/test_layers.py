"""The shape of the codebase, checked: layers point one way, imports sit at module top.

The layers are the import-linter contracts in pyproject.toml; imports inside functions
count for import-linter too. Lazy loading happens only at the edges: the CLI's command
group and ``annover.__getattr__``; library modules bind heavy third-party modules at
their top through ``annover._lazy.lazy``.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "annover"
#: the edges, where an import inside a function is the point
EDGES = {"annover/__init__.py", "annover/cli/__init__.py"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    p = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    assert "0 broken" in p.stdout


def test_contracts_name_every_subpackage():
    """A new subpackage must be placed in a layer, or it escapes the contract."""
    text = (ROOT / "pyproject.toml").read_text()
    start = text.index("layers = [")
    layers = text[start:text.index("]", start)]
    for p in sorted(PACKAGE.iterdir()):
        name = p.stem if p.suffix == ".py" else p.name
        if name.startswith("__") or not (p.suffix == ".py" or (p / "__init__.py").exists()):
            continue
        assert f'"{name}' in layers or f"| {name}" in layers or f"{name} |" in layers, \
            f"annover.{name} is in no layer of pyproject.toml's import-linter contract"


def test_no_imports_inside_functions_outside_the_edges():
    found = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel in EDGES:
            continue
        tree = ast.parse(path.read_text(), rel)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        found.append(f"{rel}:{inner.lineno}")
    assert not found, f"{len(found)} import(s) inside functions: {', '.join(found[:20])}"


def test_no_relative_imports():
    """Absolute imports make a module's place in the layers readable at a glance."""
    found = [f"{p.relative_to(ROOT)}:{n.lineno}" for p in _modules()
             for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, ast.ImportFrom) and n.level]
    assert not found, found[:20]


def test_no_private_names_imported_from_another_module():
    """A name with a leading underscore is its module's own: another module that needs it
    gets it under a public name (``from annover._lazy import lazy`` names a private module,
    not a private name, and importing a public name *as* a private alias is fine)."""
    found = [f"{p.relative_to(ROOT)}:{n.lineno} {a.name}" for p in _modules()
             for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, ast.ImportFrom)
             and (n.module or "").startswith("annover") for a in n.names
             if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, found[:20]


def test_public_api_is_all_of_it():
    """``annover.__all__`` names exactly what ``annover`` offers, and every name loads."""
    code = ("import annover, json; names = sorted(annover.__all__); "
            "missing = [n for n in names if getattr(annover, n, None) is None]; "
            "print(json.dumps([names, sorted(dir(annover)), missing]))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    names, listed, missing = __import__("json").loads(p.stdout)
    assert names == ["AnnoverError", "Repo", "Version", "__version__", "annotate", "diff", "export", "init", "load",
                     "resolve", "snapshot"]
    assert listed == names and missing == []
    import annover

    assert set(annover._LAZY) | {"__version__"} == set(annover.__all__)


def test_top_level_functions_mirror_the_repo_methods():
    """``annover.f(..., repo=...)`` takes the keywords of ``Repo.f`` (the CLI's options)."""
    import inspect

    import annover

    for name in ("load", "snapshot", "diff", "export"):
        method = inspect.signature(getattr(annover.Repo, name)).parameters
        function = inspect.signature(getattr(annover, name)).parameters
        assert "repo" in function and function["repo"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert [p for p in function if p != "repo"] == [p for p in method if p != "self"], name
        assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in method.values()), name


def test_no_function_over_sixty_lines():
    """A function's body (its docstring aside) fits on a screen: at most 60 lines."""
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                    body = body[1:]
                n = body[-1].end_lineno - body[0].lineno + 1 if body else 0
                if n > 60:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, long
