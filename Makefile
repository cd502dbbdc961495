PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo explore test lint bench notebooks lab docs clean browser

# uv installs the same pinned wheels as pip in a third of the time (15 s against 46 s here),
# compiled to bytecode as pip does (else every test process compiles TensorFlow's modules
# anew); where uv cannot be had or fails, pip does it.
$(STAMP): requirements.txt requirements-notebooks.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	if $(PY) -m pip install --quiet uv==0.13.9 && $(VENV)/bin/uv pip install --quiet \
		--compile-bytecode --python $(PY) -r requirements.txt -r requirements-notebooks.txt; then \
		$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .; \
	else \
		$(PY) -m pip install --quiet -r requirements.txt -r requirements-notebooks.txt && \
		$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .; \
	fi
	touch $(STAMP)

## Train every tutorial on the embedded data, print results, list the artifacts.
demo: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m nmt_attention demo --run runs/demo/nmt_attention
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m transformer demo --run runs/demo/transformer
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m classify demo --run runs/demo/classify
	@echo
	@echo "Explore the demo's attention in a browser: make explore, then open http://127.0.0.1:8000/"
	@echo "(or, with no server, open runs/demo/transformer/explorer.html or runs/demo/nmt_attention/explorer.html)"

## The attention explorer on make demo's runs: the Transformer at http://127.0.0.1:8000/, the
## GRU at :8001, the BERT classifier at :8002, the ViT at :8003 (Ctrl-C stops them all).
explore: $(STAMP)
	@test -d runs/demo/transformer || { echo "no demo runs: run make demo first"; exit 2; }
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT; \
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m nmt_attention serve --run runs/demo/nmt_attention --port 8001 & \
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m classify bert serve --run runs/demo/classify/bert --port 8002 & \
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m classify vit serve --run runs/demo/classify/vit --port 8003 & \
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m transformer serve --run runs/demo/transformer --port 8000

## The system browser the explorer's browser test drives (Debian's chromium and
## chromium-driver), installed with apt-get when missing (as root; else it says what to do).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver with apt-get (the browser test needs them)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium chromium-driver >/dev/null; \
	else echo "the browser test needs chromium and chromium-driver: as root, run" \
		"apt-get install chromium chromium-driver"; fi

## Run the test suite: two workers (pytest-xdist), each test to whichever is free; the tiny
## trained runs the tests share are trained once, by the first worker that needs each.
test: $(STAMP) browser
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q -n 2 --dist worksteal

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) bench/nmt_attention_speed.py
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) bench/transformer_speed.py
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) bench/classify_speed.py

## The tutorials as notebooks (tutorials/*.ipynb, made from the .py sources).
notebooks: $(STAMP)
	$(VENV)/bin/jupytext --to ipynb tutorials/[0-9]*.py

## The notebooks in JupyterLab, in the package's environment (JupyterLab installed into .venv
## the first time, from requirements-lab.txt; the tests do not need it).
lab: notebooks
	$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install --quiet -r requirements-lab.txt \
		-c requirements.txt -c requirements-notebooks.txt
	cd tutorials && TF_CPP_MIN_LOG_LEVEL=2 ../$(VENV)/bin/jupyter lab \
		$$([ "$$(id -u)" = 0 ] && echo --allow-root)  # a container's root: Jupyter asks for it

## Run the tutorials and render their readings into docs/tutorials/ (TUTORIAL_SCALE=demo by
## default; TUTORIAL_SCALE=real TUTORIAL_DATA=DIR for the real data; TUTORIALS="01_..." for
## some of them).
docs: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) tutorials/render.py $(TUTORIALS)

clean:
	rm -rf runs .pytest_cache
