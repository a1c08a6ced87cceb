"""The arrows between the archive modules and the Celery tasks go one way: media_library.tasks
imports media_library.archives, never the reverse (the archives send tasks by name)."""

import ast
from pathlib import Path

import pytest

import media_library.archives

ARCHIVES = Path(media_library.archives.__file__).parent


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("path", sorted(ARCHIVES.glob("*.py")), ids=lambda path: path.name)
def test_no_archive_module_imports_the_tasks_module(path):
    assert "media_library.tasks" not in set(imported_modules(path))
