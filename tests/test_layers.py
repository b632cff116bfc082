"""The engine's packages form layers (README "Layout"): a module imports only from its own layer or below,
at module level and inside functions alike; no package imports xai_core inside a function; the packages
form no cycle; long functions say why. The checker is shown to catch the upward imports an architecture review found."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "xai_core"
# bottom to top; packages (or modules directly under xai_core/) of one layer may import each other, without cycles
LAYERS = {
    "versions": 0,
    "imaging": 0,
    "spread": 0,
    "data": 0,
    "models": 1,
    "attribution": 2,
    "sftgan": 3,
    "generative": 3,
    "explainers": 4,
    "metrics": 5,
    "jobs": 6,
    "reports": 7,
    "survey": 8,
    "captioning": 8,
    "cli": 9,
}
FACE = {"__init__", "__main__"}  # xai_core/__init__.py (the public API) and __main__.py import from any layer


def package_of(relative: Path) -> str:
    """xai_core/<package>/... or xai_core/<module>.py -> its top-level name."""
    return relative.with_suffix("").parts[0]


def imported_packages(source: str, relative: Path) -> list[tuple[str, int, bool]]:
    """(xai_core package imported, line, inside a function) for every import of xai_core in ``source``, the
    module at ``relative`` (a path under xai_core/)."""
    tree = ast.parse(source)
    in_function = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(function)
    }
    here = list(relative.parent.parts)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                module = base + (node.module.split(".") if node.module else [])
                targets = [module[0]] if module else [alias.name for alias in node.names]
            elif node.module and node.module.split(".")[0] == "xai_core":
                parts = node.module.split(".")[1:]
                targets = [parts[0]] if parts else [alias.name for alias in node.names]
            else:
                continue
        elif isinstance(node, ast.Import):
            targets = [alias.name.split(".")[1] for alias in node.names if alias.name.startswith("xai_core.")]
        else:
            continue
        found += [(target, node.lineno, id(node) in in_function) for target in targets]
    return found


def violations(source: str, relative: Path) -> list[str]:
    """What breaks the layering in one module: upward imports, imports of unknown packages, in-function imports."""
    importer = package_of(relative)
    if importer in FACE:
        return []
    if importer not in LAYERS:
        return [f"{relative}: package {importer!r} has no layer: add it to LAYERS (and the README picture)"]
    problems = []
    for target, line, inside_function in imported_packages(source, relative):
        if target == importer:
            continue
        if target not in LAYERS:
            problems.append(f"{relative}:{line} imports {target!r}, which has no layer")
        elif LAYERS[target] > LAYERS[importer]:
            problems.append(f"{relative}:{line} imports {target} (layer {LAYERS[target]}) from {importer} (layer {LAYERS[importer]})")
        if inside_function:
            problems.append(f"{relative}:{line} imports {target} inside a function: import at module level")
    return problems


def engine_modules() -> list[tuple[Path, str]]:
    return [(path.relative_to(ENGINE), path.read_text()) for path in sorted(ENGINE.rglob("*.py"))]


def test_every_module_imports_only_from_its_layer_or_below():
    problems = [problem for relative, source in engine_modules() for problem in violations(source, relative)]
    assert problems == []


def test_the_packages_form_no_cycle():
    graph: dict[str, set[str]] = {}
    for relative, source in engine_modules():
        importer = package_of(relative)
        if importer not in FACE:
            graph.setdefault(importer, set()).update(t for t, _, _ in imported_packages(source, relative) if t != importer)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in graph.get(start, ()))

    assert [package for package in graph if reaches(package, package, {package})] == []


def test_every_package_has_a_layer():
    packages = {package_of(relative) for relative, _ in engine_modules()} - FACE
    assert packages <= set(LAYERS), packages - set(LAYERS)


# the upward imports the architecture review found (issue 18), as the files held them
REVIEWED = [
    ("attribution/registry.py", "from ..sftgan.explainer import GSFT, LSFT\n"),
    ("sftgan/data.py", "from ..jobs.executors import Executor, LocalExecutor\n"),
    ("metrics/suite.py", "from ..unified.charts import level_curves_figure\n"),
    ("metrics/suite.py", "from ..reports.charts import level_curves_figure\n"),
    ("reports/charts.py", "from ..survey.analysis import regular_votes\n"),
    ("survey/design.py", "def generators():\n    from ..explainers import EXPLAINERS\n"),
    ("survey/design.py", "from xai_core.cli import main\n"),
    ("captioning/commands.py", "from ..cli import _refuse_shadowing_shipped\n"),
    ("generative/augmentation.py", "from ..metrics.faithfulness import drop_percentages\n"),
    ("sftgan/training.py", "import xai_core.metrics.agreement\n"),
    ("models/registry.py", "def load():\n    from ..data import load_dataset\n"),  # below, but hidden in a function
]


@pytest.mark.parametrize(("path", "source"), REVIEWED, ids=[f"{path}:{source.split()[1]}" for path, source in REVIEWED])
def test_the_checker_catches_what_the_review_found(path, source):
    assert violations(source, Path(path)) != []


def test_the_checker_accepts_imports_from_below_and_from_outside():
    source = "import torch\nfrom ..models.card import ModelCard\nfrom .base import Explainer\nfrom xai_core.data import load_dataset\n"
    assert violations(source, Path("attribution/cam.py")) == []
    assert violations("from .cli import main\n", Path("__main__.py")) == []


MAX_FUNCTION_LINES = 60


def test_long_functions_say_why_they_are_long():
    """No function in the engine or the pages runs over 60 lines unless its docstring says why ("Long: ...")."""
    root = ENGINE.parent
    unexplained = []
    for path in sorted([*ENGINE.rglob("*.py"), *(root / "pages").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            too_long = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
            if too_long and "Long:" not in (ast.get_docstring(node) or ""):
                unexplained.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    assert unexplained == []
