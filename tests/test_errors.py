"""The error tree lives in one file: no module defines a PipekitError of its own."""

from __future__ import annotations

import ast
from pathlib import Path

from pipekit import errors

PACKAGE = Path(errors.__file__).parent


def test_no_pipekit_error_is_defined_outside_errors_py() -> None:
    tree_names = set(errors.__all__)
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
                if bases & tree_names:
                    found.append(f"{path.relative_to(PACKAGE.parent)}: class {node.name}")
    assert not found, "define these in pipekit/errors.py: " + "; ".join(found)
