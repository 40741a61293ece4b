# Two commands for a new user: `make run` starts the dashboard, `make test` runs every test.
# Both create .venv from the requirement files when it is missing or older than them; a .venv whose Python or
# pip does not run (one cut off while being made) is made again.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
DATA_DIR ?=

.PHONY: run dev test test-fast test-browser test-load test-capacity bench lint clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Warm: serve.py imports the engine and trains the Home page's example before the server answers.
run: $(BIN)/.installed
	$(if $(DATA_DIR),NNLAB_DATA_DIR=$(DATA_DIR)) $(BIN)/python serve.py --server.port $(PORT)

# For changing the code: reload on save (the file watcher is off in .streamlit/config.toml for serving).
dev: $(BIN)/.installed
	$(if $(DATA_DIR),NNLAB_DATA_DIR=$(DATA_DIR)) $(BIN)/streamlit run app.py --server.port $(PORT) \
		--server.fileWatcherType auto --server.runOnSave true

# The whole suite: engine, pages (AppTest), the real-browser journey, the load test and the short protocol-level
# class; not the full capacity run (make test-capacity).
test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not capacity"

test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not browser and not load and not capacity"

test-browser: $(BIN)/.installed
	$(BIN)/python -m pytest -m "browser and not load"

test-load: $(BIN)/.installed
	$(BIN)/python -m pytest -m load

# A class of 10, 30, 60 and 100 students on fresh servers, two minutes each (about 10 minutes): the knee.
test-capacity: $(BIN)/.installed
	$(BIN)/python -m pytest -m capacity

bench: $(BIN)/.installed
	$(BIN)/python -m core bench $(if $(DATA_DIR),--data-dir $(DATA_DIR))

lint: $(BIN)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
