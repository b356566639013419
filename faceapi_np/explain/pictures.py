"""Pictures for the explain report, drawn with Pillow only.

Every picture that shows numbers as colours goes through a :class:`Scale`, which knows
its colour map and its range and can describe itself in words, so the page always says
which colour means which value. Two maps are used:

* ``viridis`` (dark purple = low, green, yellow = high) for values that are never
  negative (ReLU outputs, probabilities, distances); a five-stop approximation of
  matplotlib's viridis, perceptually close to uniform and readable in greyscale;
* ``blue-white-red`` (blue = negative, white = 0, red = positive), symmetric about 0,
  for values of either sign (normalised inputs, logits, linear layers).

Feature maps become mosaics of their most active channels (largest mean |value|), all
tiles on one scale so that tiles can be compared with each other.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Colour-map stops: (position 0..1, (r, g, b)).
COLOUR_MAPS = {
    "viridis": (
        (0.00, (68, 1, 84)),
        (0.25, (59, 82, 139)),
        (0.50, (33, 145, 140)),
        (0.75, (94, 201, 98)),
        (1.00, (253, 231, 37)),
    ),
    "blue-white-red": (
        (0.0, (33, 102, 172)),
        (0.5, (247, 247, 247)),
        (1.0, (178, 24, 43)),
    ),
}
#: How each map reads, for the page.
MAP_WORDS = {
    "viridis": ("dark purple", "yellow"),
    "blue-white-red": ("blue", "red"),
}
#: Entries of a colour map's lookup table; odd, so that 0 of a symmetric scale is exact.
LUT_SIZE = 511
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
#: Colours of the 68-point groups and of boxes, chosen to stay apart from each other.
PALETTE = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
)


def font(size: int = 12):
    """Pillow's built-in font at ``size`` px (the fixed bitmap font on old Pillow)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


@functools.cache
def _lut(name: str) -> np.ndarray:
    stops = COLOUR_MAPS[name]
    t = np.linspace(0.0, 1.0, LUT_SIZE)
    pos = [s[0] for s in stops]
    return np.stack([np.interp(t, pos, [s[1][c] for s in stops]) for c in range(3)], axis=1).astype(
        np.uint8
    )  # (256, 3)


@dataclass(frozen=True)
class Scale:
    """A colour map over the value range ``lo..hi``."""

    lo: float
    hi: float
    cmap: str = "viridis"

    @classmethod
    def for_values(cls, values, lo: float | None = None) -> Scale:
        """The scale a picture of ``values`` uses: symmetric blue-white-red about 0 when any
        value is negative, else viridis from 0 (or ``lo``) to the maximum."""
        a = np.asarray(values, np.float64)
        a = a[np.isfinite(a)]
        if a.size and a.min() < 0:
            m = float(np.abs(a).max()) or 1.0
            return cls(-m, m, "blue-white-red")
        lo = 0.0 if lo is None else lo
        hi = float(a.max()) if a.size else 1.0
        return cls(lo, hi if hi > lo else lo + 1.0, "viridis")

    def colours(self, values) -> np.ndarray:
        """uint8 RGB colours, shape ``values.shape + (3,)``; values outside are clamped."""
        a = np.asarray(values, np.float64)
        t = np.clip((a - self.lo) / (self.hi - self.lo), 0.0, 1.0)
        return _lut(self.cmap)[np.rint(np.nan_to_num(t) * (LUT_SIZE - 1)).astype(np.int64)]

    def describe(self) -> str:
        """E.g. ``viridis from 0 (dark purple) to 5.83 (yellow)``."""
        low, high = MAP_WORDS[self.cmap]
        mid = ", 0 white" if self.cmap == "blue-white-red" else ""
        return f"{self.cmap} from {_num(self.lo)} ({low}) to {_num(self.hi)} ({high}){mid}"


def _num(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.2e}"


def to_pil(rgb) -> Image.Image:
    """An (H, W, 3) array of 0..255 values as a PIL image (rounded, clipped)."""
    a = np.asarray(rgb)
    if a.dtype != np.uint8:
        a = np.clip(np.round(a), 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(a), "RGB")


def fit(img: Image.Image, longest: int, smooth: bool = True) -> Image.Image:
    """``img`` scaled so its longer side is ``longest`` (nearest-neighbour unless ``smooth``)."""
    w, h = img.size
    s = longest / max(w, h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return img.resize(size, Image.BILINEAR if smooth and s < 1 else Image.NEAREST)


def heatmap(values, scale: Scale, size=None, under: Image.Image | None = None, alpha=0.6):
    """(H, W) values as colours, enlarged to ``size`` (w, h) with visible cells, optionally
    blended over ``under`` (``alpha`` = weight of the colours)."""
    img = to_pil(scale.colours(values))
    if size is not None:
        img = img.resize(tuple(size), Image.NEAREST)
    if under is not None:
        img = Image.blend(under.convert("RGB").resize(img.size), img, alpha)
    return img


def colour_bar(scale: Scale, width: int = 256, marks=(), label: str = "") -> Image.Image:
    """A horizontal bar of the scale with its ends (and 0, and ``marks``) written under it."""
    f = font(11)
    bar_h, text_h = 12, 14
    img = Image.new("RGB", (width, bar_h + text_h + (text_h if label else 0) + 4), BACKGROUND)
    ramp = np.linspace(scale.lo, scale.hi, width)[None, :].repeat(bar_h, 0)
    img.paste(to_pil(scale.colours(ramp)), (0, 0))
    d = ImageDraw.Draw(img)
    ticks = [(scale.lo, "left"), (scale.hi, "right")]
    if scale.lo < 0 < scale.hi:
        ticks.append((0.0, "mid"))
    ticks += [(m, "mid") for m in marks]
    for v, where in ticks:
        x = (v - scale.lo) / (scale.hi - scale.lo) * (width - 1)
        text = _num(v)
        tw = d.textlength(text, font=f)
        tx = {"left": 0, "right": width - tw}.get(where, min(max(0, x - tw / 2), width - tw))
        if where == "mid":
            d.line([(x, 0), (x, bar_h + 2)], fill=INK, width=2 if v in marks else 1)
        d.text((tx, bar_h + 2), text, fill=INK, font=f)
    if label:
        d.text((0, bar_h + text_h + 2), label, fill=INK, font=f)
    return img


def stack(images, gap: int = 6, horizontal: bool = False) -> Image.Image:
    """Images one under the other (or side by side), on white."""
    images = [i for i in images if i is not None]
    if horizontal:
        w, h = sum(i.width for i in images) + gap * (len(images) - 1), max(i.height for i in images)
    else:
        w, h = max(i.width for i in images), sum(i.height for i in images) + gap * (len(images) - 1)
    out = Image.new("RGB", (w, h), BACKGROUND)
    pos = 0
    for i in images:
        out.paste(i, (pos, 0) if horizontal else (0, pos))
        pos += (i.width if horizontal else i.height) + gap
    return out


def grid(images, labels=(), cols: int | None = None, gap: int = 6) -> Image.Image:
    """Images in a grid of ``cols`` columns, each with its label above it."""
    images = list(images)
    labels = list(labels) + [""] * (len(images) - len(labels))
    cols = cols or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    f = font(11)
    cw, ch = max(i.width for i in images), max(i.height for i in images)
    th = 14 if any(labels) else 0
    out = Image.new("RGB", (cols * (cw + gap) - gap, rows * (ch + th + gap) - gap), BACKGROUND)
    d = ImageDraw.Draw(out)
    for k, (img, text) in enumerate(zip(images, labels)):
        x, y = (k % cols) * (cw + gap), (k // cols) * (ch + th + gap)
        if text:
            d.text((x, y), text, fill=INK, font=f)
        out.paste(img, (x, y + th))
    return out


def mosaic(fmap, count: int = 16, tile: int = 96):
    """The ``count`` most active channels of one feature map, on one shared scale.

    Parameters
    ----------
    fmap : ndarray, shape (H, W, C)
    count : int
        Channels shown, the largest mean |value| first.
    tile : int
        Side of each tile in pixels (small maps are enlarged with visible cells, large
        ones reduced).

    Returns
    -------
    picture : PIL.Image (tiles labelled by channel index, colour bar underneath)
    channels : list of int, the channels shown
    scale : Scale
    """
    fmap = np.asarray(fmap, np.float32)
    activity = np.abs(fmap).mean(axis=(0, 1))
    channels = [int(c) for c in np.argsort(-activity, kind="stable")[:count]]
    scale = Scale.for_values(fmap[:, :, channels])
    h, w = fmap.shape[:2]
    size = (max(1, round(tile * w / max(h, w))), max(1, round(tile * h / max(h, w))))
    tiles = []
    for c in channels:
        img = to_pil(scale.colours(fmap[:, :, c]))
        tiles.append(img.resize(size, Image.NEAREST if size[0] >= w else Image.BILINEAR))
    body = grid(tiles, [f"ch {c}" for c in channels], cols=min(len(tiles), 8))
    return stack([body, colour_bar(scale, min(body.width, 320))]), channels, scale


def vector_picture(values, per_row: int = 64, cell: int = 8, scale: Scale | None = None):
    """A 1-D vector as rows of coloured cells (``per_row`` a row), with its colour bar."""
    v = np.asarray(values, np.float64).reshape(-1)
    scale = scale or Scale.for_values(v)
    rows = math.ceil(v.size / per_row)
    padded = np.full(rows * per_row, np.nan)
    padded[: v.size] = v
    cols = scale.colours(np.nan_to_num(padded, nan=scale.lo)).reshape(rows, per_row, 3)
    cols[np.isnan(padded).reshape(rows, per_row)] = BACKGROUND  # cells past the end
    img = to_pil(cols).resize((per_row * cell, rows * cell), Image.NEAREST)
    return stack([img, colour_bar(scale, max(img.width, 200))]), scale


def draw_boxes(img: Image.Image, boxes, colours=None, labels=(), width: int = 2) -> Image.Image:
    """A copy of ``img`` with boxes ``(x0, y0, x1, y1)`` in its pixels drawn on it."""
    out = img.convert("RGB").copy()
    d = ImageDraw.Draw(out)
    f = font(12)
    labels = list(labels)
    for k, b in enumerate(np.asarray(boxes, np.float64).reshape(-1, 4)):
        c = PALETTE[0] if colours is None else tuple(int(v) for v in colours[k])
        x0, y0, x1, y1 = (float(v) for v in b)
        d.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=c, width=width)
        if k < len(labels) and labels[k]:
            tw = d.textlength(labels[k], font=f)
            ty = max(0.0, min(y0, y1) - 15)
            d.rectangle([x0, ty, x0 + tw + 4, ty + 14], fill=(0, 0, 0))
            d.text((x0 + 2, ty + 1), labels[k], fill=(255, 255, 255), font=f)
    return out


def draw_points(img: Image.Image, points, colours=None, radius: float = 2.0) -> Image.Image:
    """A copy of ``img`` with dots at ``points`` (K, 2), in its pixels."""
    out = img.convert("RGB").copy()
    d = ImageDraw.Draw(out)
    for k, (x, y) in enumerate(np.asarray(points, np.float64).reshape(-1, 2)):
        c = PALETTE[0] if colours is None else tuple(int(v) for v in colours[k])
        d.ellipse([x - radius, y - radius, x + radius, y + radius], fill=c)
    return out


def legend(entries) -> Image.Image:
    """A key of ``(colour, text)`` entries, one per line."""
    f = font(12)
    img = Image.new("RGB", (220, 16 * len(entries) + 4), BACKGROUND)
    d = ImageDraw.Draw(img)
    for k, (c, text) in enumerate(entries):
        d.rectangle([2, 3 + 16 * k, 12, 13 + 16 * k], fill=tuple(c))
        d.text((18, 2 + 16 * k), text, fill=INK, font=f)
    return img


def bars(names, values, width: int = 220) -> Image.Image:
    """Horizontal bars of probabilities (0..1), one per name, the value written beside."""
    f = font(12)
    label_w = 80
    img = Image.new("RGB", (label_w + width + 50, 18 * len(names) + 4), BACKGROUND)
    d = ImageDraw.Draw(img)
    best = int(np.argmax(values)) if len(values) else -1
    for k, (name, v) in enumerate(zip(names, values)):
        y = 2 + 18 * k
        d.text((0, y + 1), str(name), fill=INK, font=f)
        colour = PALETTE[2] if k == best else (160, 160, 160)
        d.rectangle(
            [label_w, y + 2, label_w + max(1, round(float(v) * width)), y + 14], fill=colour
        )
        d.text((label_w + width + 4, y + 1), f"{float(v):.3f}", fill=INK, font=f)
    return img


def distance_matrix(dist, threshold: float = 0.6, cell: int = 48) -> Image.Image:
    """The face-to-face distance matrix with each value written in its cell.

    Cells below ``threshold`` (the same person, by face-api.js's rule) get a white
    frame; the colour bar marks the threshold.
    """
    dist = np.asarray(dist, np.float64)
    n = dist.shape[0]
    scale = Scale(0.0, max(1.2, float(dist.max()) if n else 1.0), "viridis")
    f = font(12)
    head = 24
    img = Image.new("RGB", (head + n * cell, head + n * cell), BACKGROUND)
    img.paste(heatmap(dist, scale, (n * cell, n * cell)), (head, head))
    d = ImageDraw.Draw(img)
    for i in range(n):
        d.text((head + i * cell + cell // 2 - 6, 6), f"#{i + 1}", fill=INK, font=f)
        d.text((2, head + i * cell + cell // 2 - 6), f"#{i + 1}", fill=INK, font=f)
        for j in range(n):
            x, y = head + j * cell, head + i * cell
            v = dist[i, j]
            ink = (0, 0, 0) if scale.colours(v)[1] > 150 else (255, 255, 255)
            d.text((x + 6, y + cell // 2 - 6), f"{v:.2f}", fill=ink, font=f)
            if v < threshold:
                d.rectangle([x + 1, y + 1, x + cell - 2, y + cell - 2], outline=(255, 255, 255))
    bar = colour_bar(scale, max(img.width, 240), marks=(threshold,), label="distance")
    return stack([img, bar])
