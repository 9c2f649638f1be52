"""Figures: files written once per name, and numbered, captioned figures that the book turns into its own."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
import pytest
from IPython import display as ipython_display

from dystress.pipeline import book, figures


@pytest.fixture
def shown(monkeypatch, tmp_path):
    monkeypatch.setenv("DYSTRESS_FIG_DIR", str(tmp_path))
    monkeypatch.setattr(figures, "_numbers", {})
    captured = []
    monkeypatch.setattr(ipython_display, "display", lambda obj, **kw: captured.append((obj, kw.get("metadata"))))
    return captured


def test_a_captioned_figure_is_shown_sharp_at_its_size_then_numbered_and_closed(shown, tmp_path):
    figures.use_style()
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    figures.savefig(fig, "99_test", "line", caption="A line.", alt="a rising line")
    data = (tmp_path / "99_test" / "line.png").read_bytes()
    assert (tmp_path / "99_test" / "line.pdf").is_file()
    (image, _), (caption, metadata) = shown
    width, _ = figures.png_size(data)
    assert image.data == data and image.width == round(width * figures.SCREEN_DPI / 150)
    assert caption.data == "**Figure 1.** A line."
    assert metadata == {figures.CAPTION_KEY: {"number": 1, "name": "line", "caption": "A line.",
                                              "alt": "a rising line"}}
    assert not plt.fignum_exists(fig.number)  # shown once, as the image above, not again by the inline backend


def test_figures_are_numbered_in_the_order_first_shown_and_keep_their_number(shown):
    for name in ("a", "b", "a"):
        fig = plt.figure()
        figures.savefig(fig, "99_test", name, caption=f"figure {name}")
    assert [m[figures.CAPTION_KEY]["number"] for _, m in shown if m] == [1, 2, 1]
    assert figures.figure_number("98_other", "a") == 1  # each notebook counts its own


def test_a_figure_without_a_caption_stays_open_and_shows_nothing_itself(shown):
    fig = plt.figure()
    figures.savefig(fig, "99_test", "plain")
    assert shown == [] and plt.fignum_exists(fig.number)
    plt.close(fig)


def test_png_size_reads_the_header_and_refuses_other_data():
    fig = plt.figure(figsize=(2, 1), dpi=100)
    from io import BytesIO
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    assert figures.png_size(buffer.getvalue()) == (200, 100)
    with pytest.raises(ValueError, match="not a PNG"):
        figures.png_size(b"GIF89a....")


def captioned_cell(outputs: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = outputs
    return cell


IMAGE = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


def caption(number=2, name="curves"):
    return nbformat.v4.new_output("display_data", data={"text/markdown": f"**Figure {number}.** Curves."},
                                  metadata={figures.CAPTION_KEY: {"number": number, "name": name,
                                                                  "caption": "Curves.", "alt": "loss curves"}})


def test_the_book_turns_a_shown_caption_into_the_figure_caption_of_its_cell(tmp_path):
    printed = nbformat.v4.new_output("stream", name="stdout", text="done\n")
    notebook = nbformat.v4.new_notebook(cells=[captioned_cell([printed, IMAGE, caption()])])
    assert book.caption_figures(notebook, tmp_path / "04_pretraining.ipynb") == 1
    cell = notebook.cells[0]
    assert cell.metadata["mystnb"] == {"figure": {"caption": "**Figure 2.** Curves.", "name": "fig-04-curves"},
                                       "image": {"alt": "loss curves"}}
    assert cell.outputs == [printed, IMAGE]


@pytest.mark.parametrize("outputs", [[caption()], [IMAGE, IMAGE, caption()], [IMAGE, caption(), caption(3)]])
def test_a_caption_that_could_land_on_another_output_is_refused(outputs, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), captioned_cell(outputs)])
    with pytest.raises(ValueError, match="04_pretraining.ipynb, cell 2: a captioned figure's cell must show one image"):
        book.caption_figures(notebook, tmp_path / "04_pretraining.ipynb")
