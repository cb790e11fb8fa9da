# Two commands: `make lab` (set up and open the course) and `make test` (run everything).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The PyTorch requirement installed first. Override it for another build, e.g. a CUDA wheel:
#   make lab TORCH="torch --index-url https://download.pytorch.org/whl/cu128"   (see the README)
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.swinlab-installed
# Open a browser only where there is a display (macOS always has one); elsewhere print the URL.
ifeq ($(DISPLAY)$(WAYLAND_DISPLAY),)
ifneq ($(shell uname -s 2>/dev/null),Darwin)
LAB_FLAGS ?= --no-browser
endif
endif
# Jupyter refuses to run as root (containers, cloud machines) unless told to.
ifeq ($(shell id -u 2>/dev/null),0)
LAB_FLAGS += --allow-root
endif

.PHONY: lab test notebooks lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(TORCH)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	# timm is the independent reference tests/test_official.py compares against; installed without its
	# dependencies (torchvision, huggingface_hub), which the comparison does not use.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps "timm>=1.0,<2"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/00_welcome.ipynb

test: $(STAMP)
	$(BIN)/ruff check swinlab tests
	MPLBACKEND=Agg SWINLAB_QUICK=1 $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=900

# Re-execute notebooks top to bottom in a fresh kernel and save them with their outputs (all of them, or
# NB=notebooks/05_shifted_windows.ipynb). Widget state is not saved: every explorer has its static figure
# beside it, so each figure is stored once.
NB ?= notebooks/*.ipynb
notebooks: $(STAMP)
	for nb in $(NB); do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1200 \
	    --ExecutePreprocessor.store_widget_state=False "$$nb" || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check swinlab tests
	$(BIN)/ruff format --check swinlab tests

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
