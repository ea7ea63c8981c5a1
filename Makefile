# One task runner: CI runs `make check`, and so should you before pushing.
.PHONY: check test lint types format

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
