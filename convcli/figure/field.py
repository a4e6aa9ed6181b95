"""The receptive field on the image: a panel under a figure's filters that shows the model's input
picture with the rectangle of pixels the traced output position of a deep layer reads
(:func:`convcli.layer.field.field_at` says where).

The picture is drawn whole, enlarged by a whole factor when it is small (crisp pixels) or shrunk
to fit the figure's width and :data:`FIELD_MAX_H` pixels of height.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from convcli.figure.boxes import Box, FieldPlan, FigurePlan
from convcli.figure.layout import HEAD_H, MARGIN, ROW_GAP
from convcli.layer.field import Field

#: the most pixels the picture may be tall
FIELD_MAX_H = 420
#: under the picture: its note
NOTE_H = 40
#: the enlarged neighbourhood's side, about, and its gap from the picture
ZOOM_PX = 320
ZOOM_GAP = 48
#: the rectangle's colour (the --trace marks' green is for windows on maps; this one stands out on a photo)
FIELD_COLOUR = (255, 214, 0)


def display_rgb(x: np.ndarray) -> np.ndarray:
    """``x (H, W, C)`` as an ``(H, W, 3)`` uint8 picture: uint8 RGB as it is; other values stretched
    from their min to their max, one channel repeated for grey, the first three of more."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"a picture is (H, W, C); got {x.shape}")
    rgb = x[:, :, :3] if x.shape[2] >= 3 else np.repeat(x[:, :, :1], 3, axis=2)
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    v = np.nan_to_num(rgb.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(v.min()), float(v.max())
    scaled = (v - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(v)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def scale_for(hw: tuple[int, int], width: int) -> float:
    """Pixels of the figure per input pixel: a whole factor ≥ 1 when the picture fits, else < 1."""
    h, w = hw
    z = min(width / w, FIELD_MAX_H / h)
    return float(int(z)) if z >= 1 else z


def with_field(plan: FigurePlan, picture: np.ndarray, field: Field, heading: str) -> FigurePlan:
    """``plan`` with the receptive field panel added under its filters (the figure grows by its height).

    ``picture (H, W, C)``: the model's input, of ``field.hw``.
    """
    from PIL import Image

    if picture.shape[:2] != field.hw:
        raise ValueError(f"the picture is {picture.shape[:2]}, the field's input {field.hw}")
    fig_w, fig_h = plan.size
    h, w = field.hw
    z = scale_for((h, w), fig_w - 2 * MARGIN)
    dh, dw = max(1, round(h * z)), max(1, round(w * z))
    rgb = display_rgb(picture)
    resample = Image.Resampling.NEAREST if z >= 1 else Image.Resampling.BILINEAR
    image = np.asarray(Image.fromarray(rgb).resize((dw, dh), resample))
    top = fig_h - MARGIN + ROW_GAP  # the old bottom margin and a gap, as between filters
    head = Box(MARGIN, top, fig_w - MARGIN, top + HEAD_H)
    x0 = MARGIN
    y0 = head.y1
    (r0, r1), (c0, c1) = field.clipped()
    rect = Box(x0 + int(c0 * dw / w), y0 + int(r0 * dh / h),
               x0 + max(int(c0 * dw / w) + 1, int((c1 + 1) * dw / w)), y0 + max(int(r0 * dh / h) + 1, int((r1 + 1) * dh / h)))
    fh, fw = field.size
    outside = (fh * fw) - (r1 - r0 + 1) * (c1 - c0 + 1)
    note = (f"rows {field.rows[0]}–{field.rows[1]}, cols {field.cols[0]}–{field.cols[1]} of the {h}×{w} input: "
            f"{fh}×{fw} pixels" + (f", {outside} of them padding past the image's edge" if outside else ""))
    note += _not_exact(field)
    box = Box(x0, y0, x0 + dw, y0 + dh)
    zoom = _zoom(rgb, field, box, fig_w - MARGIN)
    if zoom is not None:
        note += "; enlarged on the right, with the pixels around it"
    bottom = max(box.y1, zoom[1].y1 if zoom is not None else 0)
    note_box = Box(MARGIN, bottom + 6, fig_w - MARGIN, bottom + NOTE_H)
    panel = FieldPlan(heading, head, image, box, rect, note, note_box, *(zoom or (None, None, None)))
    return replace(plan, size=(fig_w, note_box.y1 + MARGIN), field=panel)


def _not_exact(field: Field) -> str:
    """The caption's words where the rectangle holds pixels the position does not read: the layers whose
    reads are only bounded, or the rows and columns between those it reads (a dilation's or stride's gaps)."""
    from convcli.text import shown

    if field.bounded:
        names = ", ".join(repr(shown(n)) for n in field.bounded)
        return f"; a bounding rectangle: {names} may not read all of it"
    if field.exact or field.reads is None:
        return ""
    (r0, r1), (c0, c1) = field.clipped()
    rows = sum(1 for r in field.reads[0] if r0 <= r <= r1)
    cols = sum(1 for c in field.reads[1] if c0 <= c <= c1)
    return f"; it reads {rows} of its {r1 - r0 + 1} rows and {cols} of its {c1 - c0 + 1} columns (gaps between)"


def _zoom(rgb: np.ndarray, field: Field, beside: Box, right: int) -> tuple[np.ndarray, Box, Box] | None:
    """The field's neighbourhood (three times its size, at least 16 pixels a side, on the image) enlarged by a
    whole factor to about :data:`ZOOM_PX`, right of ``beside``; None when the picture already shows it large
    (:data:`ZOOM_PX` would not enlarge it twice) or there is no room."""
    from PIL import Image

    (r0, r1), (c0, c1) = field.clipped()
    h, w = field.hw
    fh, fw = r1 - r0 + 1, c1 - c0 + 1
    side_h, side_w = min(h, max(16, 3 * fh)), min(w, max(16, 3 * fw))
    top = min(max(0, (r0 + r1 + 1) // 2 - side_h // 2), h - side_h)
    left = min(max(0, (c0 + c1 + 1) // 2 - side_w // 2), w - side_w)
    z = ZOOM_PX // max(side_h, side_w)
    x0 = beside.x1 + ZOOM_GAP
    if z < 2 or z * side_w <= beside.width * side_w / w * 2 or x0 + z * side_w > right:
        return None
    crop = rgb[top:top + side_h, left:left + side_w]
    image = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((side_w * z, side_h * z),
                                                                           Image.Resampling.NEAREST))
    box = Box(x0, beside.y0, x0 + side_w * z, beside.y0 + side_h * z)
    rect = Box(x0 + (c0 - left) * z, box.y0 + (r0 - top) * z, x0 + (c1 + 1 - left) * z, box.y0 + (r1 + 1 - top) * z)
    return image, box, rect
