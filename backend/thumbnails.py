"""Thumbnails: small JPEG/PNG renderings of image files, made with Pillow and cached on disk,
and poster frames of videos where PyAV (FFmpeg) is installed.

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

from PIL import Image, ImageFile, ImageOps, ImageStat, UnidentifiedImageError

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


def render_video(source: BinaryIO, size: int) -> tuple[bytes, str]:
    """The poster frame of a video, fitted in ``size`` x ``size``; only the bytes the demuxer
    asks for are read (the start, the index, and the stretch up to the poster frame)."""
    if av is None:
        raise NoThumbnail(NO_VIDEO_DECODER)
    try:
        with av.open(source, mode="r") as container:
            stream = next(iter(container.streams.video), None)
            if stream is None:
                raise NoThumbnail("no video stream")
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > MAX_PIXELS:
                raise NoThumbnail(f"{width}x{height} pixels is more than the {MAX_PIXELS} allowed")
            image = _poster(container, stream)
    except NoThumbnail:
        raise
    except (av.error.FFmpegError, ValueError, OSError, StopIteration) as exc:
        raise NoThumbnail(f"cannot decode the video: {exc}") from None
    return _render_open(image, size)


def _poster(container, stream) -> Image.Image:
    duration = container.duration if container.duration and container.duration > 0 else 0
    image = None
    for share, at_most in POSTER_POINTS if duration else ((0, 0),):
        if duration:
            container.seek(int(min(duration * share, at_most * av.time_base)))  # key frame
        frame = next(container.decode(stream), None)
        if frame is None:
            break
        image = frame.to_image()
        if ImageStat.Stat(image.convert("L")).mean[0] >= DARK_LUMA:
            break
    if image is None:
        raise NoThumbnail("no frame could be decoded")
    return image


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
