"""Thumbnails: small JPEG/PNG renderings of image files, made with Pillow and cached on disk,
and poster frames of videos where PyAV (FFmpeg) is installed.

The source is read through the same path as a download (staging while processing, the
compressor once stored) and fed to Pillow lazily, so only the bytes the decoder asks for are
fetched. Decompression bombs are refused before pixels are decoded; JPEGs are decoded in
draft mode at the smallest scale that still covers the requested size.

Memory stays bounded: every decode first reserves its estimated need (the decoded image,
what its decoder holds beside it, and the working copies) from one process-wide
:class:`MemoryBudget`, waiting its turn while the budget is spent; an image that needs more
than the whole budget gets no thumbnail. Large images are converted and reduced a tile at a
time, so the decoded image is the only full-size copy, and freed memory is handed back to
the system after large decodes.
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

from PIL import ExifTags, Image, ImageFile, ImageStat, UnidentifiedImageError

from backend.config import DEFAULT_THUMBNAIL_MEMORY_BYTES
from backend.memory_budget import MemoryBudget, OverBudget, Reservation
from backend.thumbnail_plan import Plan, decoder_bytes, fit, shrink

log = logging.getLogger(__name__)

try:  # video poster frames, when the `video` extra (PyAV) is installed
    import av
except ImportError:  # pragma: no cover - depends on the installation
    av = None

try:  # HEIC/HEIF photos from phones, when the plugin is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF = True
except ImportError:  # pragma: no cover - depends on the installation
    HEIF = False

NO_VIDEO_DECODER = (
    "video poster frames are off: PyAV is not installed (install trove[video], or build "
    "the backend image with TROVE_BACKEND_EXTRAS=video); videos get no thumbnail"
)

MIN_SIZE = 16
MAX_SIZE = 1024
DEFAULT_SIZE = 256
# Decoded pixels we accept (after JPEG draft scaling): 50 megapixels, ~200 MB as RGBA.
MAX_PIXELS = 50_000_000
# Sources larger than this are not read for a thumbnail.
MAX_SOURCE_BYTES = 512 * 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024
JPEG_QUALITY = 85

# What FFmpeg holds while it finds a poster frame, per pixel of the video: reference
# frames, its pools and the scaler's buffers (5.6 measured for 8-bit 4:2:0 H.264).
VIDEO_BYTES_PER_PIXEL = 8
# How to turn an image for each EXIF orientation (as ImageOps.exif_transpose does).
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

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


VIDEO_EXTENSIONS = frozenset(
    [".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ogv", ".mpg", ".mpeg", ".3gp", ".wmv"]
)
# Where a poster frame is looked for: (share of the length, at most so many seconds). The
# first frame that is not nearly black wins (openings often fade in from black).
POSTER_POINTS = ((0.1, 10), (0.3, 30), (0.5, 60))
DARK_LUMA = 24  # mean brightness (0-255) under which a frame counts as black


def support() -> str:
    """What gets a thumbnail on this server, in one line for the start-up log."""
    images = "thumbnails of images" + (" (HEIC/HEIF included)" if HEIF else "")
    if av is None:
        return f"{images}; {NO_VIDEO_DECODER}"
    return f"{images} and poster frames of videos (PyAV {av.__version__})"


def is_video(name: str) -> bool:
    """A video name whose poster frame can be decoded here."""
    return av is not None and Path(name).suffix.lower() in VIDEO_EXTENSIONS


def may_have_thumbnail(name: str) -> bool:
    return Path(name).suffix.lower() in image_extensions() or is_video(name)


def skipped_because(name: str) -> str:
    """Why a file so named gets no thumbnail here (for the log)."""
    if av is None and Path(name).suffix.lower() in VIDEO_EXTENSIONS:
        return NO_VIDEO_DECODER
    return "not an image type"


class LazyReader(io.RawIOBase):
    """A seekable file over an iterator of chunks that pulls chunks only when read.

    What has been pulled is kept in a spooled temporary file (memory first, disk past
    ``SPOOL_IN_MEMORY``) so that decoders may seek backwards.
    """

    def __init__(
        self, chunks: Iterable[bytes], limit: int = MAX_SOURCE_BYTES, size: int | None = None
    ) -> None:
        super().__init__()
        self._size = size  # when known, asking where the end is reads nothing
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
            if self._size is None:
                self._fill_to(None)
            self._pos = (self._filled if self._size is None else self._size) + offset
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


BUDGET = MemoryBudget(DEFAULT_THUMBNAIL_MEMORY_BYTES)  # process-wide; sized from the config


def render(source: BinaryIO, size: int, budget: MemoryBudget | None = None) -> tuple[bytes, str]:
    """Render ``source`` to fit in ``size`` x ``size``: (encoded bytes, mimetype).

    Decoding waits for its estimated memory in ``budget`` (the process-wide :data:`BUDGET`
    by default), which is given back once the decoded image is gone.
    """
    budget = BUDGET if budget is None else budget
    with warnings.catch_warnings(), budget.reservation() as reservation:
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # Failures become NoThumbnail after their except clause: until then the traceback
        # keeps the decoded image alive, and the reservation must outlive it.
        try:
            return _encode(_decode(source, size, reservation))
        except (NoThumbnail, OverBudget) as exc:
            reason = str(exc)
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as exc:
            reason = str(exc)
        except (
            OSError,
            ValueError,
            SyntaxError,
            EOFError,
            IndexError,
            TypeError,
            ZeroDivisionError,
        ) as exc:
            # Pillow reports broken files through a variety of exception types.
            reason = f"cannot decode: {exc}"
        except MemoryError:
            reason = "image too large to decode"
    raise NoThumbnail(reason)


def _decode(source: BinaryIO, size: int, reservation: Reservation) -> Image.Image:
    """The thumbnail (RGB or RGBA) of the image in ``source``, decoded once its memory is
    reserved; the full-size image is gone when this returns."""
    with Image.open(source) as image:
        decoder = decoder_bytes(image)  # before draft: progressive JPEGs keep full-size data
        if image.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale when that still covers the thumbnail.
            image.draft("RGB", (size, size))
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise NoThumbnail(f"{width}x{height} pixels is more than the {MAX_PIXELS} allowed")
        reservation.take(decoder + Plan.of(image, size).working_bytes())
        image.load()
        orientation = image.getexif().get(ExifTags.Base.Orientation)
        # Planned again: a few formats settle their size or mode only when loaded.
        thumbnail = shrink(image, Plan.of(image, size))
    transpose = ORIENTATIONS.get(orientation) if isinstance(orientation, int) else None
    return thumbnail if transpose is None else thumbnail.transpose(transpose)


def _encode(image: Image.Image) -> tuple[bytes, str]:
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), "image/jpeg"


def render_video(
    source: BinaryIO, size: int, budget: MemoryBudget | None = None
) -> tuple[bytes, str]:
    """The poster frame of a video, fitted in ``size`` x ``size``; only the bytes the demuxer
    asks for are read (the start, the index, and the stretch up to the poster frame)."""
    if av is None:
        raise NoThumbnail(NO_VIDEO_DECODER)
    budget = BUDGET if budget is None else budget
    with budget.reservation() as reservation:
        try:  # NoThumbnail after the except clause, as in render()
            return _encode(_decode_video(source, size, reservation))
        except (NoThumbnail, OverBudget) as exc:
            reason = str(exc)
        except (av.error.FFmpegError, ValueError, OSError, StopIteration) as exc:
            reason = f"cannot decode the video: {exc}"
    raise NoThumbnail(reason)


def _decode_video(source: BinaryIO, size: int, reservation: Reservation) -> Image.Image:
    with av.open(source, mode="r") as container:
        stream = next(iter(container.streams.video), None)
        if stream is None:
            raise NoThumbnail("no video stream")
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise NoThumbnail("the video stream does not say its picture size")
        if width * height > MAX_PIXELS:
            raise NoThumbnail(f"{width}x{height} pixels is more than the {MAX_PIXELS} allowed")
        reservation.take(width * height * VIDEO_BYTES_PER_PIXEL)
        return _poster(container, stream, size, width * height)


def _poster(container, stream, size: int, reserved_pixels: int) -> Image.Image:
    duration = container.duration if container.duration and container.duration > 0 else 0
    image = None
    for share, at_most in POSTER_POINTS if duration else ((0, 0),):
        if duration:
            container.seek(int(min(duration * share, at_most * av.time_base)))  # key frame
        frame = next(container.decode(stream), None)
        if frame is None:
            break
        if frame.width * frame.height > reserved_pixels:
            raise NoThumbnail(f"a {frame.width}x{frame.height} frame in a smaller video")
        # Scaled while FFmpeg converts it to RGB: no full-size RGB copy of the frame.
        width, height = fit(frame.width, frame.height, size) or (frame.width, frame.height)
        image = frame.to_image(width=width, height=height, interpolation="LANCZOS")
        if ImageStat.Stat(image.convert("L")).mean[0] >= DARK_LUMA:
            break
    if image is None:
        raise NoThumbnail("no frame could be decoded")
    return image


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

    def make(
        self,
        sha256: str,
        size: int,
        chunks: Iterable[bytes],
        *,
        video: bool = False,
        source_size: int | None = None,
    ) -> Thumbnail:
        """Render from the source chunks (a poster frame for a video) and keep the result."""
        with LazyReader(chunks, size=source_size) as reader:
            draw = render_video if video else render
            data, mimetype = draw(reader, size)  # type: ignore[arg-type]
        return self.put(sha256, size, data, mimetype)
