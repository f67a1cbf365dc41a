"""Files a run writes stay in its run folder, and no write goes through a symbolic link.

- A file name a model file gives (a callback's ``path``, which may hold ``{epoch}``) is relative to the run
  folder, without ``..`` parts, and its only field is ``{epoch}`` (with an integer format such as
  ``{epoch:03d}``): ``inside(folder, name)`` gives the path, or a GraphnnError saying which rule it breaks
  (a model file must not write ``/home/me/.bashrc``, nor make ``str.format`` reach attributes or fail).
- ``open_for_writing(path, mode)`` opens a text file to write ("w") or append ("a") without following a
  link at ``path``: with "w" a link there is replaced by the new file (whatever it pointed at is left as
  it was), with "a" it is refused (OSError ELOOP, which the run reports as a write error). Atomic writes
  (graphnn/io/atomic.py) rename over a link, which replaces it too.
"""

import errno
import os
import stat
import string
from pathlib import Path, PurePosixPath, PureWindowsPath

from graphnn.errors import GraphnnError


def inside(folder, name, **location):
    """``folder / name`` for a file name a model file gave; ``location`` (file, path) locates the error."""
    def refuse(why):
        raise GraphnnError(f"must be a file name inside the run folder ({why}); got {name!r:.80}", **location)

    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        refuse("relative, not absolute")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        refuse("no '..' parts")
    if "\0" in name:
        refuse("no NUL character")
    try:
        fields = list(string.Formatter().parse(name))
        for _, field, spec, conversion in fields:
            if field is None:
                continue
            if field != "epoch" or conversion is not None:
                refuse("its only field is {epoch}")
            format(1, spec)
    except ValueError as error:
        refuse(f"{{epoch}} with an integer format; {error}")
    return Path(folder) / name


def open_for_writing(path, mode, **options):
    """``open(path, mode, **options)`` for "w" or "a" (its folder made if need be), never through a symbolic
    link at ``path``, and only of a regular file (a named pipe would block the open; O_NONBLOCK makes it fail at once instead)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | \
        (os.O_APPEND if mode == "a" else os.O_TRUNC)
    Path(path).parent.mkdir(parents=True, exist_ok=True)  # as atomic writes do
    if mode == "w" and os.path.islink(path):
        os.unlink(path)  # the link, not what it points at
    descriptor = os.open(path, flags, 0o666)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, mode, **options)
    except BaseException:
        os.close(descriptor)
        raise
