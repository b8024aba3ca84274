# The two commands of a fresh machine (README.md): `make demo` and `make test`.
# Both first run tools/setup_env.sh, which builds .venv on first use and is
# quick once it is complete.
PYTHON := .venv/bin/python

.PHONY: setup demo test lint

setup:
	@bash tools/setup_env.sh

demo: setup
	$(PYTHON) tools/demo.py

# two workers (pytest-xdist), one test file each: most tests run the tools as single-threaded
# subprocesses, which leave a second core idle
test: setup
	$(PYTHON) -m pytest tests -q -p no:cacheprovider -n 2 --dist loadfile

lint: setup
	$(PYTHON) -m ruff check .
