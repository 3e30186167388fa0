"""Paths written by people on Windows rigs, read wherever bsingest runs.

A manifest or a ``bsingest.toml`` is often written on the acquisition computer (Windows:
``D:\\data\\rat01``, ``sessions\\day3``, ``\\\\nas\\lab\\rat01``) and read there, or on a
Linux server that mounts the same share. A value that looks like a Windows path is parsed
by Windows' rules (:class:`~pathlib.PureWindowsPath`): on Windows it is used as it is; on
another system a relative one keeps its parts (``sessions\\day3`` is ``sessions/day3``), and
an absolute one (drive letter or share), which no path here can name, is a one-line error
that says so instead of a folder that silently does not exist.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PureWindowsPath

from .errors import UsageError

__all__ = ["glob_pattern", "local_path", "looks_windows"]

_DRIVE = re.compile(r"^[A-Za-z]:([\\/]|$)")


def looks_windows(value: str) -> bool:
    """A drive letter (``D:\\``), a share (``\\\\host\\share``) or a backslash separator."""
    return bool(_DRIVE.match(value)) or "\\" in value


def local_path(value: str, where: str) -> Path:
    """``value`` (from ``where``: a file and key, for the message) as a path on this system."""
    if "\x00" in value:  # no system's path holds one: os.stat raised "embedded null byte"
        raise UsageError(f"{where}: {value!r} holds a NUL character, which no path can")
    if os.name == "nt" or not looks_windows(value):
        return Path(value).expanduser()
    windows = PureWindowsPath(value)
    if windows.drive or windows.root:
        raise UsageError(f"{where}: {value!r} is a Windows path (drive or network share); "
                         "on this computer, give the path it mounts that folder at")
    return Path(*windows.parts)


def glob_pattern(value: str) -> str:
    """A ``[[files]] match`` glob with ``/`` separators, as the session-relative paths it
    is matched against have (``raw\\*.bin`` is ``raw/*.bin``); glob syntax has no escapes
    (``[*]`` says a literal ``*``), so no backslash in a glob means anything else."""
    return value.replace("\\", "/")
