"""The layers: the core stays free of Slack and HTTP, SQL stays in storage/, no module
imports in a cycle, and the core's subpackages import only downwards.

Layers, lowest first (a module may import its own layer and those below it):

    errors, domain, redaction, checks
    config
    verdicts
    render
    jobs
    digest
    review
    judge
    prompts
    home, app, cli, shell        composition roots: they wire the core to Slack

``promptbot/standins/`` are test roots: local Slack and model servers, which the tests
and the shell start. They speak HTTP and import nothing of ours but each other.
"""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("promptbot", "handlers", "storage")

LAYERS = [
    {"errors", "domain", "redaction", "checks"},
    {"config"},
    {"verdicts"},
    {"render"},
    {"jobs"},
    {"digest"},
    {"review"},
    {"judge"},
    {"prompts"},
    {"home", "app", "cli", "shell"},
]
# The composition roots may wire Slack in; the rest of promptbot/ may not.
COMPOSITION = {"app", "cli", "shell"}
TEST_ROOTS = {"standins"}
FORBIDDEN = ("slack_bolt", "slack_sdk", "handlers", "urllib", "http", "requests", "waitress")

# Leaves any layer may use: they import nothing of ours when they run (checked below),
# so they cannot close a cycle. review.scales owns emoji → scale → score; config reads
# it to normalise app.yaml's emoji names, the digest and the Home tab to read ratings.
SHARED_LEAVES = {"promptbot.review.scales"}


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(path: pathlib.Path) -> list[str]:
    """Every module ``path`` imports when it runs (function-level imports included,
    ``if TYPE_CHECKING:`` blocks left out): ``from a import b`` counts as ``a.b`` when
    that is a module of ours, else as ``a``."""
    names: list[str] = []
    pending: list[ast.AST] = [ast.parse(path.read_text())]
    while pending:
        node = pending.pop()
        if _type_checking_only(node):
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.append(full if full in MODULES else node.module)
        pending.extend(ast.iter_child_nodes(node))
    return names


def graph() -> dict[str, set[str]]:
    return {
        name: {imported for imported in imported_names(path) if imported in MODULES} - {name}
        for name, path in MODULES.items()
    }


def subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "promptbot" and len(parts) > 1 else None


def layer(module: str) -> int | None:
    top = subpackage(module)
    return next((i for i, names in enumerate(LAYERS) if top in names), None)


def test_every_core_module_has_a_layer():
    unplaced = {
        m for m in MODULES if subpackage(m) and subpackage(m) not in TEST_ROOTS and layer(m) is None
    }
    assert not unplaced, f"add these to LAYERS in tests/test_layers.py: {sorted(unplaced)}"


def test_core_does_not_import_slack_or_http():
    for name, path in MODULES.items():
        top = subpackage(name)
        if top is None or top in COMPOSITION or top in TEST_ROOTS:
            continue
        for imported in imported_names(path):
            assert imported.split(".")[0] not in FORBIDDEN, f"{name} imports {imported}"


def test_stand_ins_import_nothing_of_ours_but_each_other():
    for name, path in MODULES.items():
        if subpackage(name) not in TEST_ROOTS:
            continue
        for imported in imported_names(path):
            top = imported.split(".")[0]
            ours = top in PACKAGES and not imported.startswith("promptbot.standins")
            assert not ours, f"{name} imports {imported}"


def test_storage_takes_plain_values_not_settings():
    for name, path in MODULES.items():
        if name.startswith("storage"):
            for imported in imported_names(path):
                assert not imported.startswith("promptbot.config"), f"{name} imports {imported}"


def test_the_core_imports_only_downwards():
    wrong = []
    for name, imports in graph().items():
        here = layer(name)
        if here is None:
            continue
        for imported in imports:
            there = layer(imported)
            if there is not None and there > here and imported not in SHARED_LEAVES:
                wrong.append(f"{name} -> {imported}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(wrong))


def test_shared_leaves_are_leaves():
    edges = graph()
    for leaf in SHARED_LEAVES:
        assert not edges[leaf], f"{leaf} imports {edges[leaf]}: it is no longer a leaf"


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that import each other, in any number
    of steps."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycles():
    cycles = [sorted(g) for g in strongly_connected(graph()) if len(g) > 1]
    assert not cycles, f"import cycles (move the shared code down a layer): {cycles}"


def test_the_cycle_check_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [g for g in strongly_connected(edges) if len(g) > 1] == [{"a", "b", "c"}]


# The core uses the Store and what it hands out; the records it reads back are the
# domain's (promptbot/domain.py). Storage classes the core may name, and why:
STORAGE_CLASSES_IN_THE_CORE = {
    "Store",
    "DigestLog",  # the digest job's log, passed in by the app factory
    "InstallState",  # the install lifecycle's record, passed in likewise
    "InboxRow",  # the event inbox (issue 9) still returns its own row type
    "CommentOutcome",  # a Literal of storage's answers to a comment (issue 15)
}


def test_the_core_reads_back_domain_records_not_storage_types():
    wrong = []
    for name, path in MODULES.items():
        if subpackage(name) is None and not name.startswith("promptbot"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("storage"):
                wrong += [
                    f"{name}: {alias.name}"
                    for alias in node.names
                    if alias.name[:1].isupper()
                    and not alias.name.isupper()
                    and alias.name not in STORAGE_CLASSES_IN_THE_CORE
                ]
    assert not wrong, f"move these records to promptbot/domain.py: {wrong}"


SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b\s+(\*|INTO|FROM|[a-z_]+\s*(,|FROM|SET))")


def test_sql_lives_in_storage():
    for folder in ("promptbot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not SQL.search(path.read_text()), f"SQL in {path.relative_to(ROOT)}"


# Modules stay small. Those still over, each waiting on its owner's work:
MAX_LINES = 320  # "about 300"
LARGE_FOR_NOW = {
    "promptbot/review/posting.py",  # resumable posting (issue 9)
    "promptbot/standins/payloads.py",  # payloads of every shape (issue 15)
    "storage/migrations.py",  # shipped migrations are never edited, only appended to
}
# Names one letter apart, kept for now (none).
ONE_LETTER_APART_FOR_NOW: set[frozenset[str]] = set()


def test_modules_stay_small():
    large = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in MODULES.values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
        and str(path.relative_to(ROOT)) not in LARGE_FOR_NOW
    ]
    assert not large, f"split these by concern: {large}"


def one_letter_apart(a: str, b: str) -> bool:
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return len(long) - len(short) == 1 and any(
        long[:i] + long[i + 1 :] == short for i in range(len(long))
    )


def test_no_two_names_differ_by_one_letter():
    names = {path.stem for path in MODULES.values()} - {"__init__"}
    names |= {path.parent.name for path in MODULES.values() if path.name == "__init__.py"}
    close = [
        (a, b) for a in sorted(names) for b in sorted(names) if a < b and one_letter_apart(a, b)
    ]
    assert not close, f"names a reader will confuse: {close}"
