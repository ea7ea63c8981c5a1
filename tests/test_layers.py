"""The core stays free of Slack and HTTP; SQL stays in storage/."""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The composition roots may wire Slack in; everything else in promptbot/ may not.
COMPOSITION = {"app.py", "cli.py"}
FORBIDDEN = ("slack_bolt", "slack_sdk", "handlers", "urllib", "http", "requests", "waitress")


def imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_core_does_not_import_slack_or_http():
    for path in (ROOT / "promptbot").glob("*.py"):
        if path.name in COMPOSITION:
            continue
        for name in imports(path):
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b\s+(\*|INTO|FROM|[a-z_]+\s*(,|FROM|SET))")


def test_sql_lives_in_storage():
    for folder in ("promptbot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not SQL.search(path.read_text()), f"SQL in {path.relative_to(ROOT)}"
