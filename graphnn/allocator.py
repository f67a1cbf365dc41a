"""Freed arrays kept for the next pass: glibc's malloc told not to hand large blocks back to the system.

glibc serves every block above its mmap threshold (128 KiB at first, raised as blocks are freed, up to
32 MiB) with fresh pages that it unmaps when the block is freed, and it returns the top of its heap
beyond M_TRIM_THRESHOLD. A network pass allocates the same large arrays every iteration (outputs, im2col
columns, gradients), so each was faulted in and zeroed by the kernel again: LeNet training at batch 64
spent about a third of its time there. ``keep_freed_memory()`` sets the mmap threshold to glibc's largest,
MMAP_THRESHOLD_BYTES, and the trim threshold to TRIM_THRESHOLD_BYTES, so a block below 32 MiB that a pass
frees serves the next one; blocks above stay mapped on their own, and at most TRIM_THRESHOLD_BYTES of free
heap is kept. The executor calls it when it builds its first network. It does nothing where the C library
is not glibc (macOS, musl), or when the environment sets GRAPHNN_KEEP_FREED_MEMORY=0.
"""

import ctypes
import os

MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest accepted M_MMAP_THRESHOLD on 64-bit machines
TRIM_THRESHOLD_BYTES = 256 << 20
OPT_OUT = "GRAPHNN_KEEP_FREED_MEMORY"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>

_done = []


def _glibc():
    """The process's C library when it is glibc, else None."""
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return None
        library = ctypes.CDLL(None)
    except (ValueError, OSError, AttributeError):
        return None
    return library if hasattr(library, "mallopt") else None


def keep_freed_memory():
    """Tune glibc's malloc as the module docstring says (once per process); True when it was tuned."""
    if not _done:
        library = None if os.environ.get(OPT_OUT) == "0" else _glibc()
        _done.append(library is not None and
                     library.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 and
                     library.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1)
    return _done[0]
