"""The layer contracts hold, and each of them fails when a forbidden import is added.

`lint-imports` (import-linter) checks the contracts in pyproject.toml; `make test` runs it too.
Each case below copies the packages, adds one import a contract forbids, and checks that this
contract (and the run) fails: a contract that cannot fail would be a defect.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    command = [str(LINT_IMPORTS), "--no-cache"]
    for contract in contracts:
        command += ["--contract", contract]
    return subprocess.run(
        command, cwd=tree, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the three packages and the contracts (the checkout stays untouched)."""
    copy = tmp_path_factory.mktemp("tree")
    for package in ("archiver", "spiders", "pipelines"):
        shutil.copytree(
            ROOT / package,
            copy / package,
            ignore=shutil.ignore_patterns("__pycache__", "site"),
        )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("contract", "module", "forbidden_import"),
    [
        ("layers", "archiver/db/stats.py", "import archiver.export.run"),
        ("layers", "archiver/crawler/status.py", "import pipelines.store"),
        ("pure-core", "archiver/sites.py", "import sqlalchemy"),
        ("pure-core", "archiver/outcome.py", "import scrapy"),
        ("extract-normalize", "archiver/extract/layouts.py", "import scrapy"),
        ("extract-normalize", "archiver/normalize/dates.py", "import archiver.db.runs"),
        ("db-no-scrapy", "archiver/db/stats.py", "import scrapy"),
        ("spiders-route", "spiders/amnestyusa.py", "import archiver.db.runs"),
        ("spiders-route", "spiders/reparse.py", "from sqlalchemy import select"),
        ("export-no-scrapy", "archiver/export/run.py", "import scrapy"),
        ("web-no-scrapy", "archiver/web/diff.py", "import twisted"),
        ("no-cycles", "archiver/sites.py", "import archiver.normalize.titles"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tree: Path, contract: str, module: str, forbidden_import: str
) -> None:
    path = tree / module
    original = path.read_text(encoding="utf-8")
    # At the end of the module, inside a function: a hidden import counts as much as any.
    path.write_text(
        original + f"\n\ndef _added_by_the_test() -> None:\n    {forbidden_import}\n",
        encoding="utf-8",
    )
    try:
        result = lint_imports(tree, contract)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0, result.stdout[-2000:]
    assert "BROKEN" in result.stdout


# -- import cycles between modules, across the three packages ------------------------------------

CYCLE_SCRIPT = """
import sys
import grimp
sys.path.insert(0, sys.argv[1])
graph = grimp.build_graph("archiver", "spiders", "pipelines", cache_dir=None)
sys.path.insert(0, sys.argv[2])
from test_architecture import module_cycles
for cycle in module_cycles(graph):
    print(" -> ".join(cycle))
"""


def module_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every group of modules that import each other, directly or through others (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in graph.modules:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def cycles_in(tree: Path) -> list[str]:
    """The import cycles of the packages in `tree`, one line each (run in a fresh process, so
    the packages are the tree's and not the installed ones)."""
    result = subprocess.run(
        [sys.executable, "-c", CYCLE_SCRIPT, str(tree), str(Path(__file__).parent)],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.splitlines()


def test_no_module_is_part_of_an_import_cycle() -> None:
    assert cycles_in(ROOT) == []


def test_a_cycle_is_found(tree: Path) -> None:
    path = tree / "archiver" / "errors.py"
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\n\ndef _added() -> None:\n    import archiver.sites\n")
    try:
        assert cycles_in(tree) == ["archiver.errors -> archiver.sites"]
    finally:
        path.write_text(original, encoding="utf-8")
