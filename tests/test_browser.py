"""The course in a real browser: `python3 run.py lab`, Debian's Chromium driven by Playwright.

What a learner does first: open the URL `run.py lab` prints (and the bookmarked /lab), see
lesson 00; open lesson 01, Run All, drag a slider of the neuron explorer and see the picture
change; then stop the server as a process manager would (SIGTERM to run.py) and find the port
closed. The browser window is a 1366 x 768 laptop screen.

Screenshots go to _build/browser-test/ (git-ignored), kept after the run for a person to look at.

The browser is the system's Chromium (`apt-get install chromium`: /usr/bin/chromium, or the
MMCOURSE_CHROMIUM variable); Playwright never downloads one. Without Chromium or the Python
package `playwright` the test is skipped with the reason -- except in CI (CI=true), where that
is a failure: .ci/run installs both.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "browser-test"
CHROMIUM = os.environ.get("MMCOURSE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 768}
TOKEN = "mmcourse-browser-test"
# JupyterLab settings for the test: never save the lessons it runs, no news pop-up
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": '{"autosave": false}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": '{"fetchNews": "false"}',
}

try:
    from playwright import sync_api
except ImportError:
    sync_api = None
MISSING = (
    "uses POSIX signals"
    if os.name == "nt"
    else f"no Chromium at {CHROMIUM} (apt-get install chromium, or set MMCOURSE_CHROMIUM)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM))
    else "the Python package playwright is missing (pip install -e '.[dev]')"
    if sync_api is None
    else None
)


@pytest.fixture(autouse=True)
def _browser_available():
    """Skip where there is no browser to drive; in CI that is a failure, since .ci/run installs one."""
    if MISSING and os.environ.get("CI") and os.name != "nt":
        pytest.fail(f"CI must run the browser test: {MISSING}")
    if MISSING:
        pytest.skip(MISSING)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def lab(tmp_path):
    """`python3 run.py lab` on a free port, with its own workspaces and settings; yields (base URL, process)."""
    for name, text in SETTINGS.items():
        (tmp_path / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "settings" / name).write_text(text)
    port = _free_port()
    env = {**os.environ, "MMCOURSE_VENV": str(Path(sys.prefix)), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    server = subprocess.Popen(
        [
            sys.executable,
            "run.py",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
            f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(tmp_path / "lab.log", "wb"),  # noqa: SIM115 -- closed with the process
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while not _port_open(port):
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
        time.sleep(0.5)
    try:
        yield base, server, port
    finally:
        if server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=FLAGS, headless=True, viewport=LAPTOP
        )
        page = context.new_page()
        try:
            yield page
        finally:
            with contextlib.suppress(Exception):  # what the page showed last, also when the test failed
                page.screenshot(path=SHOTS / "last.png")
            context.close()


def _open_notebook_tab(page, name: str):
    """Wait until JupyterLab shows notebook `name` as the current tab, with its first cell rendered."""
    page.locator(f'.jp-mod-current[role="tab"] .lm-TabBar-tabLabel:text-is("{name}")').wait_for(
        timeout=60_000
    )
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownOutput").first.wait_for(timeout=60_000)


def _run_all(page, attempts: int = 3):
    """Run > Run All Cells, until a cell has started: on a loaded machine a click that lands while the
    kernel is still connecting can leave every cell unexecuted (seen in CI: "[ ]:" everywhere, kernel idle)."""
    started = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')]
                 .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
    for attempt in range(attempts):
        page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
        page.locator('.lm-Menu-item:has(.lm-Menu-itemLabel:text-is("Run All Cells"))').click()
        try:
            page.wait_for_function(started, timeout=30_000)
            return
        except sync_api.TimeoutError:
            if attempt == attempts - 1:
                raise


def _explorer_image(page):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) img.widget-image").first


def test_a_learner_opens_the_course_runs_lesson_01_and_stops_the_server(lab, browser):
    base, server, port = lab
    page = browser
    lesson_01 = (ROOT / "notebooks" / "01_neuron.ipynb").read_bytes()

    # the URL run.py prints, and /lab (typed or bookmarked), both open lesson 00
    page.goto(f"{base}/?token={TOKEN}")
    _open_notebook_tab(page, "00_welcome.ipynb")
    page.screenshot(path=SHOTS / "1-start-url.png")
    page.goto(f"{base}/lab?token={TOKEN}")
    _open_notebook_tab(page, "00_welcome.ipynb")
    assert "Welcome" in page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) h1").first.inner_text()
    page.screenshot(path=SHOTS / "2-lab-url.png")

    # lesson 01, Run All
    page.goto(f"{base}/lab/tree/notebooks/01_neuron.ipynb?token={TOKEN}")
    _open_notebook_tab(page, "01_neuron.ipynb")
    page.locator(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']"
    ).wait_for(timeout=60_000)
    _run_all(page)
    image = _explorer_image(page)
    image.wait_for(timeout=90_000)
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    page.screenshot(path=SHOTS / "3-lesson-01-explorer.png")

    # the picture is shown at the size it was drawn, and the control fits the laptop screen
    size = image.evaluate(
        "img => ({natural: [img.naturalWidth, img.naturalHeight],"
        " shown: [img.getBoundingClientRect().width, img.getBoundingClientRect().height]})"
    )
    assert size["shown"][0] <= size["natural"][0] + 0.5 and size["shown"][1] <= size["natural"][1] + 0.5, size
    control = (
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-vbox")
        .filter(has=page.locator("img.widget-image"))
        .last
    )
    box = control.bounding_box()
    assert box["width"] <= LAPTOP["width"] and box["height"] <= LAPTOP["height"] - 150, box

    # after Run All the sliders sit where the text says the learner starts: w = (1, -1), b = 0
    readouts = control.locator(".widget-readout")
    values = [readouts.nth(i).inner_text().replace("\N{MINUS SIGN}", "-") for i in range(3)]
    assert values == ["1.0", "-1.0", "0.0"], values

    # drag w2 to +1: the picture is redrawn (a new image, different pixels)
    accuracy = control.locator(".widget-html").first
    before_src, before_pixels, before_accuracy = (
        image.get_attribute("src"),
        image.screenshot(),
        accuracy.inner_text(),
    )
    readout = readouts.nth(1)
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("1.0")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([img, src]) => img.src !== src && img.complete", arg=[image.element_handle(), before_src]
    )
    assert image.screenshot() != before_pixels
    assert accuracy.inner_text() != before_accuracy  # the line now separates the clouds
    page.screenshot(path=SHOTS / "4-lesson-01-slider-moved.png")

    # SIGTERM to run.py alone (kill PID, a process manager, a hub) stops JupyterLab and frees the port
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
    assert not _port_open(port)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/api", timeout=2)
    assert (ROOT / "notebooks" / "01_neuron.ipynb").read_bytes() == lesson_01  # nothing was saved
