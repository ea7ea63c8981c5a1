"""`make mutate`: mutmut on the modules that carry a guarantee, one module at a time.

Usage: python mutation/run.py [--max N] [--minutes M] [--jobs J] [--table | --again | --verify]
       [MODULE_PATH ...]

mutmut (3.x) makes each change inside a copy of the code under ./mutants and runs only
the tests that call the changed function (it records which tests call what on a first
pass). This driver adds what our code needs on top, by swapping mutmut's string
operator before it generates anything:

- SQL strings: changes SQLite cannot see (keyword or identifier case) and the "XX"
  wrapper (a syntax error any test catches) are skipped; instead the SQL itself is
  changed: AND <-> OR, OR IGNORE <-> OR REPLACE, comparisons, ASC <-> DESC,
  MIN <-> MAX, IS NULL <-> IS NOT NULL, the case of quoted literals ('posting').
  Triple-quoted SQL, which mutmut leaves alone, is mutated the same way.
- A bounded sample per module (--max, evenly spread over the module's functions),
  said so in the output, because the machine is small and shared; and a time budget
  per module (--minutes): what ran by then is scored, the rest is not counted as tried.
  MUTATE_SKIP_CLEAN=1 skips mutmut's clean run of the selected tests (right after a
  green `make check` only: for modules the end-to-end tests call it is the suite again).
- A module's own tests (`tests` in modules.toml, test files): of the tests that call a
  mutant's function only those run, for a module every end-to-end test calls (the inbox
  worker: 300 tests, three minutes a mutant). The score is then a lower bound.

`--verify MODULE…` runs each mutant of the last measurement again in a pytest process of
its own (no fork server), against the same tests in the same order, and keeps that
verdict where it differs: under the fork server a kill has been a flake (two of 300 in
one run of the inbox worker's mutants, equivalent ones among them).

Then it prints a score per module (caught / (tried - accepted)), the survivors with
their diffs, and which modules miss their target. Accepted survivors (harmless ones,
with the reason) are listed in mutation/accepted.toml; targets in mutation/modules.toml.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

_SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE)\b")
_SQL_WORD = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM|VALUES|SET|JOIN|AND|OR|ORDER BY|GROUP BY"
    r"|ON CONFLICT|IGNORE|LIMIT|IS NULL|IS NOT NULL)\b"
)
_QUOTED = re.compile(r"'[^']*'")
# (pattern, replacement): each match is one mutant.
_SQL_SWAPS: list[tuple[str, str]] = [
    (r"\bAND\b", "OR"),
    (r"\bOR\b(?!\s+(IGNORE|REPLACE|ABORT|FAIL|ROLLBACK)\b)", "AND"),
    (r"\bOR IGNORE\b", "OR REPLACE"),
    (r"\bOR REPLACE\b", "OR IGNORE"),
    (r">=", ">"),
    (r"<=", "<"),
    (r">(?!=)", ">="),
    (r"(?<![<>!])<(?![=>])", "<="),
    (r"!=|<>", "="),
    (r"(?<=\s)=(?=\s)", "!="),
    (r"\bASC\b", "DESC"),
    (r"\bDESC\b", "ASC"),
    (r"\bMIN\(", "MAX("),
    (r"\bMAX\(", "MIN("),
    (r"\bIS NULL\b", "IS NOT NULL"),
    (r"\bIS NOT NULL\b", "IS NULL"),
    (r"\bNOT IN\b", "IN"),
    (r"\bDISTINCT ", ""),
]


def _is_sql(body: str, triple: bool) -> bool:
    if triple:
        return bool(_SQL_START.search(body))
    return bool(_SQL_START.search(body)) or (
        bool(_SQL_WORD.search(body)) and ("?" in body or "=" in body)
    )


def _sql_mutations(body: str) -> Iterable[str]:
    # "=" only where it compares (after WHERE/AND/OR/ON/WHEN/HAVING), not in SET a = ?.
    last_keyword = re.compile(r"\b(SET|WHERE|AND|OR|ON|WHEN|HAVING|VALUES|SELECT)\b")
    for pattern, replacement in _SQL_SWAPS:
        for match in re.finditer(pattern, body):
            if replacement == "!=":
                before = last_keyword.findall(body[: match.start()])
                if not before or before[-1] in ("SET", "VALUES", "SELECT"):
                    continue
            yield body[: match.start()] + replacement + body[match.end() :]
    upper_literals = _QUOTED.sub(lambda m: m.group(0).upper(), body)
    if upper_literals != body:
        yield upper_literals


def _patch_mutmut() -> None:
    import libcst as cst
    from mutmut.mutation import mutators

    original = mutators.operator_string

    def operator_string(node: cst.BaseString) -> Iterable[cst.BaseString]:
        if isinstance(node, cst.SimpleString):
            value = node.value
            quote_at = min(i for i in (value.find('"'), value.find("'")) if i != -1)
            prefix, quoted = value[:quote_at], value[quote_at:]
            triple = quoted[:3] in ('"""', "'''")
            width = 3 if triple else 1
            body = quoted[width:-width]
            if "r" not in prefix.lower() and "f" not in prefix.lower() and _is_sql(body, triple):
                for mutated in _sql_mutations(body):
                    yield node.with_changes(
                        value=f"{prefix}{quoted[:width]}{mutated}{quoted[-width:]}"
                    )
                return
        yield from original(node)

    for index, (node_type, operator) in enumerate(mutators.mutation_operators):
        if operator is original:
            mutators.mutation_operators[index] = (node_type, operator_string)


def _load(name: str) -> dict[str, Any]:
    return tomllib.loads((HERE / name).read_text())


def _spread(names: list[str], limit: int) -> list[str]:
    if limit <= 0 or len(names) <= limit:
        return names
    step = len(names) / limit
    return [names[int(i * step)] for i in range(limit)]


def _mutant_key(name: str) -> tuple[str, int]:
    function, _, number = name.rpartition("__mutmut_")
    return function, int(number)


def _stop_after(minutes: float) -> threading.Timer | None:
    """Interrupt this process after ``minutes`` of mutants (mutmut then stops its workers
    and keeps what it measured). Python's own SIGINT handler is put back first: a job started in
    the background ignores SIGINT, and the interruption would be lost."""
    if minutes <= 0:
        return None
    signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(minutes * 60, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()
    return timer


def _refresh_data_files() -> None:
    """mutmut copies the source tree into ./mutants once and keeps what is there; .py
    files are renewed by their hashes, but a changed template (.j2) or other data file
    would stay stale and fail the tests that read it."""
    import filecmp
    import shutil

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    for top in config["source_paths"]:
        for source in (ROOT / top).rglob("*"):
            if not source.is_file() or source.suffix in (".py", ".pyc"):
                continue
            target = ROOT / "mutants" / source.relative_to(ROOT)
            if target.exists() and filecmp.cmp(source, target, shallow=False):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _own_tests(
    tests: Iterable[str], files: list[str], seconds: dict[str, float] | None = None
) -> list[str]:
    """Of ``tests`` (pytest node ids), those in ``files``, in the order of the files and
    the quickest first in each (pytest stops at the first failure); all of them if none is."""
    tests = list(tests)
    own = [test for test in tests if test.split("::")[0] in files]
    times = seconds or {}
    own.sort(key=lambda test: (files.index(test.split("::")[0]), times.get(test, 0.0), test))
    return own or tests


def _run_within(
    names: list[str], jobs: int, minutes: float, path: str, files: list[str] | None = None
) -> None:
    """mutmut's run of ``names``, stopped after ``minutes`` of mutants (0: no limit),
    each against the tests of ``files`` among those that call it (if given).
    The clock starts after mutmut's own first passes (finding which tests call what, a
    clean run), which are not the mutants' time."""
    import math

    from mutmut import __main__ as mm

    timers: list[threading.Timer | None] = []
    forced_fail = mm.run_forced_fail_test

    def then_start_the_clock(runner: Any) -> None:
        forced_fail(runner)
        timers.append(_stop_after(minutes))

    mm.run_forced_fail_test = then_start_the_clock
    make_runner = mm.get_mutant_runner
    skip_clean = os.environ.get("MUTATE_SKIP_CLEAN") == "1"

    def runner_as_configured(max_workers: int = 1) -> Any:
        runner = make_runner(max_workers)
        if skip_clean:
            # mutmut first runs every selected test without a mutant; for modules the
            # end-to-end tests call, that is most of the suite again. Only right after a
            # green `make check`. mutmut's forced-failure check still runs.
            runner.run_clean_tests = lambda tests: 0
        elif files:
            clean = runner.run_clean_tests
            runner.run_clean_tests = lambda tests: clean(_own_tests(tests, files))
        if files:
            submit = runner.submit

            def submit_own(name: str, tests: list[str], cpu_limit: int, estimate: float) -> None:
                # the time limits as mutmut sets them, from the tests that do run
                seconds = mm.state().duration_by_test
                own = _own_tests(tests, files, seconds)
                cfg = mm.config()
                estimate = sum(seconds.get(test, 0.0) for test in own)
                limit = (estimate + cfg.timeout_constant) * cfg.timeout_multiplier * 2
                submit(name, own, math.ceil(limit), estimate)

            runner.submit = submit_own
        return runner

    mm.get_mutant_runner = runner_as_configured
    try:
        mm._run(names, jobs)
    except KeyboardInterrupt:
        print(f"{path}: out of time; scoring the mutants tried so far")
    for timer in timers:
        if timer is not None:
            timer.cancel()


def _forget_unmutated_copy(path: str) -> None:
    """A module new to only_mutate was copied into ./mutants unchanged before, and mutmut
    keeps a copy newer than its source, so it would never be mutated; and the tests were
    mapped without it, so its mutants would have "no tests". Drop both: the copy is made
    again with mutants, and the tests mapped again (the whole suite, once)."""
    copy = ROOT / "mutants" / path
    if copy.exists() and not (ROOT / "mutants" / (path + ".meta")).exists():
        print(f"{path}: new to mutation, so the tests are mapped again first", flush=True)
        copy.unlink()
        (ROOT / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)


def _module(path: str) -> dict[str, Any]:
    return next(m for m in _load("modules.toml")["module"] if m["path"] == path)


def run_one(path: str, limit: int, jobs: int, minutes: float = 0) -> None:
    """In a child process: generate, sample, run one module; write its results."""
    _patch_mutmut()
    from mutmut import __main__ as mm
    from mutmut.mutation.data import SourceFileMutationData

    os.makedirs("mutants", exist_ok=True)
    _forget_unmutated_copy(path)
    _refresh_data_files()
    mm.copy_src_dir()
    mm.copy_also_copy_files()
    mm.setup_source_paths()
    mm.store_lines_covered_by_tests()
    mm.create_mutants(jobs)
    data = SourceFileMutationData(path=path)
    data.load()
    every = sorted(data.exit_code_by_key, key=_mutant_key)
    sample = _spread(every, limit)
    _run_within(sample, jobs, minutes, path, _module(path).get("tests"))
    record(path, len(every), sample)


def record(path: str, total: int, sample: list[str]) -> None:
    """Write a module's results for the mutants of ``sample`` that were run (a run cut
    short by --minutes leaves some unchecked: they are not counted as tried)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    data = SourceFileMutationData(path=path)
    data.load()
    results = {name: status_by_exit_code[data.exit_code_by_key.get(name)] for name in sample}
    results = {name: status for name, status in results.items() if status != "not checked"}
    survivors = {
        name: get_diff_for_mutant(name, path=path)
        for name, status in results.items()
        if status in ("survived", "no tests", "suspicious")
    }
    out = Path("mutants") / (path + ".result.json")
    out.write_text(json.dumps({"total": total, "results": results, "diffs": survivors}))


def rerun(path: str, jobs: int, minutes: float = 0) -> None:
    """In a child process: run a module's last survivors again (new tests are found and
    mapped by mutmut first), but not those accepted as harmless."""
    _patch_mutmut()
    _refresh_data_files()
    result_file = ROOT / "mutants" / (path + ".result.json")
    accepted = _load("accepted.toml").get("accepted", {})
    if result_file.exists():
        names = [n for n in json.loads(result_file.read_text())["diffs"] if n not in accepted]
        if names:
            _run_within(names, jobs, minutes, path, _module(path).get("tests"))


def verify(path: str) -> None:
    """Each mutant of ``path`` measured last, run again directly; prints and keeps the
    verdicts that differ (a timeout or a mutant not run is left as it was)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    stats = json.loads((ROOT / "mutants" / "mutmut-stats.json").read_text())
    files = _module(path).get("tests")
    data = SourceFileMutationData(path=path)
    data.load()
    for name, code in sorted(data.exit_code_by_key.items(), key=lambda item: _mutant_key(item[0])):
        was = status_by_exit_code[code]
        if was not in ("killed", "survived"):
            continue
        tests = stats["tests_by_mangled_function_name"].get(name.rpartition("__mutmut_")[0], [])
        if files:
            tests = _own_tests(tests, files, stats["duration_by_test"])
        try:
            code_now = subprocess.call(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-x",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-p",
                    "no:randomly",
                    *tests,
                ],
                cwd=ROOT / "mutants",
                env={**os.environ, "MUTANT_UNDER_TEST": name},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            continue
        now = "survived" if code_now == 0 else "killed"
        if now != was:
            print(f"{name}: {was} under mutmut, {now} alone", flush=True)
            data.exit_code_by_key[name] = 0 if now == "survived" else 1
    data.save()


def _diff(name: str, path: str, recorded: str) -> str:
    """A mutant's change as the module stands now (after a rebase the same name may be
    another change than the one recorded), else as recorded."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    try:
        return str(get_diff_for_mutant(name, path=path))
    except Exception:  # the mutant is gone: its function changed or left the module
        return recorded


def _summarise(
    module: dict[str, Any], accepted: dict[str, str], table: list[tuple[Any, ...]]
) -> str | None:
    """Print a module's survivors, add its row to ``table``; the failure, if any."""
    path = module["path"]
    result_file = ROOT / "mutants" / (path + ".result.json")
    if not result_file.exists():
        return f"{path} (not measured)"
    result = json.loads(result_file.read_text())
    # the latest verdicts (a survivor may have been run again since, and killed)
    from mutmut.stats import status_by_exit_code

    meta = json.loads((ROOT / "mutants" / (path + ".meta")).read_text())["exit_code_by_key"]
    statuses = {name: status_by_exit_code[meta.get(name)] for name in result["results"]}
    tried = len(statuses)
    caught = sum(1 for s in statuses.values() if s in ("killed", "timeout", "segfault"))
    skipped = sum(1 for s in statuses.values() if s in ("skipped", "not checked"))
    # (one killed when recorded may survive a rerun: a flaky kill, or a changed test)
    survivors = [n for n, s in statuses.items() if s in ("survived", "no tests", "suspicious")]
    accepted_here = [n for n in survivors if n in accepted]
    for name in survivors:
        if name in accepted:
            # names are mutmut's numbering, which shifts when the function changes:
            # the diff shows whether the reason still fits the change
            diff = _diff(name, path, result["diffs"].get(name, ""))
            print(f"--- accepted: {name}: {accepted[name]}\n{diff}")
        else:
            print(
                f"--- {statuses[name]}: {name}\n{_diff(name, path, result['diffs'].get(name, ''))}"
            )
    if skipped:
        # the module changed since: mutmut dropped those verdicts; run it again to count them
        print(f"{path}: {skipped} mutants of the last sample changed since, not counted")
    tried -= skipped
    judged = tried - len(accepted_here)
    score = 100.0 * caught / judged if judged else 100.0
    sample = f"{tried} of {result['total']}" if tried < result["total"] else str(tried)
    table.append((path, module.get("label", ""), sample, caught, len(accepted_here), score))
    target = float(module["target"])
    return f"{path} ({score:.0f}% < {target:.0f}%)" if score < target else None


def main(argv: list[str]) -> int:
    limit, jobs, only, run, again, minutes = 60, 1, [], True, False, 0.0
    verifying = False
    args = iter(argv)
    for arg in args:
        if arg in ("-h", "--help"):
            print(__doc__)
            return 0
        if arg == "--max":
            limit = int(next(args))
        elif arg == "--jobs":
            jobs = int(next(args))
        elif arg == "--minutes":  # a time budget per module; what ran by then is scored
            minutes = float(next(args))
        elif arg == "--table":  # only print the table of the last measurements
            run = False
        elif arg == "--again":  # run the last survivors of the named modules again
            run = False
            again = True
        elif arg == "--verify":  # run each mutant of the named modules again, alone
            run = False
            verifying = True
        elif arg == "--rerun":
            rerun(next(args), jobs, minutes)
            return 0
        elif arg == "--one":
            run_one(next(args), int(next(args)), jobs, minutes)
            return 0
        else:
            only.append(arg)
    modules = _load("modules.toml")["module"]
    accepted = _load("accepted.toml").get("accepted", {})
    os.chdir(ROOT)
    table: list[tuple[Any, ...]] = []
    failing = []
    for module in modules:
        path = module["path"]
        if only and path not in only:
            continue
        if run:
            bound = int(module.get("max", limit))
            print(f"\n=== {path}: up to {bound} mutants", flush=True)
            (ROOT / "mutants" / (path + ".result.json")).unlink(missing_ok=True)
            options = ["--jobs", str(jobs), "--minutes", str(minutes)]
            code = subprocess.call([sys.executable, __file__, *options, "--one", path, str(bound)])
            if code != 0:
                print(f"{path}: mutmut failed (exit {code})")
        else:
            print(f"\n=== {path}")
            if again:
                options = ["--jobs", str(jobs), "--minutes", str(minutes)]
                subprocess.call([sys.executable, __file__, *options, "--rerun", path])
            if verifying:
                verify(path)
        failure = _summarise(module, accepted, table)
        if failure:
            failing.append(failure)
    print("\n| module | guarantee | mutants tried | caught | accepted | score |")
    print("|---|---|---|---|---|---|")
    for path, label, sample, caught, n_accepted, score in table:
        print(f"| `{path}` | {label} | {sample} | {caught} | {n_accepted} | {score:.0f}% |")
    print("(score = caught / (tried - accepted); 'N of M' = an evenly spread sample)")
    if failing:
        print("below target or not measured: " + ", ".join(failing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
