"""A JSON list written item by item, the same text :func:`bsingest.cli.output.json_text`
gives for the whole list (indented by 2, strict: non-finite numbers as null, lone
surrogates of a non-UTF-8 file name as ``\\udcXX`` escapes), without holding the list.

Python's ``json`` encodes indented output in pure Python; records are small trees of
dicts, lists, strings and numbers, so this writer walks them itself and leaves each
string to the C escaper. ``tests/test_cli_output.py`` checks it byte for byte against
``json_text``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from types import TracebackType
from typing import Any

__all__ = ["JsonListWriter", "dumps_indented"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def _parts(value: Any, pad: str, out: list[str]) -> None:
    # Same order of tests as json.encoder: str, None, True, False, int, float, list, dict.
    # Strings and whole numbers inside a dict or list are written in the loop itself (most
    # of a record); everything else goes through _scalar or a nested call.
    kind = type(value)
    if kind is dict:
        if not value:
            out.append("{}")
            return
        inner = pad + "  "
        sep = "{\n" + inner
        comma = ",\n" + inner
        for key, item in value.items():
            head = sep + encode_basestring(key if type(key) is str else _key(key)) + ": "
            sep = comma
            t = type(item)
            if t is str:
                out.append(head + encode_basestring(item))
            elif t is int:
                out.append(head + int.__repr__(item))
            else:
                out.append(head)
                _parts(item, inner, out)
        out.append("\n" + pad + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = pad + "  "
        sep = "[\n" + inner
        comma = ",\n" + inner
        for item in value:
            out.append(sep)
            sep = comma
            _parts(item, inner, out)
        out.append("\n" + pad + "]")
    else:
        _scalar(value, pad, out)


def _scalar(value: Any, pad: str, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(float.__repr__(value) if math.isfinite(value) else "null")
    elif isinstance(value, list | tuple):  # subclasses: as json.encoder writes them
        _parts(list(value), pad, out)
    elif isinstance(value, dict):
        _parts(dict(value), pad, out)
    else:
        _scalar(str(value), pad, out)  # json_text's default=str


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, float):
        return float.__repr__(key) if math.isfinite(key) else "null"
    return str(key)


def dumps_indented(value: Any, pad: str = "") -> str:
    """``value`` as ``json_text`` writes it, its lines after the first indented by ``pad``."""
    out: list[str] = []
    _parts(value, pad, out)
    text = "".join(out)
    return _SURROGATE.sub(_surrogate, text) if _SURROGATE.search(text) else text


class JsonListWriter:
    """``with JsonListWriter(write) as w: w.write(item)``: ``[``, the items, ``]``; ``[]``
    when there were none. ``write`` takes bytes (a binary stream's ``write``); items go
    out in pieces of about 64 KiB, so memory stays flat whatever their number."""

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self._write = write
        self.count = 0
        self._pending: list[str] = []
        self._size = 0

    def write(self, item: Any) -> None:
        text = ("[\n  " if self.count == 0 else ",\n  ") + dumps_indented(item, "  ")
        self._pending.append(text)
        self._size += len(text)
        self.count += 1
        if self._size >= 65536:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._write("".join(self._pending).encode("utf-8"))
            self._pending, self._size = [], 0

    def __enter__(self) -> JsonListWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # Also after an error: what was printed stays a complete JSON list.
        self.flush()
        self._write(b"[]\n" if self.count == 0 else b"\n]\n")
