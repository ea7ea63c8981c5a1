# One task runner: CI runs `make check`, and so should you before pushing.
.PHONY: check test lint types format mutate

check: lint types test

test:
	python -m pytest -q

lint:
	ruff check .
	ruff format --check .

types:
	mypy

format:
	ruff format .
	ruff check --fix .

# Mutation testing of the guarantee modules (slow; not part of check/CI). Run it before
# touching a guarantee module, and after: see mutation/ and README "Development".
# MUTATE_MAX bounds the mutants tried per module; MUTATE_ONLY picks modules.
MUTATE_MAX ?= 60
# MUTATE_MINUTES: a time budget per module (0: none); what ran by then is scored.
MUTATE_MINUTES ?= 0
mutate:
	python mutation/run.py --max $(MUTATE_MAX) --minutes $(MUTATE_MINUTES) $(MUTATE_ONLY)
