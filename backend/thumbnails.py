"""Thumbnails: small JPEG/PNG renderings of image files, made with Pillow and cached on disk.

The source is read through the same path as a download (staging while processing, the
compressor once stored) and fed to Pillow lazily, so only the bytes the decoder asks for are
fetched. Decompression bombs are refused before pixels are decoded; JPEGs are decoded in
draft mode at the smallest scale that still covers the requested size.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

try:  # HEIC/HEIF photos from phones, when the optional plugin is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - depends on the installation
    pass

MIN_SIZE = 16
MAX_SIZE = 1024
DEFAULT_SIZE = 256
# Decoded pixels we accept (after JPEG draft scaling): 50 megapixels, ~200 MB as RGBA.
MAX_PIXELS = 50_000_000
# Sources larger than this are not read for a thumbnail.
MAX_SOURCE_BYTES = 512 * 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024
JPEG_QUALITY = 85

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


class NoThumbnail(Exception):
    """This file has no thumbnail; the message says why (for the log)."""


@dataclass(frozen=True)
class Thumbnail:
    path: Path
    mimetype: str


def image_extensions() -> set[str]:
    """Lower-case file extensions (with the dot) Pillow can open here."""
    return {ext.lower() for ext in Image.registered_extensions()}


def may_have_thumbnail(name: str) -> bool:
    return Path(name).suffix.lower() in image_extensions()


class LazyReader(io.RawIOBase):
    """A seekable file over an iterator of chunks that pulls chunks only when read.

    What has been pulled is kept in a spooled temporary file (memory first, disk past
    ``SPOOL_IN_MEMORY``) so that decoders may seek backwards.
    """

    def __init__(self, chunks: Iterable[bytes], limit: int = MAX_SOURCE_BYTES) -> None:
        super().__init__()
        self._chunks: Iterator[bytes] | None = iter(chunks)
        self._buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self._filled = 0
        self._pos = 0
        self._limit = limit

    @property
    def fetched(self) -> int:
        """Bytes pulled from the source so far."""
        return self._filled

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _fill_to(self, target: int | None) -> None:
        while self._chunks is not None and (target is None or self._filled < target):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._chunks = None
                return
            if self._filled + len(chunk) > self._limit:
                raise NoThumbnail(f"source larger than {self._limit} bytes")
            self._buffer.seek(self._filled)
            self._buffer.write(chunk)
            self._filled += len(chunk)

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        wanted = len(target)
        self._fill_to(self._pos + wanted)
        self._buffer.seek(self._pos)
        count = self._buffer.readinto(target)
        self._pos += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            self._fill_to(None)
            self._pos = self._filled + offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = offset
        self._pos = max(0, self._pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._buffer.close()
        super().close()


def render(source: BinaryIO, size: int) -> tuple[bytes, str]:
    """Render ``source`` to fit in ``size`` x ``size``: (encoded bytes, mimetype)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as image:
                return _render_open(image, size)
        except NoThumbnail:
            raise
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as exc:
            raise NoThumbnail(str(exc)) from None
        except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as exc:
            # Pillow reports broken files through a variety of exception types.
            raise NoThumbnail(f"cannot decode: {exc}") from None
        except MemoryError:
            raise NoThumbnail("image too large to decode") from None


def _render_open(image: Image.Image, size: int) -> tuple[bytes, str]:
    if image.format == "JPEG":
        # Decode at 1/2, 1/4 or 1/8 scale when that still covers the thumbnail.
        image.draft("RGB", (size, size))
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise NoThumbnail(f"{width}x{height} pixels is more than the {MAX_PIXELS} allowed")
    image.load()
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if has_alpha:
        image.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), "image/jpeg"


class ThumbnailCache:
    """Rendered thumbnails under ``root``, keyed by content hash and size."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _stem(self, sha256: str, size: int) -> Path:
        return self.root / sha256[:2] / f"{sha256}-{size}"

    def get(self, sha256: str, size: int) -> Thumbnail | None:
        stem = self._stem(sha256, size)
        for suffix, mimetype in ((".jpg", "image/jpeg"), (".png", "image/png")):
            path = stem.with_suffix(suffix)
            if path.is_file():
                return Thumbnail(path, mimetype)
        return None

    def put(self, sha256: str, size: int, data: bytes, mimetype: str) -> Thumbnail:
        stem = self._stem(sha256, size)
        stem.parent.mkdir(parents=True, exist_ok=True)
        path = stem.with_suffix(".png" if mimetype == "image/png" else ".jpg")
        fd, tmp = tempfile.mkstemp(dir=stem.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)  # concurrent makers of the same thumbnail race harmlessly
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Thumbnail(path, mimetype)

    def make(self, sha256: str, size: int, chunks: Iterable[bytes]) -> Thumbnail:
        """Render from the source chunks and keep the result."""
        with LazyReader(chunks) as reader:
            data, mimetype = render(reader, size)  # type: ignore[arg-type]
        return self.put(sha256, size, data, mimetype)
