"""Every lesson in JupyterLab, in a real browser: Run All, no error, and every slider redraws its figure.

Run by ``make test-browser`` (``pytest tests/browser/lessons_in_browser.py``); the plain ``pytest tests`` run
does not collect it (its name does not start with ``test_``). Needs the ``browser`` extra (Playwright for
Python) and a Chromium on the machine (Debian's ``chromium``; ``SWINLAB_CHROMIUM=/path`` picks another):
Playwright drives that browser and downloads none of its own.

Per lesson, on a copy of the notebook with its saved outputs removed (the repository's files are never
written): open it, Run All from the Run menu, wait until every code cell has run, then assert that no cell
holds an error and that each slider, moved with the keyboard, changes the figure beside it. The server runs
in quick mode (``SWINLAB_QUICK=1`` in its environment, which its kernels inherit) with notebook windowing
off, so every cell is in the page. A screenshot of each lesson lands in ``.browser-screenshots/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

playwright_sync = pytest.importorskip("playwright.sync_api", reason="needs the browser extra: pip install .[browser]")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCREENSHOTS = ROOT / ".browser-screenshots"
RUN_ALL_SECONDS = float(os.environ.get("SWINLAB_BROWSER_RUN_SECONDS", 480))  # one lesson's Run All, at most
REDRAW_SECONDS = 30.0  # one slider's redraw, at most
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# JupyterLab settings for the test's own settings folder: every cell attached to the page (no windowing),
# nothing saved behind the test's back, no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def find_chromium() -> str:
    chosen = os.environ.get("SWINLAB_CHROMIUM")
    if chosen:
        return chosen
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "No Chromium found: install Debian's (apt-get install chromium; `make test-browser` does this as root) "
        "or set SWINLAB_CHROMIUM=/path/to/chromium."
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_course(dest: Path) -> None:
    """notebooks/ without saved outputs or execution counts, and assets/ beside it, as in the repository."""
    (dest / "notebooks").mkdir(parents=True)
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, dest / "notebooks" / path.name)
    (dest / "assets").symlink_to(ROOT / "assets", target_is_directory=True)


@contextlib.contextmanager
def lab_server():
    """A JupyterLab server in quick mode over a copy of the course -> (base URL, token, course copy)."""
    work = Path(tempfile.mkdtemp(prefix="swinlab-browser-"))
    course, settings = work / "course", work / "settings"
    copy_course(course)
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        SWINLAB_QUICK="1",
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
        JUPYTER_CONFIG_DIR=str(work / "config"),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
    )
    env.pop("MPLBACKEND", None)  # the notebooks draw inline, as for a student
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--expose-app-in-browser",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(work / "server.log", "w")
    server = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    log_tail = (work / "server.log").read_text()[-3000:]
                    raise RuntimeError(f"JupyterLab did not start:\n{log_tail}") from None
                time.sleep(0.5)
        yield base, token, course
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def chromium_browser():
    """The machine's Chromium, headless, driven by Playwright."""
    with playwright_sync.sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses to run as root
        chromium = p.chromium.launch(executable_path=find_chromium(), headless=True, args=args)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def lab():
    with lab_server() as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as chromium:
        yield chromium


def shut_down_kernels(base: str, token: str) -> None:
    request = urllib.request.Request(f"{base}/api/sessions?token={token}")
    for session in json.load(urllib.request.urlopen(request, timeout=10)):
        delete = urllib.request.Request(f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(delete, timeout=30).close()


# The notebook open in JupyterLab, read from its model (window.jupyterapp, --expose-app-in-browser).
NOTEBOOK_STATE = (
    """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model || !panel.sessionContext) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  for (let i = 0; i < panel.content.model.cells.length; i++) {
    const cell = panel.content.model.cells.get(i);
    if (cell.type !== 'code') continue;
    const outputs = [];
    for (let j = 0; j < cell.outputs.length; j++) outputs.push(cell.outputs.get(j).toJSON());
    cells.push({
      index: i,
      source: cell.sharedModel.getSource(),
      count: cell.executionCount,
      running: cell.executionState === 'running',
      errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      widgets: outputs.filter(o => o.data && o.data['"""
    + WIDGET_MIME
    + """']).length,
    });
  }
  return {kernel: kernel ? kernel.status : null, cells};
}"""
)

# The figure of the explorer holding this slider: the images in the widget Output of the same cell output.
# mark=true tags the images shown now, so that a redraw (new image elements) can be told from no redraw.
FIGURE_OF_SLIDER = """(handle, mark) => {
  const output = handle.closest('.jp-OutputArea-output');
  const images = output ? Array.from(output.querySelectorAll('.widget-output img')) : [];
  if (mark) images.forEach(img => { img.dataset.swinlabShown = '1'; });
  const fresh = images.length > 0 && images.every(img => !img.dataset.swinlabShown);
  return {src: images.map(img => img.src).join('|'), fresh};
}"""


def notebook_state(page):
    return page.evaluate(NOTEBOOK_STATE)


def wait_until_run(page, name: str) -> dict:
    """Wait until every non-empty code cell has an execution count and nothing runs; fail on the first error."""
    deadline, state = time.monotonic() + RUN_ALL_SECONDS, None
    while time.monotonic() < deadline:
        state = notebook_state(page)
        for cell in state["cells"]:
            if cell["errors"]:
                pytest.fail(f"{name}: cell {cell['index']} raised {cell['errors'][0]}\n--- its code:\n{cell['source']}")
        pending = [c for c in state["cells"] if c["source"].strip() and (c["count"] is None or c["running"])]
        if not pending and state["kernel"] == "idle":
            return state
        page.wait_for_timeout(1000)
    waiting = [c["index"] for c in state["cells"] if c["source"].strip() and c["count"] is None]
    pytest.fail(f"{name}: Run All did not finish in {RUN_ALL_SECONDS:.0f} s; cells not run yet: {waiting}")


def figure(handle, mark: bool = False) -> dict:
    return handle.evaluate(FIGURE_OF_SLIDER, mark)


def check_sliders(page, name: str) -> tuple[int, list[str]]:
    """Move every enabled slider one step with the keyboard; its explorer must redraw a different figure.

    -> (sliders moved, what went wrong with each that failed).
    """
    handles = page.locator(".jp-Notebook .widget-slider .noUi-handle")
    moved, problems = 0, []
    for k in range(handles.count()):
        handle = handles.nth(k)
        handle.scroll_into_view_if_needed()
        label = handle.evaluate(
            "h => (h.closest('.widget-slider').querySelector('.widget-label') || {}).textContent || '?'"
        )
        if handle.evaluate("h => h.closest('.noUi-target').hasAttribute('disabled')"):
            continue  # a disabled slider cannot be moved by a student either
        before = figure(handle, mark=True)["src"]
        if not before:
            problems.append(f"slider {k} ({label!r}) has no figure beside it in its output")
            continue
        now, top = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
        key = "ArrowLeft" if now >= top else "ArrowRight"
        handle.press(key)
        moved += 1
        deadline = time.monotonic() + REDRAW_SECONDS
        while not figure(handle)["fresh"] and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        # Let dependent updates settle (one slider may move another), then compare what is shown.
        page.wait_for_timeout(500)
        shown = figure(handle)
        step = f"slider {k} ({label!r}) moved from {now:g} to {float(handle.get_attribute('aria-valuenow')):g} ({key})"
        if not shown["fresh"]:
            problems.append(
                f"{step}, but its figure was not redrawn within {REDRAW_SECONDS:.0f} s (does the drawing depend "
                "on this slider at the other controls' values? an unchanged figure is not sent again)"
            )
        elif shown["src"] == before:
            problems.append(f"{step} and its figure was redrawn, but it shows the same image as before")
    return moved, problems


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lesson_runs_in_jupyterlab_and_every_slider_redraws(lab, browser, notebook):
    base, token, _ = lab
    name = notebook.stem
    SCREENSHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    started = time.monotonic()
    try:
        # ?reset: a fresh workspace, so no notebook of an earlier lesson is reopened (with its kernel).
        page.goto(f"{base}/lab/tree/notebooks/{notebook.name}?reset&token={token}")
        page.wait_for_function(
            "() => { const s = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " return !!(s && s.sessionContext && s.sessionContext.session && s.sessionContext.session.kernel"
            " && s.sessionContext.session.kernel.status === 'idle'); }",
            timeout=120_000,
        )
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator('li[data-command="runmenu:run-all"]').click()  # Run ▸ Run All Cells
        state = wait_until_run(page, name)
        ran = time.monotonic() - started
        # Every widget the kernel displayed is drawn in the page (not "Error displaying widget").
        expected = sum(c["widgets"] for c in state["cells"])
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-Notebook .jp-OutputArea-output > .jupyter-widgets').length >= n",
            arg=expected,
            timeout=60_000,
        )
        broken = page.locator(".jp-Notebook .jp-OutputArea-output", has_text="Error displaying widget")
        assert broken.count() == 0, f"{name}: {broken.first.inner_text()}"
        moved, problems = check_sliders(page, name)
        if problems:
            pytest.fail(f"{name}: " + "; ".join(problems))
        if expected:
            assert moved, f"{name}: {expected} widget(s) displayed, but no slider found in the page"
        state = notebook_state(page)
        late = [(c["index"], c["errors"]) for c in state["cells"] if c["errors"]]
        assert not late, f"{name}: errors after moving the sliders: {late}"
        assert not errors, f"{name}: JavaScript errors in the page: {errors}"
        print(f"{name}: Run All {ran:.0f} s, {moved} slider(s) redrawn, {time.monotonic() - started:.0f} s in all")
    finally:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        page.close()
        shut_down_kernels(base, token)
