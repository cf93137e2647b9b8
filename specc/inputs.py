"""Reading the files a spec names: only regular files, and only up to a size.

A spec can name any path (``zonefile("/dev/zero")``, a FIFO, a directory,
a 10 GiB log).  Opening a FIFO for reading blocks until someone writes to
it, and reading a character device never ends; so a file is opened without
blocking, checked with ``fstat`` on the open descriptor (no window between
the check and the read), and read to at most ``limit`` bytes.  Every
problem is an :class:`InputError` whose text completes "cannot read X: ...".
"""

from __future__ import annotations

import os
import stat

SPEC_LIMIT = 16 << 20  # a .spec or a used file
ZONE_LIMIT = 16 << 20  # a zone file: every answer of it is precomputed into the image
CONFIG_LIMIT = 1 << 20  # a --config TOML file


class InputError(OSError):
    """Why a file cannot be read, in words for a diagnostic (``str(error)``).

    An ``OSError``, so that every caller that reports an unreadable file
    reports these too."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large
        self.strerror = reason  # what the callers' `error.strerror` shows


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def size_text(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.1f} {unit}"
    return f"{size} bytes"


def read_bytes(path: str, limit: int) -> bytes:
    """The contents of the regular file at ``path``, at most ``limit`` bytes."""
    if "\0" in path:
        raise InputError("a path cannot hold a NUL character")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise InputError(error.strerror or str(error)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"it is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise InputError(f"it is {size_text(info.st_size)}; the limit is {size_text(limit)}",
                             too_large=True)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:  # the file may grow while it is read
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise InputError(f"it is larger than the limit of {size_text(limit)}", too_large=True)
        return b"".join(chunks)
    except InputError:
        raise
    except OSError as error:
        raise InputError(error.strerror or str(error)) from None
    finally:
        os.close(fd)


def read_text(path: str, limit: int = SPEC_LIMIT) -> str:
    """The UTF-8 text of the regular file at ``path``."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"it is not UTF-8 text (byte {error.start})") from None
