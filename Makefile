# make demo  - create .venv if needed, install, crawl the bundled demo site end to end
# make test  - create .venv if needed, install (Chromium too, for the browser tests), ruff check +
#              format check + import contracts + the tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup browser demo test lint format bench site clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/archiver demo

# The browser tests (tests/test_web_browser.py) drive Debian's Chromium through Playwright's
# Python package (a dev dependency); Playwright cannot download its own browsers here. Installed
# when missing if we are root; otherwise say how, and go on (the tests skip, or fail under CI=true).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium for the browser tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "chromium is missing: the browser tests will be skipped (and fail under CI=true);"; \
	    echo "  install it as root: apt-get update && apt-get install -y chromium"; \
	  fi; }

test: $(STAMP) browser lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# Rebuild the shipped demo site and the extractor fixtures after changing the dataset/renderer.
site: $(STAMP)
	$(BIN)/python -m archiver.demo.build
	$(BIN)/python tests/fixtures/build_fixtures.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
