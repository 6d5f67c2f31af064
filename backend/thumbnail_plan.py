"""How a decoded image becomes its thumbnail without a full-size copy, and what memory
that takes: the decoded pixels, what the decoder holds beside them, and the working copies
(measured against real peaks with Pillow 13, to within about 1 MiB)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, TiffImagePlugin

PIXEL = 4  # bytes Pillow keeps an RGB or RGBA pixel in
TILE = 512  # side of the tiles large images are converted and reduced in
REDUCING_GAP = 2.0  # as Image.thumbnail: reduce by whole factors to at least twice the size
# Memory decoders hold beside the decoded pixels, per pixel (measured with Pillow 13): WebP
# keeps two canvases and a copy of the frame, AVIF and HEIF their decoded planes, OpenJPEG
# 32-bit samples. Progressive JPEGs and TIFF strips are reckoned from their headers.
DECODER_BYTES_PER_PIXEL = {"WEBP": 12, "AVIF": 8, "HEIF": 5, "JPEG2000": 16}


def bytes_per_pixel(mode: str) -> int:
    """Bytes Pillow stores a pixel of ``mode`` in (RGB takes four, like RGBA)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else PIXEL


def decoder_bytes(image: Image.Image) -> int:
    """Memory the decoder of ``image`` holds beside the decoded pixels."""
    if image.format == "JPEG":
        return _jpeg_coefficient_bytes(image)
    if image.format == "TIFF":
        return _tiff_strip_bytes(image)
    width, height = image.size
    return width * height * DECODER_BYTES_PER_PIXEL.get(image.format or "", 0)


def _jpeg_coefficient_bytes(image: Image.Image) -> int:
    """A progressive JPEG's decoder keeps two bytes for every sample of the full-size image,
    whatever the draft scale; a baseline one decodes a few rows at a time."""
    layers = getattr(image, "layer", None)
    if not image.info.get("progressive") or not layers:
        return 0
    h_max = max(1, *(h for _id, h, _v, _table in layers))
    v_max = max(1, *(v for _id, _h, v, _table in layers))
    width, height = image.size
    samples = sum(width * h * height * v for _id, h, v, _table in layers) // (h_max * v_max)
    return 2 * samples


def _tiff_strip_bytes(image: Image.Image) -> int:
    """libtiff decodes a strip (or tile) at a time into a buffer of its own."""
    tags = getattr(image, "tag_v2", {})
    width, height = image.size
    if TiffImagePlugin.TILEWIDTH in tags and TiffImagePlugin.TILELENGTH in tags:
        width, rows = tags[TiffImagePlugin.TILEWIDTH], tags[TiffImagePlugin.TILELENGTH]
    else:
        rows = min(tags.get(TiffImagePlugin.ROWSPERSTRIP, height), height)
    bits = tags.get(TiffImagePlugin.BITSPERSAMPLE, 8)
    if not isinstance(bits, tuple):
        bits = (bits,) * tags.get(TiffImagePlugin.SAMPLESPERPIXEL, 1)
    return int(width) * int(rows) * max(PIXEL, math.ceil(sum(bits) / 8))


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def fit(width: int, height: int, box: int) -> tuple[int, int] | None:
    """The size Image.thumbnail gives a width x height image in box x box; None if it fits."""
    if width <= box and height <= box:
        return None
    aspect = width / height

    def nearest(value: float, error: Callable[[int], float]) -> int:
        return max(min(math.floor(value), math.ceil(value), key=error), 1)

    if aspect <= 1:
        return nearest(box * aspect, lambda n: abs(aspect - n / box)), box
    return box, nearest(box / aspect, lambda n: abs(aspect - box / n) if n else 0)


@dataclass(frozen=True)
class Plan:
    """How a decoded image becomes its thumbnail, as Image.thumbnail would make it, but
    without a full-size copy: converted and reduced by whole factors a tile at a time, then
    resampled with LANCZOS at least ``REDUCING_GAP`` times."""

    size: tuple[int, int]  # decoded
    mode: str  # decoded
    alpha: bool
    final: tuple[int, int] | None  # None: the image fits already and is only converted
    factor: tuple[int, int]

    @classmethod
    def of(cls, image: Image.Image, box: int) -> Plan:
        width, height = image.size
        final = fit(width, height, box)
        factor = (1, 1)
        if final is not None:
            factor = (
                max(1, int(width / final[0] / REDUCING_GAP)),
                max(1, int(height / final[1] / REDUCING_GAP)),
            )
        return cls(image.size, image.mode, _has_alpha(image), final, factor)

    @property
    def target(self) -> str:
        return "RGBA" if self.alpha else "RGB"

    @property
    def work(self) -> str:
        """The reduced image's mode: alpha premultiplied when it is to be resampled."""
        return "RGBa" if self.alpha and self.final else self.target

    @property
    def direct(self) -> bool:
        """Resampled straight from the decoded image: nothing to convert or reduce first."""
        return self.final is not None and self.factor == (1, 1) and self.mode == self.target

    @property
    def reduced(self) -> tuple[int, int]:
        (width, height), (fx, fy) = self.size, self.factor
        return -(-width // fx), -(-height // fy)

    @property
    def step(self) -> tuple[int, int]:
        """Tile size, in whole factors so that tiles reduce as the whole image would."""
        fx, fy = self.factor
        return fx * max(1, TILE // fx), fy * max(1, TILE // fy)

    def working_bytes(self) -> int:
        """The most memory the decoded image and what is made of it hold at once."""
        (width, height), depth = self.size, bytes_per_pixel(self.mode)
        (rw, rh), need = self.reduced, width * height * depth
        if not self.direct:  # a tile cropped, converted, premultiplied; the reduced image
            tile = min(self.step[0], width) * min(self.step[1], height)
            need += tile * (depth + 2 * PIXEL) + rw * rh * PIXEL
        if self.final is not None:
            fw, fh = self.final
            if self.direct and self.alpha:  # Image.resize premultiplies a copy
                need += rw * rh * PIXEL
            need += (fw * rh + 3 * fw * fh) * PIXEL  # the first pass, the result, two copies
        return need


def shrink(image: Image.Image, plan: Plan) -> Image.Image:
    reduced = image if plan.direct else _reduce_in_tiles(image, plan)
    if plan.final is None:
        return reduced
    (width, height), (fx, fy) = plan.size, plan.factor
    box = (0.0, 0.0, width / fx, height / fy)
    small = reduced.resize(plan.final, Image.Resampling.LANCZOS, box=box)
    return small if small.mode == plan.target else small.convert(plan.target)


def _reduce_in_tiles(image: Image.Image, plan: Plan) -> Image.Image:
    """The image converted to ``plan.work`` and reduced by ``plan.factor``, a tile at a time
    (converting the whole image, or reducing RGBA, would copy it at full size)."""
    out = Image.new(plan.work, plan.reduced)
    (width, height), (fx, fy), (sx, sy) = plan.size, plan.factor, plan.step
    for top in range(0, height, sy):
        for left in range(0, width, sx):
            tile = image.crop((left, top, min(left + sx, width), min(top + sy, height)))
            if tile.mode != plan.target:
                tile = tile.convert(plan.target)
            if plan.work != plan.target:
                tile = tile.convert(plan.work)
            if plan.factor != (1, 1):
                tile = tile.reduce(plan.factor)
            out.paste(tile, (left // fx, top // fy))
    return out
