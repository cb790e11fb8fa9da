"""The saved notebooks stay light and clean: size budget, no machine paths, no widget state, executed in order."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_BYTES = 450 * 1024  # per notebook: figures are stored once, as small PNGs beside their widgets (lesson 08,
# with the figures of three real runs, is the largest)
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Absolute paths that name one machine's home, user or temporary folder. Paths relative to the home folder
# (~/.cache/swinlab) or to the course are what a saved output should show.
MACHINE_PATH = re.compile(
    r"(?<![\w.~/-])("
    r"/root/|/home/[^/\s\"']+/|/Users/[^/\s\"']+/|/tmp/|/var/folders/|/private/var/"
    r"|[A-Za-z]:\\{1,2}Users\\{1,2}"
    r")"
)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def output_texts(output: dict):
    """Every text an output shows: stream text, tracebacks and every non-image representation."""
    if "text" in output:
        yield "".join(output["text"]) if isinstance(output["text"], list) else output["text"]
    if "traceback" in output:
        yield "\n".join(output["traceback"])
    for mime, value in output.get("data", {}).items():
        if mime.startswith("image/") and mime != "image/svg+xml":
            continue  # base64 pixels
        yield "".join(value) if isinstance(value, list) else json.dumps(value)


def machine_paths(text: str) -> list[str]:
    """The machine paths in text, each as the word it starts."""
    found = [text[m.start() :].split(None, 1)[0][:80] for m in MACHINE_PATH.finditer(text)]
    for own in {str(ROOT), str(Path.home())} - {"/"}:  # this checkout and this home, wherever they are
        if own in text and not any(own in hit for hit in found):
            found.append(own)
    return found


def code_cells(nb: dict) -> list[tuple[int, dict]]:
    return [(i, cell) for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 10, f"expected the course's notebooks in {ROOT / 'notebooks'}, found {len(NOTEBOOKS)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_fits_the_size_budget(path):
    size = path.stat().st_size
    assert size <= MAX_BYTES, (
        f"{path.name} weighs {size / 1024:.0f} KiB, over the {MAX_BYTES // 1024} KiB budget: save it without widget "
        f"state (make notebooks NB={path.relative_to(ROOT)}) and keep figures small (one PNG per figure)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_saved_outputs_name_no_machine_path(path):
    found = []
    for i, cell in code_cells(load(path)):
        for output in cell.get("outputs", []):
            for text in output_texts(output):
                found += [f"cell {i}: {hit}" for hit in machine_paths(text)]
    assert len(found) == 0, (
        f"{path.name} saves absolute paths of the machine that ran it; print paths relative to the home or data "
        f"folder (e.g. ~/.cache/swinlab) instead:\n  " + "\n  ".join(found[:10])
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_saves_no_widget_state(path):
    widgets = load(path)["metadata"].get("widgets") or {}
    state = (widgets.get(WIDGET_STATE) or {}).get("state") or {}
    assert len(state) == 0, (
        f"{path.name} saves the state of {len(state)} widget model(s) (a second copy of every figure): re-save it "
        f"with make notebooks NB={path.relative_to(ROOT)}, which stores no widget state"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_saved_executed_top_to_bottom(path):
    cells = [(i, cell) for i, cell in code_cells(load(path)) if source(cell).strip()]
    counts = [cell.get("execution_count") for _, cell in cells]
    not_run = [i for i, cell in cells if cell.get("execution_count") is None]
    assert not not_run, f"{path.name}: code cells {not_run} were saved without running: run make notebooks"
    expected = list(range(1, len(cells) + 1))
    assert counts == expected, (
        f"{path.name}: execution counts {counts} are not 1..{len(cells)} in order: the notebook was not run top to "
        f"bottom in a fresh kernel; re-save it with make notebooks NB={path.relative_to(ROOT)}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_saves_no_error(path):
    errors = [
        f"cell {i}: {output.get('ename')}: {output.get('evalue')}"
        for i, cell in code_cells(load(path))
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, f"{path.name} was saved with errors:\n  " + "\n  ".join(errors)


@pytest.mark.parametrize(
    "text, flagged",
    [
        ("CIFAR-10 loaded from /home/alice/.cache/swinlab: 50,000 train", True),
        ("saved to '/root/.cache/torch/hub/checkpoints/swin_t.pth'", True),
        ("/Users/bob/data", True),
        ("C:\\Users\\carol\\swinlab", True),
        ("checkpoint in /tmp/run1/checkpoint.pt", True),
        ("CIFAR-10 loaded from ~/.cache/swinlab: 50,000 train", False),
        ("history in runs/quick/history.json and ../assets/roadmap.png", False),
        ("https://download.pytorch.org/whl/cpu and 10/tmp/ratio", False),
    ],
)
def test_machine_path_check_tells_machine_paths_from_relative_ones(text, flagged):
    assert bool(machine_paths(text)) is flagged
