# Two commands: `make lab` (set up and open the course) and `make test` (run everything).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The PyTorch build to install. The default is the CPU/CUDA build pip picks for this machine;
# for a specific CUDA build see the README ("Running on a GPU").
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.swinlab-installed

.PHONY: lab test notebooks lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --no-browser notebooks/00_welcome.ipynb

test: $(STAMP)
	$(BIN)/ruff check swinlab tests
	MPLBACKEND=Agg SWINLAB_QUICK=1 $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env

# Re-execute every notebook top to bottom in a fresh kernel and save it with its outputs.
notebooks: $(STAMP)
	for nb in notebooks/*.ipynb; do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1200 "$$nb" || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check swinlab tests
	$(BIN)/ruff format --check swinlab tests

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
