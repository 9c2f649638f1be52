"""The companion as a book: a static HTML site of README.md and the committed, executed notebooks.

Nothing is executed: the pages are the committed ``notebooks/NN_name.ipynb`` with their outputs, read by
myst-nb (execution off) and written by Sphinx with the book theme. Sphinx, myst-nb and sphinx-book-theme
install from PyPI alone and build offline (Jupyter Book 2 is a Node application that fetches its theme
from the network at build time, so it cannot). The site:

    index.html                  what the evidence says (the verdict's claims table) on the first screen, then the
                                introduction, then the series in order: title line and README summary
    NN_name.html                one page per notebook, opened by how to rerun it (its parameters with their
                                defaults and help, the ``dystress run`` and papermill commands)
    reproduction.html           the reproduction table of README.md
    benchmarks.html             benchmarks/RESULTS.md
    references.html             the works the notebooks cite, with links (``published.REFERENCES``)
    guide.html                  the rest of README.md (install, profiles, training, run folders, library)

Equations are typeset by MathJax 2 from the jupyter-server-mathjax package, copied into the site, so they
render without a network; without that package Sphinx points the pages at MathJax on a CDN, and offline
the TeX source shows in place of each equation.
"""

from __future__ import annotations

import base64
import binascii
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from dystress.atomic import write_text
from dystress.paths import REPO_ROOT
from dystress.pipeline.execution import title_of
from dystress.pipeline.figures import CAPTION_KEY
from dystress.pipeline.published import REFERENCES

DEFAULT_OUT = REPO_ROOT / "out" / "book"
NOTEBOOK_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")
REPRODUCTION_HEADING = "## Reproduction"
BUILT_MARK = ".dystress-book"  # in every folder the book built: the only non-empty folder it may replace
EVIDENCE_HEADING = "## What the evidence says"  # the landing page opens with it, after the title
# README links to files that are pages of the book
LINK_TARGETS = {"benchmarks/RESULTS.md": "benchmarks.md"}


@dataclass(frozen=True)
class Page:
    """One notebook of the series: its number, file stem and title line (its first heading)."""

    number: str
    stem: str
    title: str


def notebooks(folder: Path | None = None) -> list[Path]:
    """The executed notebooks of the series, in order."""
    folder = folder or REPO_ROOT / "notebooks"
    return sorted(p for p in folder.iterdir() if NOTEBOOK_NAME.match(p.name))


def missing_notebooks(folder: Path | None = None) -> list[str]:
    """A warning for each notebook source NN_name.py of ``folder`` without its executed NN_name.ipynb, which the
    book would otherwise leave out unseen."""
    folder = folder or REPO_ROOT / "notebooks"
    sources = sorted(p for p in folder.glob("*.py") if NOTEBOOK_NAME.match(p.with_suffix(".ipynb").name))
    return [f"{p.with_suffix('.ipynb')} is missing, so the book has no page {p.stem}: run dystress render --only "
            f"{p.stem[:2]}" for p in sources if not p.with_suffix(".ipynb").exists()]


def check_images(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Refuse, naming the notebook and the cell, an image output that does not decode (Sphinx would stop on it
    with a traceback of its own)."""
    for number, cell in enumerate(notebook.cells, 1):
        for output in cell.get("outputs", []):
            for mime, value in output.get("data", {}).items():
                if mime in ("image/png", "image/jpeg"):
                    try:
                        base64.b64decode("".join(value) if isinstance(value, list) else value, validate=True)
                    except (binascii.Error, ValueError):
                        raise ValueError(f"{path.name}, cell {number}: its {mime} output does not decode; render "
                                         f"the notebook again (dystress render --only {path.name[:2]})") from None


def caption_figures(notebook: nbformat.NotebookNode, path: Path) -> int:
    """Turn each figure caption the notebook shows (``figures.savefig``'s Markdown output with ``CAPTION_KEY``
    metadata) into myst-nb's figure options of its cell: the caption under the image, its alt text and an anchor
    ``fig-NN-<name>``; the Markdown output itself is dropped. A captioned cell must show exactly one other output
    with data (its image), so that no caption lands on another output. Returns the number of figures."""
    count = 0
    for number, cell in enumerate(notebook.cells, 1):
        captions = [o for o in cell.get("outputs", []) if CAPTION_KEY in o.get("metadata", {})]
        if not captions:
            continue
        shown = [o for o in cell.outputs if "data" in o and o not in captions]
        if len(captions) != 1 or len(shown) != 1 or "image/png" not in shown[0]["data"]:
            raise ValueError(f"{path.name}, cell {number}: a captioned figure's cell must show one image and its "
                             f"caption, and it shows {len(shown)} outputs and {len(captions)} captions")
        figure = captions[0]["metadata"][CAPTION_KEY]
        cell.metadata["mystnb"] = {"figure": {"caption": f"**Figure {figure['number']}.** {figure['caption']}",
                                              "name": f"fig-{path.name[:2]}-{figure['name'].replace('_', '-')}"},
                                   "image": {"alt": figure["alt"]}}
        cell.outputs = [o for o in cell.outputs if o is not captions[0]]
        count += 1
    return count


def parameters_of(path: Path) -> dict[str, dict]:
    """{name: {"inferred_type_name", "default", "help"}} of the cell tagged ``parameters`` (papermill's reading)."""
    import papermill

    return papermill.inspect_notebook(str(path))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a table cell: a bar is text, not a column


def rerun_cell(path: Path) -> str:
    """Markdown that says how to rerun the notebook: its parameters and the two commands."""
    number, stem = path.name[:2], path.stem
    parameters = parameters_of(path)
    rows = "\n".join(f"| `{name}` | `{p['inferred_type_name']}` | `{p['default']}` | {_cell(p['help'] or '')} |"
                     for name, p in parameters.items())
    example = next(iter(parameters), None)
    dystress = f"dystress run --only {number}"
    papermill = f"papermill notebooks/{stem}.ipynb out/{stem}.ipynb"
    if example:
        dystress += f" -p {example}=VALUE"
        papermill += f" -p {example} VALUE"
    return (  # a closed <details> box: the page opens with its prose, the parameters one click away
        '<details class="rerun">\n<summary>Rerun this page: its parameters and the commands</summary>\n\n'
        "This page is the committed, executed notebook "
        f"`notebooks/{stem}.ipynb` (source: `notebooks/{stem}.py`). Its parameters cell declares:\n\n"
        "| parameter | type | default | meaning |\n|---|---|---|---|\n"
        f"{rows}\n\n"
        "Rerun it with other values (each `-p` sets one parameter; `dystress run` checks names and types):\n\n"
        f"    {dystress}\n    {papermill}\n\n"
        "</details>\n"
    )


def readme_sections(text: str) -> dict[str, str]:
    """README.md split at its level-2 headings: {"": the part before the first, heading: section}."""
    sections: dict[str, str] = {}
    current, lines = "", []
    for line in text.splitlines():
        if line.startswith("## "):
            sections[current] = "\n".join(lines).strip() + "\n"
            current, lines = line, [line]
        else:
            lines.append(line)
    sections[current] = "\n".join(lines).strip() + "\n"
    return sections


def _relink(text: str) -> str:
    """README links to files that are pages of the book point at those pages (anchors kept)."""
    for target, page in LINK_TARGETS.items():
        text = text.replace(f"]({target})", f"]({page})").replace(f"]({target}#", f"]({page}#")
    return text


def _copy_images(text: str, root: Path, source: Path) -> None:
    """Copy the images a Markdown text shows, ``![...](relative/path)`` under ``root``, into the staged book."""
    for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text):
        path = (root / target).resolve()
        if "://" not in target and path.is_file() and path.is_relative_to(root.resolve()):
            (source / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, source / target)


def notebook_summaries(readme_text: str) -> dict[str, str]:
    """{"01": what it shows, ...} from the README's table of notebooks (rows ``| 01 | name | what | data |``)."""
    rows = re.findall(r"^\| (\d\d) \| [a-z0-9_]+ \| (.+?) \| [^|]+ \|$", readme_text, re.M)
    return dict(rows)


def references_page() -> str:
    """The book's references: one entry per work of ``published.REFERENCES``, linked."""
    entries = "\n".join(f"* **{short}**: {authors} ({year}). [{title}]({link}). {venue}."
                         for short, authors, year, title, venue, link in REFERENCES)
    return f"# References\n\nThe works the notebooks cite, by the name the notebooks use.\n\n{entries}\n"


def _index(intro: str, pages: list[Page], summaries: dict[str, str], evidence: str = "") -> str:
    title, _, rest = intro.partition("\n")
    rest = (evidence.strip() + "\n\n" if evidence else "") + "## The companion\n\n" + rest.strip()
    entries = "\n".join(f"{int(p.number)}. [{p.title}]({p.stem}.ipynb)"
                        + (f": {summaries[p.number]}" if p.number in summaries else "") for p in pages)
    toctree = "\n".join(p.stem for p in pages)
    return (f"{title}\n{_relink(rest).strip()}\n\n## The series\n\nRead in order; every figure and number on "
            f"these pages is the committed output of the notebook, nothing was executed to build them.\n\n"
            f"{entries}\n\nAlso: [the reproduction table](reproduction.md), [measured speed](benchmarks.md), "
            f"[the guide](guide.md) (install, profiles, training, run folders, the library), "
            f"[the references](references.md).\n\n"
            f"```{{toctree}}\n:hidden:\n:caption: Notebooks\n\n{toctree}\n```\n\n"
            f"```{{toctree}}\n:hidden:\n:caption: Reference\n\nreproduction\nbenchmarks\nguide\nreferences\n```\n")


def stage(source: Path, readme: Path, notebook_paths: list[Path], benchmarks: Path) -> list[Page]:
    """Write the book's Sphinx sources into ``source``; returns the notebook pages in order."""
    text = readme.read_text()
    sections = readme_sections(text)
    _copy_images(text, readme.parent, source)
    _copy_images(benchmarks.read_text(), benchmarks.parent, source)
    pages = []
    for path in notebook_paths:
        notebook = nbformat.read(path, as_version=4)
        check_images(notebook, path)
        caption_figures(notebook, path)
        pages.append(Page(path.name[:2], path.stem, title_of(notebook)))
        titled = next(k for k, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"
                      and any(line.startswith("# ") for line in cell.source.splitlines()))
        notebook.cells.insert(titled + 1, nbformat.v4.new_markdown_cell(rerun_cell(path)))
        for cell in notebook.cells:  # the rerun box lists the parameters: the cell that declares them is left out
            if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
                cell.metadata["tags"] = [*cell.metadata["tags"], "remove-cell"]
        for cell in notebook.cells:  # the notebooks' links to the README's series point at the book's
            if cell.cell_type == "markdown":
                cell.source = cell.source.replace("(../README.md#the-notebooks)", "(index.md#the-series)")
        nbformat.write(notebook, source / path.name)
    reproduction = sections.get(REPRODUCTION_HEADING)
    if reproduction is None:
        raise ValueError(f"{readme} has no '{REPRODUCTION_HEADING}' section for the reproduction page")
    write_text(source / "index.md", _index(sections[""], pages, notebook_summaries(text),
                                           sections.get(EVIDENCE_HEADING, "")))
    write_text(source / "reproduction.md", "# " + _relink(reproduction)[3:])
    write_text(source / "benchmarks.md", benchmarks.read_text())
    guide = [s for h, s in sections.items() if h not in ("", REPRODUCTION_HEADING, EVIDENCE_HEADING)]
    write_text(source / "guide.md", "# Guide\n\n" + _relink("\n".join(guide)))
    write_text(source / "references.md", references_page())
    (source / "_static").mkdir(exist_ok=True)
    (source / "_templates" / "static").mkdir(parents=True, exist_ok=True)
    write_text(source / "_static" / "dystress.css", STYLE)
    write_text(source / "docutils.conf", "[html writers]\nimage_loading: lazy\n")  # images load as they scroll in
    write_text(source / "_templates" / "static" / "webpack-macros.html", THEME_ASSETS)
    return pages


# what a phone needs: wide equations, tables and text outputs scroll inside their own box, not the page; code wraps.
# The hidden MathML that MathJax keeps beside each equation for screen readers asks for TeX web fonts the bundled
# MathJax does not ship (a 404 each); it is read, not seen, so it takes the page's font.
STYLE = """\
div.math, .MathJax_Display { overflow-x: auto; overflow-y: hidden; max-width: 100%; }
main table.table, main .cell_output table { display: block; overflow-x: auto; max-width: 100%; }
main .cell_output pre, main .highlight pre { overflow-x: auto; }
main .cell_input pre { white-space: pre-wrap; overflow-wrap: anywhere; }
main figure img, main .cell_output img { max-width: 100%; height: auto; }
details.rerun { border: 1px solid var(--pst-color-border); border-radius: 4px; padding: 0.4em 0.8em; margin: 1em 0; }
details.rerun summary { cursor: pointer; font-weight: 600; }
.MJX_Assistive_MathML, .MJX_Assistive_MathML * { font-family: inherit !important; }
"""

# The theme's asset macros (pydata-sphinx-theme's static/webpack-macros.html, overridden through templates_path)
# without the 1.6 MB icon-font script: the theme's stylesheet already draws its icons from the web font.
THEME_ASSETS = """\
{% macro head_pre_assets() %}
<link href="{{ pathto('_static/styles/theme.css', 1) }}" rel="stylesheet" />
<link href="{{ pathto('_static/styles/pydata-sphinx-theme.css', 1) }}" rel="stylesheet" />
{% endmacro %}
{% macro head_js_preload() %}
<link rel="preload" as="script" href="{{ pathto('_static/scripts/bootstrap.js', 1) }}" />
<link rel="preload" as="script" href="{{ pathto('_static/scripts/pydata-sphinx-theme.js', 1) }}" />
{% endmacro %}
{% macro body_post() %}
<script defer src="{{ pathto('_static/scripts/bootstrap.js', 1) }}"></script>
<script defer src="{{ pathto('_static/scripts/pydata-sphinx-theme.js', 1) }}"></script>
{% endmacro %}
"""


def _mathjax_static() -> Path | None:
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    return static if (static / "MathJax.js").exists() else None


def sphinx_settings(mathjax: bool) -> dict:
    """The whole Sphinx configuration (written as the staged conf.py): myst-nb without execution, the book theme."""
    settings = {
        "project": "dystress",
        "author": "the dystress authors",
        "smartquotes": False,  # parameter names and code keep their straight quotes
        "extensions": ["myst_nb"],
        "html_theme": "sphinx_book_theme",
        "html_title": "dystress: a companion to DySTreSS",
        "html_theme_options": {"show_toc_level": 2, "home_page_in_toc": True, "use_download_button": True},
        "nb_execution_mode": "off",
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 3,
        "myst_update_mathjax": False,  # its MathJax 3 options would replace the MathJax 2 configuration
        "exclude_patterns": ["_build", ".ipynb_checkpoints"],
        "html_copy_source": True,  # the notebook as _sources/NN_name.ipynb: the page's download button
        "html_sourcelink_suffix": "",
        "html_show_sourcelink": False,
        "html_static_path": ["_static"],
        "html_css_files": ["dystress.css"],
        "templates_path": ["_templates"],
        "suppress_warnings": ["mystnb.unknown_mime_type"],
    }
    if mathjax:
        settings["mathjax_path"] = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
        settings["mathjax2_config"] = {"tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                                                   "processRefs": False, "processEnvironments": False},
                                       # the package ships the STIX-Web fonts only (Jupyter's choice)
                                       "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None,
                                                    "preferredFont": None}}
    return settings


def build(out: Path | str = DEFAULT_OUT, readme: Path | None = None, notebook_folder: Path | None = None,
          benchmarks: Path | None = None) -> tuple[Path, list[str]]:
    """Build the site into ``out`` (replaced whole, through a staging folder beside it); returns the path of
    its index.html and the warnings Sphinx gave (each a line). Sphinx runs in a child process: it registers
    its nodes globally, once per process."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"book output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / BUILT_MARK).is_file():
        raise ValueError(f"book output {out} holds files that no book built (it has no {BUILT_MARK}); the book "
                         f"replaces its output whole, so give a new or empty folder, or an earlier book's")
    readme = readme or REPO_ROOT / "README.md"
    benchmarks = benchmarks or REPO_ROOT / "benchmarks" / "RESULTS.md"
    paths = notebooks(notebook_folder)
    if not paths:
        raise FileNotFoundError(f"no executed notebooks NN_name.ipynb in {notebook_folder or REPO_ROOT / 'notebooks'}")
    mathjax = _mathjax_static()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".book-", dir=out.parent) as scratch:
        source, html, log = Path(scratch) / "source", Path(scratch) / "html", Path(scratch) / "warnings.txt"
        source.mkdir()
        stage(source, readme, paths, benchmarks)
        settings = sphinx_settings(mathjax is not None)
        write_text(source / "conf.py", "".join(f"{key} = {value!r}\n" for key, value in settings.items()))
        command = [sys.executable, "-m", "sphinx", "-b", "html", "-E", "-q", "--no-color", "-w", str(log),
                   "-d", str(Path(scratch) / "doctrees"), str(source), str(html)]
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0:
            lines = [line.strip() for line in finished.stderr.splitlines() if line.strip()]
            cause = next((line for line in reversed(lines) if "rror" in line), lines[-1] if lines else "no message")
            raise RuntimeError(f"Sphinx failed (exit {finished.returncode}): {cause}")
        if mathjax is not None:
            shutil.copytree(mathjax, html / "_static" / "mathjax")
        (html / ".buildinfo").unlink(missing_ok=True)
        write_text(html / BUILT_MARK, "built by dystress book; the next build replaces this folder whole\n")
        warnings = [line for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
        warnings += missing_notebooks(notebook_folder)
        if out.exists():
            out.rename(Path(scratch) / "previous")
        html.rename(out)
    return out / "index.html", warnings
