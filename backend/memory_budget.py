"""Memory that large decodes may hold at once, shared by every request thread of the
process, and handing freed memory back to the system (glibc keeps it otherwise)."""

from __future__ import annotations

import ctypes
import sys
import threading
from collections import deque

TRIM_AFTER_BYTES = 32 << 20  # freed memory goes back to the system after a decode this large


class OverBudget(Exception):
    """A need larger than the whole budget: it could never be met."""


class MemoryBudget:
    """Bytes that decodes may hold at once, shared by every request thread.

    A decode takes its estimated need through a :class:`Reservation` before it decodes
    anything, and waits, first come first served, while the budget is spent. A need larger
    than the whole budget is refused with :class:`OverBudget` instead of being decoded.
    """

    def __init__(self, total: int) -> None:
        self._total = total
        self._used = 0
        self._queue: deque[object] = deque()  # takers waiting for room, in arrival order
        self._changed = threading.Condition()

    @property
    def total(self) -> int:
        return self._total

    @property
    def in_use(self) -> int:
        with self._changed:
            return self._used

    @property
    def waiting(self) -> int:
        """Takers waiting for room."""
        with self._changed:
            return len(self._queue)

    def resize(self, total: int) -> None:
        with self._changed:
            self._total = total
            self._changed.notify_all()

    def reservation(self) -> Reservation:
        return Reservation(self)

    def take(self, need: int) -> None:
        """Block until ``need`` bytes fit (after those waiting longer), then hold them."""
        with self._changed:
            turn = object()
            self._queue.append(turn)
            try:
                self._changed.wait_for(
                    lambda: (
                        need > self._total
                        or (self._queue[0] is turn and self._used + need <= self._total)
                    )
                )
            finally:
                self._queue.remove(turn)
                self._changed.notify_all()  # the next in line may fit as well
            if need > self._total:
                raise OverBudget(
                    f"decoding needs about {need >> 20} MiB, more than the whole thumbnail "
                    f"memory budget of {self._total >> 20} MiB"
                )
            self._used += need

    def give_back(self, held: int) -> None:
        with self._changed:
            self._used -= held
            self._changed.notify_all()


class Reservation:
    """Memory taken once from a :class:`MemoryBudget`, held until the ``with`` block ends."""

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.held = 0

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        held, self.held = self.held, 0
        if held >= TRIM_AFTER_BYTES:
            release_free_memory()  # before the next decode may take this memory again
        if held:
            self.budget.give_back(held)

    def take(self, need: int) -> None:
        if self.held:
            raise RuntimeError("a reservation takes once (taking more could deadlock)")
        self.budget.take(need)
        self.held = need


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):  # not glibc (musl has neither)
        return None
    return libc


_GLIBC = _glibc()
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD = 4 << 20


def release_free_memory() -> None:
    """Hand freed heap memory back to the system where the C library can (glibc).

    Otherwise glibc's arenas keep what a large decode freed, and the process stays at its
    peak: four 49-megapixel thumbnails at once left it at 2.5 GB.
    """
    if _GLIBC is not None:
        _GLIBC.malloc_trim(0)


def _map_large_blocks_apart() -> None:
    """Have glibc map every block of ``MMAP_THRESHOLD`` or more on its own, so that it goes
    back to the system as soon as it is freed.

    By default glibc raises that threshold to the largest block freed so far (up to 32 MiB);
    Pillow's image blocks then come from the arena of the request thread that decodes, and
    malloc_trim cannot shrink the top of a thread's arena: after 16 concurrent thumbnails
    of a 49-megapixel image the backend stayed 170 MB above where it started, instead of
    6 MB. Called once, when this module is imported, before the server starts its threads.
    """
    if _GLIBC is not None:
        _GLIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


_map_large_blocks_apart()
