# The two commands of a fresh machine (README.md): `make demo` and `make test`.
# Both first run tools/setup_env.sh, which builds .venv on first use and is
# quick once it is complete.
PYTHON := .venv/bin/python

.PHONY: setup demo test lint

setup:
	@bash tools/setup_env.sh

demo: setup
	$(PYTHON) tools/demo.py

test: setup
	$(PYTHON) -m pytest tests -q -p no:cacheprovider

lint: setup
	$(PYTHON) -m ruff check .
