"""The floor plan's size rule: no module over ~400 lines, no function over ~60 (migrations aside).

A module that outgrows it is split by job (STYLE.md); the import rules are import-linter's
(`lint-imports`, run by `make test`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("crawler", "storage", "tests", "bench")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def python_files() -> list[Path]:
    return sorted(path for folder in FOLDERS for path in (REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_module_and_its_functions_stay_short(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    too_long = [
        f"{node.name} (line {node.lineno}): {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert text.count("\n") <= MAX_MODULE_LINES, f"{text.count(chr(10))} lines"
    assert not too_long, too_long
