"""Silencing native libraries (OpenCV, MediaPipe) that write warnings straight to fd 2."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (C++ logging bypasses sys.stderr).

    Keep the block short: it silences every thread's stderr while it lasts.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield  # no real fd 2 (e.g. an embedding host): nothing to silence
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
