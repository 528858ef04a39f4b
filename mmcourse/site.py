"""The course as a website: `python3 run.py site` builds _build/html/ with Sphinx and MyST-NB.

The site has the README as its front page (the lesson table and the set-up commands), one page
per lesson with its executed outputs and figures, the exercise notebooks (not executed: they stop
at their first stub), launch buttons for Binder and Colab on every notebook page
(sphinx-book-theme), formulas typeset by a MathJax copied into the site (it works offline), and
Sphinx's search.

Execution is cached by MyST-NB (jupyter-cache, in _build/.jupyter_cache): a rebuild runs only the
lessons whose code changed. After building, `check_site` reads every lesson page and reports a
page that shows an error or a stderr stream, or that lacks a figure its notebook drew. An error
in a cell tagged `raises-exception` is one the lesson makes on purpose: it is not reported, and
the page labels it "expected error".

    python3 run.py site                      # everything (the first time: every lesson runs once)
    python3 run.py site --lessons 00 01      # only lessons 00 and 01 (and the front page)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["ROOT", "sphinx_config", "build", "page_problems", "check_site", "main"]

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "https://github.com/mmcourse/mmcourse"
FRONT_PAGE = "README"
EXPECTED_ERROR_CSS = """\
/* a cell tagged raises-exception fails on purpose: say so above its traceback */
div.cell.tag_raises-exception div.output.traceback::before {
  content: "Expected error \\2014  this cell fails on purpose, to show the message";
  display: block; font-weight: bold; color: var(--pst-color-info, #0a6); margin-bottom: 0.3em;
}
div.cell.tag_raises-exception div.output.traceback { border-left: 4px solid var(--pst-color-info, #0a6); }
"""


def lesson_names(srcdir: Path, lessons: list[str] | None = None) -> list[str]:
    """The lesson notebooks' names without .ipynb, e.g. ["00_welcome", ...]; `lessons` picks by number."""
    names = sorted(p.stem for p in (srcdir / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if lessons is None:
        return names

    def matches(wanted: str, name: str) -> bool:  # "1", "01" and "01_neuron" all name lesson 01
        return wanted == name or (wanted.isdigit() and f"{int(wanted):02d}" == name[:2])

    picked = [n for n in names if any(matches(x, n) for x in lessons)]
    unknown = [x for x in lessons if not any(matches(x, n) for n in names)]
    if unknown:
        raise ValueError(
            f"no lesson {', '.join(unknown)} in {srcdir / 'notebooks'}; the lessons are "
            f"{', '.join(n[:2] for n in names)}."
        )
    return picked


def exercise_names(srcdir: Path, lessons: list[str]) -> list[str]:
    """The exercise notebooks of `lessons`, e.g. ["01_neuron_exercises"]."""
    return [
        p.stem
        for p in sorted((srcdir / "exercises").glob("*_exercises.ipynb"))
        if p.stem.removesuffix("_exercises") in lessons
    ]


def sphinx_config(srcdir: Path, out: Path, lessons: list[str]) -> dict:
    """Sphinx's configuration for the site (what a conf.py would hold), for lessons `lessons`."""
    exercises = exercise_names(srcdir, lessons)
    return {
        "project": "mmcourse",
        "author": "mmcourse maintainers",
        "copyright": "mmcourse maintainers, MIT licence",
        "extensions": ["myst_nb", "sphinx-mathjax-offline"],
        "root_doc": FRONT_PAGE,
        "include_patterns": [
            f"{FRONT_PAGE}.md",
            *(f"notebooks/{n}.ipynb" for n in lessons),
            *(f"exercises/{n}.ipynb" for n in exercises),
        ],
        "exclude_patterns": ["_build", ".venv", "**/.ipynb_checkpoints"],
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 3,
        "suppress_warnings": ["myst.xref_missing", "myst.header"],
        # execution: cached across builds; an unexpected error stops the build
        "nb_execution_mode": "cache",
        "nb_execution_cache_path": str(out / ".jupyter_cache"),
        "nb_execution_excludepatterns": ["exercises/*"],
        "nb_execution_timeout": 1200,
        "nb_execution_raise_on_error": True,
        # no widget JavaScript from a CDN: a widget's own picture (its image/png) is shown instead
        "nb_mime_priority_overrides": [("html", "application/vnd.jupyter.widget-view+json", None)],
        "nb_ipywidgets_js": {},
        "html_theme": "sphinx_book_theme",
        "html_static_path": [str(out / "static")],
        "html_css_files": ["mmcourse.css"],
        "html_title": "mmcourse: multimodal deep learning",
        "html_theme_options": {
            "repository_url": REPOSITORY,
            "repository_branch": "main",
            "path_to_docs": "",
            "use_repository_button": True,
            "launch_buttons": {
                "binderhub_url": "https://mybinder.org",
                "colab_url": "https://colab.research.google.com",
                "notebook_interface": "jupyterlab",
            },
        },
    }


def _add_table_of_contents(toc: dict):
    """A `source-read` handler: the front page gets hidden toctrees (the sidebar's lesson list)."""

    def handler(app, docname, source):
        if docname != FRONT_PAGE:
            return
        for caption, docs in (("Lessons", toc["lessons"]), ("Exercises", toc["exercises"])):
            if docs:
                entries = "\n".join(docs)
                source[0] += f"\n\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n{entries}\n```\n"

    return handler


def _write_index(app, exception):
    """A `build-finished` handler: index.html forwards to the front page, as Jupyter Book's does."""
    if exception is None:
        (Path(app.outdir) / "index.html").write_text(
            f'<!DOCTYPE html>\n<meta http-equiv="refresh" content="0; url={FRONT_PAGE}.html">\n'
            f'<a href="{FRONT_PAGE}.html">mmcourse</a>\n'
        )


def build(lessons: list[str] | None = None, out: Path | None = None, srcdir: Path = ROOT) -> Path:
    """Build the site from `srcdir` (README.md, notebooks/, exercises/) into `out`/html; returns that folder.

    lessons: lesson numbers or names to include (None: all). Executed notebooks are cached in
    `out`/.jupyter_cache and written to `out`/jupyter_execute. The lessons run one after the
    other (sphinx-mathjax-offline does not declare parallel reading safe, so Sphinx reads serially).
    """
    from sphinx.application import Sphinx

    srcdir, out = Path(srcdir).resolve(), Path(out or srcdir / "_build").resolve()
    names = lesson_names(srcdir, lessons)
    config = sphinx_config(srcdir, out, names)
    (out / "static").mkdir(parents=True, exist_ok=True)
    (out / "static" / "mmcourse.css").write_text(EXPECTED_ERROR_CSS)
    toc = {
        "lessons": [f"notebooks/{n}" for n in names],
        "exercises": [f"exercises/{n}" for n in exercise_names(srcdir, names)],
    }
    app = Sphinx(
        str(srcdir),
        None,
        str(out / "html"),
        str(out / "doctrees"),
        "html",
        confoverrides=config,
        keep_going=False,
    )
    app.set_html_assets_policy("always")  # MathJax on every page: lesson titles in the sidebar have math
    app.connect("source-read", _add_table_of_contents(toc))
    app.connect("build-finished", _write_index)
    app.build()
    if app.statuscode:
        raise RuntimeError(f"sphinx-build failed (status {app.statuscode}); see its messages above.")
    return out / "html"


class _OutputScanner(HTMLParser):
    """Counts the pictures inside cell outputs of a page and notes error and stderr outputs.

    Errors in a cell tagged raises-exception (made on purpose) are counted apart, as `expected`.
    """

    def __init__(self):
        super().__init__()
        self.stack, self.images, self.errors, self.expected, self.stderr = [], 0, 0, 0, 0

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        in_output = "cell_output" in classes or any("cell_output" in c for c in self.stack)
        if tag == "img" and in_output:
            self.images += 1
        if tag in ("img", "br", "hr", "input", "meta", "link"):
            return  # void elements: no end tag
        if in_output and "output" in classes:
            on_purpose = any("tag_raises-exception" in c for c in self.stack)
            self.expected += on_purpose and "traceback" in classes
            self.errors += not on_purpose and "traceback" in classes
            self.stderr += "stderr" in classes
        self.stack.append(classes)

    def handle_endtag(self, tag):
        if tag not in ("img", "br", "hr", "input", "meta", "link") and self.stack:
            self.stack.pop()


def _figures_drawn(notebook: dict) -> tuple[int, int]:
    """(pictures among the notebook's outputs, code cells that call plt.show() or draw a figure)."""
    pictures = drawing = 0
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        drawing += bool(re.search(r"plt\.show\(|\.widget\s*$|^explorer\s*$", source, flags=re.M))
        for output in cell.get("outputs", []):
            pictures += any(m.startswith("image/") for m in output.get("data", {}))
    return pictures, drawing


def page_problems(page: Path, executed: Path | None) -> list[str]:
    """What is wrong with one lesson page: error or stderr outputs, figures missing.

    page: the HTML file; executed: the notebook as MyST-NB executed it (None when absent).
    """
    scanner = _OutputScanner()
    scanner.feed(page.read_text(encoding="utf-8"))
    problems = []
    if scanner.errors:
        problems.append(f"{scanner.errors} error output(s) (a traceback) on the page")
    if scanner.stderr:
        problems.append(f"{scanner.stderr} stderr output(s), shown like a failure: print expected messages")
    pictures, drawing = _figures_drawn(json.loads(executed.read_text())) if executed else (0, 0)
    if scanner.images < pictures:
        problems.append(f"{scanner.images} of its {pictures} figures on the page")
    elif drawing and not pictures:
        problems.append(f"{drawing} cell(s) draw a figure, but the executed notebook has none")
    if executed is None:
        problems.append("no executed notebook (was the lesson run?)")
    return problems


def check_site(html: Path, lessons: list[str]) -> dict[str, list[str]]:
    """{lesson name: problems} for the lessons of a built site (html = the _build/html folder)."""
    html = Path(html)
    executed_dir = html.parent / "jupyter_execute" / "notebooks"
    report = {}
    for name in lessons:
        page = html / "notebooks" / f"{name}.html"
        if not page.exists():
            report[name] = [f"no page {page}"]
            continue
        executed = executed_dir / f"{name}.ipynb"
        problems = page_problems(page, executed if executed.exists() else None)
        if problems:
            report[name] = problems
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="run.py site", description="Build the course's website into _build/html/."
    )
    parser.add_argument("--lessons", nargs="+", metavar="NN", help="only these lessons, e.g. --lessons 00 01")
    parser.add_argument("--out", type=Path, default=ROOT / "_build", help="build folder (default: _build)")
    args = parser.parse_args(argv)
    try:
        names = lesson_names(ROOT, args.lessons)
        html = build(names, args.out)
    except (ValueError, RuntimeError) as error:
        print(f"run.py site: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a lesson that failed to execute, a broken notebook, ...
        print(
            f"run.py site: error: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
            file=sys.stderr,
        )
        return 1
    report = check_site(html, names)
    for name, problems in report.items():
        for problem in problems:
            print(f"run.py site: {name}: {problem}", file=sys.stderr)
    print(f"[run.py] the site is in {html} (open {html / 'index.html'})")
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main())
