# Shopcast: `make run` starts the console, `make test` runs the whole suite.
# Both create .venv on first use; nothing is installed outside the project folder.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run desktop hub test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: open the console window with the embedded hub (ARGS="--port 9000 --source test")
run: desktop $(STAMP)
	$(BIN)/python -m console $(ARGS)

# The system packages a window needs, checked with the system Python before the install:
# a missing one is named with its apt-get line at once (console/desktop.py is the list).
desktop:
	@$(PYTHON) -m console.desktop

## hub: run the hub headless, without a window (ARGS="--bind 0.0.0.0")
hub: $(STAMP)
	$(BIN)/python -m console hub $(ARGS)

## test: lint, import contracts, then every test headless (offscreen Qt, headless Chromium),
## on two workers a test file each (about 9 minutes on 2 cores instead of 15)
test: $(STAMP)
	$(BIN)/ruff check console media widgets tests tools
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadfile $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check console media widgets tests tools
	$(BIN)/ruff format --check console media widgets tests tools
	$(BIN)/lint-imports

## bench: every benchmark in tests/bench, each printing one JSON object
bench: $(STAMP)
	@for bench in tests/bench/*.py; do \
		echo "== $$bench"; QT_QPA_PLATFORM=offscreen $(BIN)/python $$bench || exit 1; \
	done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
