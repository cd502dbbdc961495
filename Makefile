PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench notebooks docs clean

$(STAMP): requirements.txt requirements-notebooks.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-notebooks.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

## Train every tutorial on the embedded data, print results, list the artifacts.
demo: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m nmt_attention demo --run runs/demo/nmt_attention
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m transformer demo --run runs/demo/transformer
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m classify demo --run runs/demo/classify

## Run the test suite.
test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) bench/nmt_attention_speed.py
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) bench/transformer_speed.py
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) bench/classify_speed.py

## The tutorials as notebooks (tutorials/*.ipynb, made from the .py sources).
notebooks: $(STAMP)
	$(VENV)/bin/jupytext --to ipynb tutorials/[0-9]*.py

## Run the tutorials and render their readings into docs/tutorials/ (TUTORIAL_SCALE=demo by
## default; TUTORIAL_SCALE=real TUTORIAL_DATA=DIR for the real data; TUTORIALS="01_..." for
## some of them).
docs: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) tutorials/render.py $(TUTORIALS)

clean:
	rm -rf runs .pytest_cache
