"""Keep the one-way flow true (AST walk of every import).

engine/ is the base: it imports nothing else of the project. detector/ and recognizer/ stand on it and never
import ocr, tools or each other. ocr/ knows both stages. tools/ are scripts: nothing imports them and they
do not import each other. synth/ (the generators' shared code) knows none of the engine.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = {"engine", "detector", "recognizer", "ocr", "tools", "synth"}
ALLOWED = {"engine": set(), "detector": {"engine"}, "recognizer": {"engine"},
           "ocr": {"engine", "detector", "recognizer"}, "synth": {"recognizer"}, "tools": PROJECT - {"tools"}}
TOOLS = {p.stem for p in (ROOT / "tools").glob("*.py")}
TORCH_FREE = ["ocr.config", "ocr.io", "ocr.crop", "ocr.draw", "ocr.types", "engine.images", "detector.config",
              "recognizer.config"]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_respect_layering(package):
    files = list((ROOT / package).rglob("*.py"))
    assert files
    for f in files:
        bad = imported_packages(f) & ((PROJECT | TOOLS) - ALLOWED[package] - {package})
        assert not bad, f"{f.relative_to(ROOT)} imports {sorted(bad)}"


def test_torch_free_modules_load_without_torch():
    """The config, input and drawing modules stay light: ocr-run checks its arguments before torch loads."""
    code = f"import sys; import {', '.join(TORCH_FREE)}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_no_torchvision_anywhere():
    for folder in ("engine", "ocr", "detector", "recognizer", "tools", "tests", "synth"):
        for f in (ROOT / folder).rglob("*.py"):
            assert "torchvision" not in imported_packages(f), f
