"""The check every reader of a user-given path makes before it opens the path: it must be a regular file.

Opening a named pipe (FIFO) for reading waits for a writer, forever if none comes; a character device
such as /dev/zero or /dev/urandom never ends; a socket cannot be opened at all. So each reader calls
``require_regular_file`` first (model files, bundles, ONNX files, data files, run-folder files) and gets
one located line instead of a hang:

    pipe.json: is a named pipe (FIFO), not a regular file: its size cannot be checked against a limit ...
"""

import os
import stat

from graphnn.errors import GraphnnError

KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def require_regular_file(path, error=GraphnnError):
    """``os.stat(path)`` (following links) when ``path`` is a regular file; otherwise raises ``error`` (a
    GraphnnError class) naming the file and what it is, or why it cannot be examined."""
    try:
        status = os.stat(path)
    except OSError as failure:
        raise error(f"cannot read the file: {failure.strerror}", file=str(path)) from None
    except ValueError as failure:  # e.g. a NUL byte in the path
        raise error(f"cannot read the file: {failure}", file=str(path)) from None
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in KINDS if test(status.st_mode)), "not a file")
        raise error(f"is {kind}, not a regular file: its size cannot be checked against a limit before reading",
                    file=str(path))
    return status
