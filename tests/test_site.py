"""The course's website (mmcourse.site): the page checker on planted pages, and real builds.

The real build here is a subset (the front page, lessons 00 and 01 and their exercises), so
the test adds seconds, not the half hour that executing every lesson again would take;
`python3 run.py site` builds everything, with MyST-NB's execution cache.
"""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mmcourse import site

ROOT = Path(__file__).resolve().parents[1]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()


def _page(tmp_path, outputs_html: str, tags: str = "") -> Path:
    page = tmp_path / "page.html"
    page.write_text(
        f'<html><body><img src="badge.svg"><div class="cell {tags} docutils container">'
        f'<div class="cell_output docutils container">{outputs_html}</div></div></body></html>'
    )
    return page


def _executed(tmp_path, pictures: int, source="plt.show()") -> Path:
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG}) for _ in range(pictures)]
    notebook.cells = [cell]
    path = tmp_path / "executed.ipynb"
    nbformat.write(notebook, path)
    return path


IMG = '<img alt="_images/a.png" src="_images/a.png" />'


def test_a_page_with_its_figures_and_no_errors_passes(tmp_path):
    assert site.page_problems(_page(tmp_path, IMG * 2), _executed(tmp_path, 2)) == []


def test_a_page_that_lost_a_figure_is_reported(tmp_path):
    # the badge outside the cell outputs does not count as a figure
    assert site.page_problems(_page(tmp_path, IMG), _executed(tmp_path, 2)) == [
        "1 of its 2 figures on the page"
    ]


def test_a_page_whose_notebook_drew_nothing_is_reported(tmp_path):
    [problem] = site.page_problems(_page(tmp_path, ""), _executed(tmp_path, 0))
    assert "draw a figure, but the executed notebook has none" in problem


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        ("output traceback highlight-ipythontb", "error output"),
        ("output stderr highlight-myst-ansi", "stderr"),
    ],
)
def test_error_and_stderr_outputs_are_reported(tmp_path, css, expected):
    page = _page(tmp_path, IMG + f'<div class="{css} notranslate"><pre>Traceback ...</pre></div>')
    [problem] = site.page_problems(page, _executed(tmp_path, 1))
    assert expected in problem


def test_an_error_the_lesson_makes_on_purpose_is_not_a_problem(tmp_path):
    traceback = '<div class="output traceback highlight-ipythontb notranslate"><pre>NameError</pre></div>'
    page = _page(tmp_path, traceback, tags="tag_raises-exception")
    assert site.page_problems(page, _executed(tmp_path, 0, source="ClassicSketch()")) == []


def test_unknown_lesson_numbers_are_named():
    with pytest.raises(ValueError, match=r"no lesson 42 .* the lessons are 00, 01"):
        site.lesson_names(ROOT, ["01", "42"])
    assert site.lesson_names(ROOT, ["0", "01_neuron"]) == ["00_welcome", "01_neuron"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Lessons 00 and 01 built as `python3 run.py site --lessons 00 01` builds them."""
    pytest.importorskip("myst_nb", reason="the site tools are in the dev extra: pip install -e '.[dev]'")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mmcourse.site", "--lessons", "00", "01", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "html"


def test_the_subset_builds_with_every_figure_and_no_error(built):
    assert site.check_site(built, ["00_welcome", "01_neuron"]) == {}
    assert sorted(p.name for p in (built / "notebooks").glob("*.html")) == [
        "00_welcome.html",
        "01_neuron.html",
    ]


def test_the_front_page_is_the_readme_with_the_lesson_table_and_the_commands(built):
    front = (built / "README.html").read_text()
    text = re.sub(r"<[^>]+>", "", front)  # code blocks are highlighted word by word
    assert "README.html" in (built / "index.html").read_text()
    assert 'href="notebooks/01_neuron.html"' in front and 'href="exercises/01_neuron_exercises.html"' in front
    assert "python3 run.py lab" in text and "python3 run.py test" in text
    assert (built / "searchindex.js").exists() and (built / "search.html").exists()
    assert "_static/mathjax/tex-chtml.js" in front  # the sidebar's lesson titles have formulas


def test_lesson_pages_have_launch_links_math_and_the_widget_picture(built):
    page = (built / "notebooks" / "01_neuron.html").read_text()
    assert "mybinder.org/v2/gh/mmcourse/mmcourse/main?urlpath=lab/tree/notebooks/01_neuron.ipynb" in page
    assert "colab.research.google.com/github/mmcourse/mmcourse/blob/main/notebooks/01_neuron.ipynb" in page
    # MathJax is served by the site itself (no CDN), so formulas render offline
    mathjax = re.findall(r'<script[^>]+src="([^"]*tex-chtml[^"]*)"', page)
    assert mathjax and not mathjax[0].startswith("http") and (built / "_static/mathjax/tex-chtml.js").exists()
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page
    # the explorer's picture stands in for its sliders, at the size it is drawn
    assert re.search(r'<img [^>]*height="420"[^>]*width="560"', page)


def test_a_planted_bad_lesson_fails_the_check(tmp_path):
    """A real build of a lesson that shows an error, writes to stderr and hides its figure."""
    pytest.importorskip("myst_nb", reason="the site tools are in the dev extra: pip install -e '.[dev]'")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "README.md").write_text("# A course\n\n[The bad lesson](notebooks/98_bad.ipynb)\n")
    notebook = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "mystnb": {"execution_allow_errors": True},  # so that the untagged error reaches the page
        }
    )
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# 98 · A bad lesson"),
        nbformat.v4.new_code_cell("import sys\nprint('a message', file=sys.stderr)"),
        nbformat.v4.new_code_cell("raise ValueError('planted')"),
        nbformat.v4.new_code_cell("raise KeyError('on purpose')", metadata={"tags": ["raises-exception"]}),
        nbformat.v4.new_code_cell(
            "import matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n"
            "from IPython.display import Image, display\nimport io\nbuf = io.BytesIO()\n"
            "plt.plot([0, 1]); plt.savefig(buf, format='png')\ndisplay(Image(buf.getvalue()))",
            metadata={"tags": ["remove-output"]},
        ),
    ]
    nbformat.write(notebook, tmp_path / "notebooks" / "98_bad.ipynb")
    html = site.build(None, tmp_path / "_build", srcdir=tmp_path)
    problems = site.check_site(html, ["98_bad"])["98_bad"]
    assert "1 error output(s) (a traceback) on the page" in problems, problems  # not the one on purpose
    assert any("stderr" in p for p in problems), problems
    assert any("0 of its 1 figures" in p for p in problems), problems
    assert json.loads((html.parent / "jupyter_execute/notebooks/98_bad.ipynb").read_text())["cells"]
    assert "Expected error" in (html / "_static" / "mmcourse.css").read_text()
