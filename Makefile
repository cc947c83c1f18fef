# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench install java chromium clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vitrine needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) java

# Spark needs Java 17+. Installed with apt when we can (root, Debian/Ubuntu); otherwise a clear message.
java:
	@$(PYTHON) -c "import shutil,sys; sys.exit(0 if shutil.which('java') else 1)" || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	    else echo "Spark needs Java 17+: install it (apt-get install openjdk-17-jre-headless, brew install openjdk@17) or set JAVA_HOME"; exit 1; fi; }
	@$(BIN)/vitrine doctor

# The generated data ends on 31/10/2026: the live figures replay that day (unset VITRINE_TODAY for real dates).
run: install
	VITRINE_TODAY=$${VITRINE_TODAY:-2026-10-31} $(BIN)/vitrine run

# The dashboard's browser test runs Debian's Chromium headless (and an emoji font for the screenshots).
chromium:
	@command -v chromium >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; \
	    else echo "The dashboard's browser test needs Chromium: apt-get install chromium (or your system's package)"; exit 1; fi; }

# Two workers, each module's tests in one of them and the main job's in one (tests/conftest.py):
# 767-812 s of pytest on 2 cores where one process took 1,272 s (one process left a core idle 39% of the time).
test: install chromium
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

bench: install
	$(BIN)/python benchmarks/bench_ingest.py

clean:
	rm -rf .vitrine .pytest_cache
