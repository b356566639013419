"""The HTML page of an explain report: plain HTML and CSS, no JavaScript, viewable offline.

A :class:`Page` collects headings, paragraphs, tables and pictures in order and writes
``index.html`` at the end. Every text is HTML-escaped; every picture is saved as a PNG
in the report folder itself and linked by its bare file name, so the folder can be
moved, zipped or opened from disk and still shows everything. Each file is written
through :mod:`faceapi_np.fileio` (temporary file, then rename).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from ..errors import OutputError
from ..fileio import save_image, write_text

#: Picture file names: lower-case letters, digits, dashes; no folders, so links stay inside.
_FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.png$")

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; background: #fff; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.3em; } code { background: #f3f3f3; padding: 0 3px; }
figure { margin: 0.6em 0 1.2em; } figcaption { color: #444; font-size: 0.92em; max-width: 900px; }
img { max-width: 100%; height: auto; image-rendering: pixelated; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.stats { font-family: ui-monospace, monospace; font-size: 0.9em; color: #333; }
nav ul { columns: 2; }
"""


def slug(text: str) -> str:
    """``text`` as a file-name and anchor friendly word: ``conv_0/x`` -> ``conv-0-x``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


class Page:
    """One report page being built in ``folder``.

    Parameters
    ----------
    folder : path
        Created if missing; ``index.html`` and the PNGs go there.
    title : str
    """

    def __init__(self, folder, title: str):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create report folder {self.folder}: {exc}") from None
        if not self.folder.is_dir():
            raise OutputError(f"cannot write the report into {self.folder}: not a folder")
        self.title = title
        self.images: list[str] = []
        self.sections: list[tuple[str, str]] = []  # (anchor, title) for the contents
        self._parts: list[str] = []

    def section(self, anchor: str, title: str, text: str = "") -> None:
        """A top-level section (listed in the contents), with an optional paragraph."""
        anchor = slug(anchor)
        self.sections.append((anchor, title))
        self._parts.append(f'<h2 id="{anchor}">{html.escape(title)}</h2>')
        if text:
            self.para(text)

    def subsection(self, title: str, anchor: str | None = None) -> None:
        """A third-level heading (e.g. one layer)."""
        a = f' id="{slug(anchor)}"' if anchor else ""
        self._parts.append(f"<h3{a}>{html.escape(title)}</h3>")

    def para(self, text: str, css: str | None = None) -> None:
        """A paragraph of plain text; ``code`` spans are written between backquotes."""
        body = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
        cls = f' class="{css}"' if css else ""
        self._parts.append(f"<p{cls}>{body}</p>")

    def table(self, head, rows, numeric=()) -> None:
        """A table; columns whose index is in ``numeric`` are right-aligned."""
        out = ["<table><tr>", *(f"<th>{html.escape(str(h))}</th>" for h in head), "</tr>"]
        for row in rows:
            out.append("<tr>")
            for i, cell in enumerate(row):
                cls = ' class="n"' if i in numeric else ""
                out.append(f"<td{cls}>{html.escape(str(cell))}</td>")
            out.append("</tr>")
        out.append("</table>")
        self._parts.append("".join(out))

    def image(self, name: str, picture, caption: str, alt: str | None = None, zoom: int = 1) -> str:
        """Save ``picture`` (a PIL image) as ``name`` in the folder and show it with ``caption``.

        ``name`` must be a bare ``.png`` file name (lower-case letters, digits, dashes), so
        that the page only ever links to files inside its own folder. ``zoom`` shows the
        picture that many times larger, pixels kept square (for small inputs).
        """
        if not _FILE_NAME.match(name):
            raise ValueError(f"picture names are bare lower-case .png file names, got {name!r}")
        if name in self.images:
            raise ValueError(f"picture {name!r} is already on this page")
        save_image(picture, self.folder / name)
        self.images.append(name)
        alt = html.escape(alt or caption, quote=True)
        self._parts.append(
            f'<figure><img src="{name}" alt="{alt}" width="{picture.width * zoom}" '
            f'height="{picture.height * zoom}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
        return name

    def html(self) -> str:
        """The whole page as a string."""
        contents = "".join(
            f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self.sections
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1><nav><ul>{contents}</ul></nav>"
            + "\n".join(self._parts)
            + "</body></html>\n"
        )

    def write(self) -> Path:
        """Write ``index.html`` (atomically) and return its path."""
        path = self.folder / "index.html"
        write_text(path, self.html())
        return path
