"""The book: `dystress book` builds a static site of the committed notebooks, checked as files and in a browser."""

from __future__ import annotations

import functools
import html
import html.parser
import http.server
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

from dystress import cli
from dystress.pipeline import book

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")


class Links(html.parser.HTMLParser):
    """The href of every <a> and the src of every <img> of a page."""

    def __init__(self):
        super().__init__()
        self.hrefs, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])


def links_of(page: Path) -> Links:
    parser = Links()
    parser.feed(page.read_text())
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("book") / "site"
    assert cli.main(["book", "--out", str(out), "--strict"]) == 0
    index, warnings = book.build(out)  # a second build replaces the first whole
    assert index == out / "index.html"
    return out, warnings


def test_the_book_has_a_page_per_notebook_listed_in_order_without_warnings(site):
    out, warnings = site
    assert warnings == []
    stems = [p.stem for p in book.notebooks()]
    assert [s[:2] for s in stems] == [f"{i:02d}" for i in range(1, 11)]
    index = out / "index.html"
    listed = [href.split("#")[0][:-5] for href in links_of(index).hrefs if re.match(r"^\d\d_\w+\.html$", href)]
    assert list(dict.fromkeys(listed)) == stems  # the series in order (the sidebar repeats it)
    text = html.unescape(index.read_text())
    summaries = book.notebook_summaries((book.REPO_ROOT / "README.md").read_text())
    assert sorted(summaries) == [s[:2] for s in stems]
    for path in book.notebooks():
        title = book.title_of(nbformat.read(path, as_version=4))
        assert title in text, title
        assert summaries[path.stem[:2]].split(";")[0] in text, path.stem
        page = (out / f"{path.stem}.html").read_text()
        assert f"dystress run --only {path.stem[:2]}" in page
        assert f"papermill notebooks/{path.stem}.ipynb" in page
    for name in ("reproduction", "benchmarks", "guide"):
        assert (out / f"{name}.html").exists()
    assert "83.65" in (out / "reproduction.html").read_text()
    evidence, series = text.index('id="what-the-evidence-says"'), text.index('id="the-series"')
    assert evidence < text.index("what the runs here show", evidence) < series  # the landing page opens with them


def test_every_page_link_and_image_resolves_to_a_file_of_the_site(site):
    out, _ = site
    pages = sorted(out.glob("*.html"))
    images = 0
    for page in pages:
        found = links_of(page)
        for href in found.hrefs:
            if href.startswith(("http://", "https://", "mailto:", "#")):
                continue
            target = href.split("#")[0].split("?")[0]
            assert (out / target).exists(), f"{page.name} links to missing {href}"
        for src in found.images:
            if not src.startswith("data:"):
                assert (out / src).is_file(), f"{page.name} shows missing image {src}"
                images += 1
    figures = [src for src in links_of(out / "04_pretraining.html").images if src.startswith("_images/")]
    assert len(figures) >= 2  # the committed figures of notebook 04: curves, temperatures
    assert images >= 20


def test_the_references_page_links_every_cited_work_and_the_landing_page_links_it(site):
    out, _ = site
    from dystress.pipeline.published import REFERENCES

    links = links_of(out / "references.html").hrefs
    assert all(link in links for *_, link in REFERENCES)
    assert "https://arxiv.org/abs/2308.01140" in links  # the paper itself
    assert "references.html" in links_of(out / "index.html").hrefs


def test_equations_are_typeset_offline_from_the_bundled_mathjax(site):
    out, _ = site
    page = (out / "02_temperature_functions.html").read_text()
    assert page.count('class="math') >= 5
    if book._mathjax_static() is not None:
        assert 'src="_static/mathjax/MathJax.js' in page
        assert (out / "_static" / "mathjax" / "MathJax.js").exists()


def test_a_broken_reference_is_reported(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 01 · A page\n\nSee [the missing page](nowhere.md) and "
                                      "![a figure](gone.png)."),
        nbformat.v4.new_code_cell("x: int = 1  # a parameter", metadata={"tags": ["parameters"]}),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, folder / "01_a_page.ipynb")
    index, warnings = book.build(tmp_path / "site", notebook_folder=folder)
    assert index.exists()
    text = "\n".join(warnings)
    assert "nowhere" in text and "gone.png" in text
    (folder / "02_unrendered.py").write_text("# %% [markdown]\n# # 02 · Not rendered\n")
    _, warnings = book.build(tmp_path / "site", notebook_folder=folder)
    (missing,) = [w for w in warnings if "02_unrendered" in w]
    assert "02_unrendered.ipynb is missing" in missing and "dystress render --only 02" in missing


def test_a_broken_image_is_refused_naming_the_notebook_and_the_cell(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    cell = nbformat.v4.new_code_cell("x: int = 1  # a parameter", metadata={"tags": ["parameters"]})
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "not an image!", "text/plain": "<Fig>"})]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · A page"), cell])
    nbformat.write(notebook, folder / "01_a_page.ipynb")
    with pytest.raises(ValueError, match=r"01_a_page.ipynb, cell 2: its image/png output does not decode"):
        book.build(tmp_path / "site", notebook_folder=folder)
    assert not (tmp_path / "site").exists()


def test_the_output_must_be_a_folder(tmp_path):
    target = tmp_path / "file"
    target.write_text("mine")
    with pytest.raises(ValueError, match="not a folder"):
        book.build(target)
    assert target.read_text() == "mine"


@pytest.mark.parametrize("kind", ["a folder of the user's", "the output of dystress run"])
def test_the_book_replaces_only_a_folder_it_built(kind, tmp_path, monkeypatch):
    target = tmp_path / "mine"
    target.mkdir()
    keep = target / ("notes.txt" if kind.startswith("a folder") else "04_pretraining.ipynb")
    keep.write_text("mine")
    with pytest.raises(ValueError, match=r"holds files that no book built .*\.dystress-book"):
        book.build(target)
    assert keep.read_text() == "mine" and sorted(p.name for p in target.iterdir()) == [keep.name]
    monkeypatch.chdir(target)
    with pytest.raises(ValueError, match="holds files that no book built"):
        book.build(".")
    assert keep.read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".book-")]


def test_a_rebuild_replaces_the_earlier_book(site, tmp_path):
    out, _ = site
    assert (out / book.BUILT_MARK).is_file()
    copy = tmp_path / "again"
    shutil.copytree(out, copy)
    (copy / "stale.html").write_text("from an earlier build")
    index, _ = book.build(copy)
    assert index == copy / "index.html" and not (copy / "stale.html").exists()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (chromium and driver):
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="dystress-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=Service(driver))
    yield session
    session.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def served(site):
    out, _ = site
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def wait_for(session, script: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = session.execute_script(script)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_the_book_reads_in_a_real_browser(browser, served, tmp_path):
    browser.get(f"{served}/index.html")
    nav = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav a.reference.internal')).map(a => a.href)")
    notebook_links = [href for href in nav if re.search(r"/\d\d_\w+\.html$", href)]
    assert [href.rsplit("/", 1)[1][:2] for href in notebook_links] == [p.stem[:2] for p in book.notebooks()]
    for href in dict.fromkeys(nav):
        browser.get(href)
        assert browser.execute_script("return document.querySelector('main h1') !== null"), href
        assert "404" not in browser.title, href
    browser.get(f"{served}/02_temperature_functions.html")
    assert browser.execute_script("return Array.from(document.querySelectorAll('main img'))"
                                  ".every(i => i.loading === 'lazy')"), "images load as they scroll into view"
    browser.execute_script("document.querySelectorAll('main img').forEach(i => { i.loading = 'eager'; })")
    loaded = wait_for(browser, "const imgs = Array.from(document.querySelectorAll('main img'));"
                               "return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)"
                               " ? imgs.length : 0")
    assert loaded >= 3, "the figures of notebook 02 did not load"
    typeset = wait_for(browser, "return document.querySelectorAll('main .MathJax, main .MathJax_Display').length")
    assert typeset >= 5, "MathJax typeset no equation"
    assert browser.execute_script("return document.querySelectorAll('.MathJax_Error, merror').length") == 0
    shot = tmp_path / "02_temperature_functions.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


WIDTHS = {"desktop": (1400, 1000), "phone": (400, 800)}

OVERFLOWING = """
const main = document.querySelector('main');
const scrolls = el => { for (let e = el; e && e !== main.parentElement; e = e.parentElement) {
    const o = getComputedStyle(e).overflowX; if ((o === 'auto' || o === 'scroll') && e.clientWidth < window.innerWidth)
        return true; } return false; };
const right = b => Math.max(b.getBoundingClientRect().right,
                            ...Array.from(b.querySelectorAll('*')).map(e => e.getBoundingClientRect().right));
const wide = b => b.scrollWidth > b.clientWidth + 1 || right(b) > Math.min(window.innerWidth,
                                                                          b.getBoundingClientRect().right) + 1;
const boxes = Array.from(main.querySelectorAll('div.math, table'));
return boxes.filter(b => wide(b) && !scrolls(b))
            .map(b => b.tagName + ' ' + (b.textContent || '').slice(0, 60));
"""

UNCAPTIONED = """
return Array.from(document.querySelectorAll('main img')).filter(i => {
    const figure = i.closest('figure'); const caption = figure && figure.querySelector('figcaption');
    return !(caption && caption.textContent.trim().length > 20 && i.alt && i.alt.trim().length > 5);
}).map(i => i.src.split('/').pop());
"""


WEIGHT = """
const navigation = performance.getEntriesByType('navigation')[0];
return navigation.encodedBodySize + performance.getEntriesByType('resource')
    .reduce((total, entry) => total + (entry.encodedBodySize || 0), 0);
"""

FAILED = "return performance.getEntriesByType('resource').filter(e => e.responseStatus >= 400).map(e => e.name)"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_reader_sees_the_findings_first_and_every_page_fits_the_screen(browser, served, tmp_path, width):
    """At a desktop and a phone width: the landing page shows the claims table in its first screen; the median
    notebook page weighs under 1.5 MB on a first visit and none over 1.75 MB; no page requests a file that is
    missing (fonts included), lets an equation or table run off the page without its own scroll bar, or shows a
    figure without caption and alt text; each keeps its parameters in one closed box and offers its .ipynb
    download. Screenshots are kept in the test's folder."""
    browser.set_window_size(*WIDTHS[width])
    browser.get(f"{served}/index.html")
    top = browser.execute_script("const t = document.querySelector('main table');"
                                 "return t ? t.getBoundingClientRect().top : null")
    assert top is not None and top < browser.execute_script("return window.innerHeight"), (
        f"the claims table starts at {top} px, below the first screen")
    browser.save_screenshot(str(tmp_path / f"index-{width}.png"))
    weights = {}
    for path in book.notebooks():
        page = f"{path.stem}.html"
        browser.get(f"{served}/{page}")
        wait_for(browser, "return document.readyState === 'complete'")
        wait_for(browser, "return !document.querySelector('main .MathJax_Processing, #MathJax_Message[style*=block]')",
                 timeout=10)
        if width == "desktop":  # what a first visit loads before any scrolling
            weights[page] = browser.execute_script(WEIGHT)
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")  # every lazy image loads
        failed = browser.execute_script(FAILED)
        assert not [url for url in failed if not url.endswith("/favicon.ico")], f"{page}: {failed}"
        assert browser.execute_script(OVERFLOWING) == [], f"{page} at {width} width"
        assert browser.execute_script(UNCAPTIONED) == [], f"{page}: figures without caption or alt text"
        assert browser.execute_script("const d = document.querySelector('main details.rerun');"
                                      "return d !== null && !d.open && d.querySelector('table') !== null"), (
            f"{page}: its parameters are not one closed box")
        assert browser.execute_script("return document.querySelectorAll('main .cell .tag_parameters').length") == 0
        assert browser.execute_script("return Array.from(document.querySelectorAll('main .cell_input pre'))"
                                      ".filter(p => p.scrollWidth > p.clientWidth + 1).length") == 0, (
            f"{page}: code that scrolls sideways")
        download = browser.execute_script(
            "const a = Array.from(document.querySelectorAll('a')).find(a => a.href.endsWith('.ipynb')"
            " && a.href.includes('_sources/')); return a ? a.href : null")
        assert download is not None, f"{page} has no .ipynb download"
        status = browser.execute_script(f"return fetch('{download}').then(r => r.ok ? r.text() : '')"
                                        ".then(t => t.includes('\"cells\"'))")
        assert status, f"{page}: its download {download} does not give the notebook"
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(tmp_path / f"{path.stem}-{width}.png"))
    if weights:  # the typical page under 1.5 MB; the pages with the most equations load more of MathJax's fonts
        shown = ", ".join(f"{page} {weight / 1e6:.2f} MB" for page, weight in weights.items())
        assert sorted(weights.values())[len(weights) // 2] < 1.5e6 and max(weights.values()) < 1.75e6, shown
