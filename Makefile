# Two commands: `make lab` (set up and open the course) and `make test` (run everything).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# The PyTorch release installed first. Which build of it: .ci/torch_build.py picks PyTorch's CPU build
# on Linux without an NVIDIA GPU (no nvidia-smi) and PyPI's default (CUDA) build with one. TORCH overrides
# the choice with any pip requirement, e.g.
#   make lab TORCH="torch --index-url https://download.pytorch.org/whl/cu128"   (see the README)
TORCH_VERSION ?= 2.13.0
TORCH  ?=
STAMP  := $(VENV)/.swinlab-installed
BROWSER_STAMP := $(VENV)/.swinlab-browser-installed
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
# The file browser shows the whole course (notebooks/, swinlab/, the README); the first lesson opens.
LAB_FLAGS += --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks/00_welcome.ipynb

.PHONY: lab test test-browser notebooks lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
ifneq ($(strip $(TORCH)),)
	$(PIP) $(TORCH)
else
	@# The chosen build; should it fail to install (an index that answered the probe, but not pip), PyPI's.
	@choice="$$($(PYTHON) .ci/torch_build.py torch==$(TORCH_VERSION))" && echo "pip install $$choice" && \
	  { $(PIP) $$choice || { [ "$$choice" != "torch==$(TORCH_VERSION)" ] && \
	    echo "That failed: pip install torch==$(TORCH_VERSION) (PyPI) instead." && \
	    $(PIP) torch==$(TORCH_VERSION); }; }
endif
	$(PIP) -e ".[lab,test]"
	# timm is the independent reference tests/test_official.py compares against; installed without its
	# dependencies (torchvision, huggingface_hub), which the comparison does not use.
	$(PIP) --no-deps "timm>=1.0,<2"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_FLAGS)

# Lint first (fast), then pytest over tests/ and every notebook through nbval, in quick mode.
test: lint
	MPLBACKEND=Agg SWINLAB_QUICK=1 $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=900

lint: $(STAMP)
	$(BIN)/ruff check swinlab tests .ci notebooks
	$(BIN)/ruff format --check swinlab tests .ci

# Every lesson in JupyterLab in a real browser: Run All, no error, every slider redraws its figure
# (tests/browser/). Uses Debian's chromium (installed with apt where missing, as root); Playwright drives
# it and downloads no browser of its own. Screenshots land in .browser-screenshots/.
$(BROWSER_STAMP): $(STAMP)
	$(PIP) -e ".[lab,test,browser]"
	touch $(BROWSER_STAMP)

test-browser: $(BROWSER_STAMP)
	@[ -n "$$SWINLAB_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Chromium is missing: apt-get install chromium (Debian's package)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "Chromium is missing: install it (sudo apt-get install chromium) or set SWINLAB_CHROMIUM=/path/to/chrome"; \
	  fi; }
	SWINLAB_QUICK=1 $(BIN)/python -m pytest tests/browser/lessons_in_browser.py -v --durations=0

# Re-execute notebooks top to bottom in a fresh kernel and save them with their outputs (all of them, or
# NB=notebooks/05_shifted_windows.ipynb). Widget state is not saved: every explorer has its static figure
# beside it, so each figure is stored once.
NB ?= notebooks/*.ipynb
notebooks: $(STAMP)
	for nb in $(NB); do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1200 \
	    --ExecutePreprocessor.store_widget_state=False "$$nb" || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info .browser-screenshots
