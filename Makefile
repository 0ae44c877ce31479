# Two commands do all the set-up: `make demo` and `make test`. Both create or reuse .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := out/demo

.PHONY: venv demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# Generate a small default dataset from the built-in procedural parts and render samples.
demo: $(STAMP)
	$(BIN)/printability generate --out $(DEMO)/data --count 400 --resume
	$(BIN)/printability stats $(DEMO)/data
	$(BIN)/printability show $(DEMO)/data --per-class 3 --out $(DEMO)/samples.png
	for c in no_defect printable_hole small_hole thin_wall; do \
	  $(BIN)/printability show $(DEMO)/data --defect $$c --out $(DEMO)/$$c.png || exit 1; done
	@echo "demo pictures are in $(DEMO)/"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/voxelize.py
	$(BIN)/python bench/generate.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
