"""Lessons 00-03 as saved: small enough to open anywhere, no machine path in any output, every exercise saved
unfinished (its cell prints what is missing), the exercise's target neither imported nor shown above it, and no
solution anywhere in the notebook, in code, text or output."""

import json
from pathlib import Path

import pytest
from test_notebooks_clean import output_texts  # the one reader of what an output shows

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# notebook -> the checkers of its exercises, what each exercise asks the student to write (never imported or
# used above it), and strings that only a solution would contain
LESSONS = {
    "00_welcome.ipynb": {
        "checkers": ["check_token_counts", "check_equal_scores_side"],
        "targets": [],
        "solutions": ["9,216", "84,934,656", "1,327,104", "448"],
    },
    "01_patches.ipynb": {
        "checkers": ["check_patches_to_image", "check_linear_to_conv"],
        "targets": ["patches_to_image"],
        "solutions": ["b h w (p1 p2 c) -> b (h p1) (w p2) c", "o (p1 p2 c) -> o c p1 p2"],
    },
    "02_local_windows.ipynb": {
        "checkers": ["check_window_reverse", "check_window_sequences"],
        "targets": ["window_reverse"],
        "solutions": ["(b nh nw) mh mw c -> b (nh mh) (nw mw) c", "b c (nh mh) (nw mw) ->"],
    },
    "03_complexity.ipynb": {
        "checkers": ["check_attention_flops", "check_tokens_for_ratio", "check_block_flops"],
        "targets": ["msa_flops", "wmsa_flops"],
        "solutions": ["2218", "2 * M**2 * h * w * C"],
    },
}


def _cells(name):
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]


def _outputs_text(cell):
    return "\n".join(text for out in cell.get("outputs", []) for text in output_texts(out))


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_saved_notebook_is_at_most_400_kb_and_shows_no_machine_path(name):
    path = NOTEBOOKS / name
    assert path.stat().st_size <= 400_000, f"{name} is {path.stat().st_size:,} bytes"
    for cell in _cells(name):
        text = _outputs_text(cell)
        for prefix in ("/root/", "/home/", "/work/", "/tmp/", "/Users/", "C:\\"):
            assert prefix not in text, f"{name}: a machine path in an output: {prefix}"


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_every_exercise_is_saved_unfinished_and_prints_what_is_missing(name):
    cells = _cells(name)
    for checker in LESSONS[name]["checkers"]:
        [cell] = [c for c in cells if c["cell_type"] == "code" and f"{checker}(" in "".join(c["source"])]
        assert "..." in "".join(cell["source"])
        assert "Not finished yet:" in _outputs_text(cell)
        assert not any(out["output_type"] == "error" for out in cell["outputs"])


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_no_exercise_target_is_used_above_its_exercise(name):
    cells = _cells(name)
    first_exercise = min(
        i
        for i, c in enumerate(cells)
        for checker in LESSONS[name]["checkers"]
        if c["cell_type"] == "code" and f"{checker}(" in "".join(c["source"])
    )
    for cell in cells[:first_exercise]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            for target in LESSONS[name]["targets"]:
                assert f" {target}" not in source and f"{target}(" not in source, f"{name}: {target} above"


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_no_solution_is_shown_anywhere_in_the_notebook(name):
    for cell in _cells(name):
        shown = "".join(cell["source"]) + _outputs_text(cell)
        for solution in LESSONS[name]["solutions"]:
            assert solution not in shown, f"{name} shows {solution!r}"
