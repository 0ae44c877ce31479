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

# Generate a small default dataset from the built-in procedural parts, render samples, and train
# the default model on it for a few minutes, then evaluate it against the rule baseline (prints
# the headline figures and the path of the HTML report); last, `check` the example parts (good
# and bad STL boxes) with the shipped model and print the table (exit code 1: some are bad).
demo: $(STAMP)
	$(BIN)/printability generate --out $(DEMO)/data --count 1000 --resume
	$(BIN)/printability stats $(DEMO)/data
	$(BIN)/printability show $(DEMO)/data --per-class 3 --out $(DEMO)/samples.png
	for c in no_defect printable_hole small_hole thin_wall; do \
	  $(BIN)/printability show $(DEMO)/data --defect $$c --out $(DEMO)/$$c.png || exit 1; done
	$(BIN)/printability train --data $(DEMO)/data --out $(DEMO)/run --resume
	$(BIN)/printability evaluate --checkpoint $(DEMO)/run/best.pt --data $(DEMO)/data \
	  --out $(DEMO)/report --gallery 8
	$(BIN)/printability samples --out $(DEMO)/parts
	$(BIN)/printability check $(DEMO)/parts --no-progress || test $$? -eq 1
	@echo "demo pictures are in $(DEMO)/, the trained model and its metrics in $(DEMO)/run/"
	@echo "open the evaluation report: $(DEMO)/report/report.html"
	@echo "browse the tracked run: $(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/voxelize.py
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/train_speed.py --models fastnet vanilla3dcnn
	$(BIN)/python bench/train.py
	$(BIN)/python bench/evaluate.py
	$(BIN)/python bench/rules.py --data out/bench/d64_eval

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
