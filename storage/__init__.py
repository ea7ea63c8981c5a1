"""SQLite storage: the only package that holds SQL."""

import sys

# sqlite-utils imports numpy and pandas, when installed, as it loads, only to recognise
# their scalars among values to insert; the store inserts plain Python values. numpy is
# installed for the statistics, and loading it here would add ~15 MB and a tenth of a
# second to every start-up (bench/bench_startup.py), so sqlite-utils is imported while
# they look absent. The statistics still import numpy normally, when first needed.
_hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
for _name in _hidden:
    sys.modules[_name] = None  # type: ignore[assignment]
try:
    import sqlite_utils  # noqa: F401
finally:
    for _name in _hidden:
        del sys.modules[_name]

from storage.store import Store  # noqa: E402

__all__ = ["Store"]
