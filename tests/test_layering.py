"""Keep the one-way flow true: detector/ and recognizer/ are leaves that never import ocr, tools or each other."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"recognizer": {"ocr", "tools", "detector"}, "detector": {"ocr", "tools", "recognizer"},
             "ocr": {"tools"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_layering(package):
    files = list((ROOT / package).rglob("*.py"))
    assert files
    for f in files:
        bad = imported_packages(f) & FORBIDDEN[package]
        assert not bad, f"{f.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_torchvision_anywhere():
    for folder in ("ocr", "detector", "recognizer", "tools", "tests"):
        for f in (ROOT / folder).rglob("*.py"):
            assert "torchvision" not in imported_packages(f), f
