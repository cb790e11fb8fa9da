"""Lessons 00-07 as saved: small enough to open anywhere, no machine path in any output, no widget state, every
exercise saved unfinished (its cell prints what is missing, raising nothing), the exercise's target neither
imported nor used above it, no solution anywhere in the notebook (in code, text or output), and headings that
read "# NN · Title" and "## N · Section"."""

import json
from pathlib import Path

import pytest
from test_notebooks_clean import output_texts  # the one reader of what an output shows

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# notebook -> what its unfinished exercises hold ("..." for a value, "    ..." for a function's body), the
# checkers of its exercises, the swinlab functions the exercises ask the student to write (never
# imported or used above them), and strings that only a solution would contain
LESSONS = {
    "00_welcome.ipynb": {
        "stub": "...",
        "checkers": ["check_token_counts", "check_equal_scores_side"],
        "targets": [],
        "solutions": ["9,216", "84,934,656", "1,327,104", "448"],
    },
    "01_patches.ipynb": {
        "stub": "...",
        "checkers": ["check_patches_to_image", "check_linear_to_conv"],
        "targets": ["patches_to_image"],
        "solutions": ["b h w (p1 p2 c) -> b (h p1) (w p2) c", "o (p1 p2 c) -> o c p1 p2"],
    },
    "02_local_windows.ipynb": {
        "stub": "...",
        "checkers": ["check_window_reverse", "check_window_sequences"],
        "targets": ["window_reverse"],
        "solutions": ["(b nh nw) mh mw c -> b (nh mh) (nw mw) c", "b c (nh mh) (nw mw) ->"],
    },
    "03_complexity.ipynb": {
        "stub": "...",
        "checkers": ["check_attention_flops", "check_tokens_for_ratio", "check_block_flops"],
        "targets": ["msa_flops", "wmsa_flops"],
        "solutions": ["2218", "2 * M**2 * h * w * C"],
    },
    "04_relative_position.ipynb": {
        "stub": "    ...",
        "checkers": ["check_relative_position_index", "check_rectangular_index"],
        "targets": ["relative_position_index", "relative_coordinates", "RelativePositionBias"],
        "solutions": ["2 * Mw - 1", "(2 * M - 1) + dx", "Mw - 1)"],
    },
    "05_shifted_windows.ipynb": {
        "stub": "    ...",
        "checkers": ["check_shift_mask", "check_masked_pairs"],
        "targets": ["shift_mask"],
        "solutions": ["(torch.arange(H) + s) % H", "(M - s) ** 2 + s**2", "M**4 - M**2"],
    },
    "06_patch_merging.ipynb": {
        "stub": "    ...",
        "checkers": ["check_merge_neighbours", "check_merging_as_conv"],
        "targets": ["merge_neighbours"],
        "solutions": ["(pw ph c)", "(dx dy c)", "o c dy dx", "permute(0, 3, 2, 1)"],
    },
    "07_swin_transformer.ipynb": {
        "stub": "    ...",
        "checkers": ["check_block_params", "check_swin_params"],
        "targets": [],
        "solutions": ["12 * C", "(2 * M - 1) ** 2 * heads", "4 * dim * 2 * dim"],
    },
}


def _notebook(name):
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))


def _outputs_text(cell):
    return "\n".join(text for out in cell.get("outputs", []) for text in output_texts(out))


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_saved_notebook_is_at_most_400_kb_without_widget_state_or_machine_path(name):
    path = NOTEBOOKS / name
    assert path.stat().st_size <= 400_000, f"{name} is {path.stat().st_size:,} bytes"
    notebook = _notebook(name)
    assert "widgets" not in notebook["metadata"], f"{name} saves widget state (a second copy of its figures)"
    for cell in notebook["cells"]:
        text = _outputs_text(cell)
        for prefix in ("/root/", "/home/", "/work/", "/tmp/", "/Users/", "C:\\", ".cache/"):
            assert prefix not in text, f"{name}: a machine path in an output: {prefix}"
        assert not any(out["output_type"] == "error" for out in cell.get("outputs", []))


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_every_exercise_is_saved_unfinished_and_prints_what_is_missing(name):
    cells = _notebook(name)["cells"]
    for checker in LESSONS[name]["checkers"]:
        [cell] = [c for c in cells if c["cell_type"] == "code" and f"{checker}(" in "".join(c["source"])]
        assert LESSONS[name]["stub"] in "".join(cell["source"])
        assert "Not finished yet:" in _outputs_text(cell)
        assert not any(out["output_type"] == "error" for out in cell["outputs"])


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_no_exercise_target_is_imported_or_used_above_its_exercise(name):
    cells = _notebook(name)["cells"]
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
    for cell in _notebook(name)["cells"]:
        shown = "".join(cell["source"]) + _outputs_text(cell)
        assert "<summary>Solution" not in shown
        for solution in LESSONS[name]["solutions"]:
            assert solution not in shown, f"{name} shows {solution!r}"


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_headings_read_nn_dot_title_and_n_dot_section(name):
    number = name[:2]
    headings = [
        line
        for cell in _notebook(name)["cells"]
        if cell["cell_type"] == "markdown"
        for line in "".join(cell["source"]).splitlines()
        if line.startswith("#")
    ]
    assert headings[0].startswith(f"# {number} · ")
    sections = [h for h in headings if h.startswith("## ")]
    assert [h.split(" · ")[0] for h in sections] == [f"## {i}" for i in range(1, len(sections) + 1)]
    assert not any("—" in h for h in headings)
