"""Durable file writes: write to a temporary file in the same folder, flush and fsync it, rename it
over the target, then fsync the folder. A reader sees the old file or the new one, never a torn one.

``write_output`` is the one way a command writes the file it was asked for (viz, lr-plot): atomically, so a
full disk or a kill leaves the old file (or none), and a failure is a WriteError (exit 1) in one line.
"""

import os
import tempfile
from pathlib import Path


def write_atomic(path, data):
    """Replace ``path`` with ``data`` (bytes) atomically and durably."""
    path = Path(path)
    try:
        _write(path, data)
    except OSError as error:  # named by the file asked for, not the temporary one (errno kept)
        if error.filename == str(path) and error.filename2 is None:
            raise
        raise type(error)(error.errno, error.strerror or str(error), str(path)) from None
    fsync_folder(path.parent)


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o666 & ~_umask())  # mkstemp's 0600 would hide the file from other users
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_folder(folder):
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_output(path, data):
    """Write a command's output file ``path`` (bytes, or text as UTF-8) atomically, its folder made if need
    be; an OSError is a WriteError naming the file and the reason (a failure while running: exit 1)."""
    from graphnn.errors import WriteError

    try:
        write_atomic(path, data.encode("utf-8") if isinstance(data, str) else data)
    except OSError as error:
        reason = "a folder is in its place" if isinstance(error, IsADirectoryError) else error.strerror or str(error)
        raise WriteError(f"cannot write the file: {reason}; nothing was written", file=str(path)) from None
