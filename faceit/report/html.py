"""A self-contained HTML page: figures embedded as base64 PNG data URIs, no external files.

The page carries a small inline script that, once the page has loaded, marks every figure
``data-loaded="true"`` or ``"false"`` (true when the browser decoded it: naturalWidth > 0) and
fills ``<p id="figure-check" data-total=N data-loaded=M>``, so a headless browser's DOM dump
proves that each figure rendered.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

from .._io import atomic_write_text
from ..errors import DataError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Figure:
    """One PNG figure with its caption (what it shows and what to look for)."""

    path: Path
    title: str
    caption: str


@dataclass
class Table:
    """columns: header strings; rows: lists of cells (numbers are formatted, None shows as '–')."""

    columns: list
    rows: list
    caption: str = ""


@dataclass
class Section:
    """A results section: a heading, a paragraph, figures, tables, and what could not be shown (and why)."""

    title: str
    text: str = ""
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def png_data_uri(path) -> str:
    """``data:image/png;base64,...`` for the PNG file at ``path`` (DataError if it is not a PNG)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the figure ({exc.strerror})") from None
    if not data.startswith(PNG_SIGNATURE):
        raise DataError(f"{path}: not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def format_cell(value) -> str:
    """Numbers to 3 significant digits (integers as they are), None / NaN as '–'."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.3g}"
    return str(value)


_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 980px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 2em;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #555; font-size: 0.9em; } .notes li { font-size: 0.92em; }
figure { margin: 1.4em 0; } figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.88em; color: #333; margin-top: 0.4em; } figcaption b { color: #000; }
table { border-collapse: collapse; font-size: 0.78em; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.table-wrap { overflow-x: auto; } .skipped { color: #8a5a00; font-size: 0.88em; }
p.caption { font-size: 0.88em; color: #333; margin-bottom: 0.2em; }
"""

_CHECK_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("img");
  var ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    var loaded = imgs[i].complete && imgs[i].naturalWidth > 0;
    imgs[i].setAttribute("data-loaded", loaded ? "true" : "false");
    if (loaded) { ok++; }
  }
  var check = document.getElementById("figure-check");
  check.setAttribute("data-total", String(imgs.length));
  check.setAttribute("data-loaded", String(ok));
  check.textContent = ok + " of " + imgs.length + " figures loaded";
});
"""


def _figure_html(number: int, fig: Figure) -> str:
    e = html.escape
    return (f'<figure id="fig{number}">\n<img src="{png_data_uri(fig.path)}" alt="{e(fig.title)}" '
            f'data-file="{e(Path(fig.path).name)}">\n'
            f"<figcaption><b>Figure {number}. {e(fig.title)}.</b> {e(fig.caption)}</figcaption>\n</figure>")


def _table_html(table: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        if len(row) != len(table.columns):
            raise DataError(f"table row has {len(row)} cells for {len(table.columns)} columns: {row!r}")
        body.append("<tr>" + "".join(f"<td>{e(format_cell(v))}</td>" for v in row) + "</tr>")
    caption = f"<p class=\"caption\">{e(table.caption)}</p>" if table.caption else ""
    return (f'{caption}<div class="table-wrap"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(body) + "\n</tbody></table></div>")


def render_report(title: str, sections: list, notes=(), meta=()) -> str:
    """The report page as one HTML string.

    sections: Section objects, numbered figures across the page; notes: strings listed in the
    header (how the run was made and where it departs from the paper); meta: short strings
    shown under the title (run time, sizes).
    """
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{e(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
             f"<h1>{e(title)}</h1>"]
    if meta:
        parts.append('<p class="meta">' + " · ".join(e(m) for m in meta) + "</p>")
    if notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    parts.append('<p id="figure-check" class="meta" data-total="0" data-loaded="0"></p>')
    number = 0
    for section in sections:
        parts.append(f"<section>\n<h2>{e(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{e(section.text)}</p>")
        for fig in section.figures:
            number += 1
            parts.append(_figure_html(number, fig))
        for table in section.tables:
            parts.append(_table_html(table))
        for reason in section.skipped:
            parts.append(f'<p class="skipped">Not shown: {e(reason)}</p>')
        parts.append("</section>")
    parts += [f"<script>{_CHECK_SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def write_report(path, title: str, sections: list, notes=(), meta=()) -> Path:
    """Render the page (see :func:`render_report`) and write it atomically at ``path``."""
    path = Path(path)
    atomic_write_text(path, render_report(title, sections, notes, meta))
    return path
