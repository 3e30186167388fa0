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
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from extractors.base import Extraction

__all__ = ["JsonListWriter", "dumps_extraction", "dumps_indented"]

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


def _unpaired(text: str) -> str:
    # str.isascii() reads a flag (no scan): a record of ASCII text has no lone surrogate.
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(_surrogate, text)


def dumps_indented(value: Any, pad: str = "") -> str:
    """``value`` as ``json_text`` writes it, its lines after the first indented by ``pad``."""
    out: list[str] = []
    _parts(value, pad, out)
    text = "".join(out)
    return _unpaired(text)


# Source -> its JSON text ('"header"'), made on first use (an enum's .value is a property).
_SOURCE_TEXT: dict[Any, str] = {}


class _Pad:
    """The text a record indented by ``pad`` is written with, made once per pad: its
    fixed pieces, and each provenance's whole line (key and value), kept by the
    provenance's id with the provenance itself (so that id is not reused while kept);
    bounded."""

    KEPT = 4096

    def __init__(self, pad: str) -> None:
        self.i1 = i1 = pad + "  "
        self.i2 = i2 = i1 + "  "
        i3 = i2 + "  "
        self.open = "{\n" + i1 + '"path": '
        self.type = ",\n" + i1 + '"type": '
        self.type_json = ",\n" + i1 + '"type_json": '
        self.provenance = ",\n" + i1 + '"provenance": '
        self.warnings = ",\n" + i1 + '"warnings": '
        self.close1 = "\n" + i1 + "}"
        self.close = "\n" + pad + "}"
        self.item = ",\n" + i2
        self.mid = ": {\n" + i3 + '"source": '
        self.detail = ",\n" + i3 + '"detail": '
        self.end = "\n" + i2 + "}"
        self.i3 = i3
        self.lines: dict[int, tuple[Any, str, str]] = {}

    def line(self, key: Any, prov: Any) -> str:
        """``,\n<i2>"key": {source, detail}`` of one provenance."""
        known = self.lines.get(id(prov))
        if known is not None and known[0] is prov and known[1] == key and type(key) is str:
            return known[2]
        source = _SOURCE_TEXT.get(prov.source)
        if source is None:
            source = _SOURCE_TEXT[prov.source] = encode_basestring(prov.source.value)
        text = prov.detail
        if type(text) is not str:  # as to_json's dict would be written
            parts: list[str] = []
            _parts(text, self.i3, parts)
            text_json = "".join(parts)
        else:
            text_json = encode_basestring(text)
        line = (self.item + encode_basestring(key if type(key) is str else _key(key))
                + self.mid + source + self.detail + text_json + self.end)
        if type(key) is str:
            if len(self.lines) >= self.KEPT:
                self.lines.clear()
            self.lines[id(prov)] = (prov, key, line)
        return line


_PADS: dict[str, _Pad] = {}


def dumps_extraction(e: Extraction, pad: str = "") -> str:
    """``dumps_indented(e.to_json(), pad)``, written from the extraction itself.

    A record's provenance is most of its text: one ``{source, detail}`` per value, and
    provenances are shared from record to record (``extractors.base._provenance``): each
    one's line is made once and kept (each line starts ``,`` like the others; the first
    has its ``{`` put in its place). ``type_json`` is written by :func:`_parts`. The keys
    and their order are ``Extraction.to_json``'s; ``tests/test_run_cache.py`` checks the
    text byte for byte against it.
    """
    c = _PADS.get(pad)
    if c is None:
        c = _PADS[pad] = _Pad(pad)
    tj = e.type_json if type(e.type_json) is dict else dict(e.type_json)
    out = [c.open, encode_basestring(e.path), c.type, encode_basestring(e.type), c.type_json]
    _parts(tj, c.i1, out)  # flat strings and whole numbers: _parts' own loop writes them
    out.append(c.provenance)
    if e.provenance:
        first = len(out)
        lines = c.lines
        for key, prov in e.provenance.items():
            known = lines.get(id(prov))
            if known is not None and known[0] is prov and known[1] == key:
                out.append(known[2])
            else:
                out.append(c.line(key, prov))
        out[first] = "{" + out[first][1:]
        out.append(c.close1)
    else:
        out.append("{}")
    out.append(c.warnings)
    if e.warnings:
        _parts(list(e.warnings), c.i1, out)
    else:
        out.append("[]")
    i1 = c.i1
    if e.part is not None:
        out.append(",\n" + i1 + '"part": ')
        _parts(e.part, i1, out)
    if e.start_time is not None:
        out.append(",\n" + i1 + '"start_time": ')
        _parts(e.start_time, i1, out)
    if e.unapplied:
        out.append(",\n" + i1 + '"stated_not_applied": ')
        _parts(list(e.unapplied), i1, out)
    out.append(c.close)
    text = "".join(out)
    return _unpaired(text)


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
        self.write_text(dumps_indented(item, "  "))

    def write_extraction(self, e: Extraction) -> None:
        """``write(e.to_json())``, faster (see :func:`dumps_extraction`)."""
        self.write_text(dumps_extraction(e, "  "))

    def write_text(self, item_text: str) -> None:
        """An item already written as ``dumps_indented(item, "  ")`` gives it."""
        text = ("[\n  " if self.count == 0 else ",\n  ") + item_text
        self._pending.append(text)
        self._size += len(text)
        self.count += 1
        if self._size >= 65536:
            self.flush()

    #: What comes before every item but the first (``write_text`` adds it).
    SEP = ",\n  "

    def write_pieces(self, pieces: Iterable[bytes], count: int) -> None:
        """``count`` items already written as UTF-8 ``SEP + dumps_indented(item, "  ")``
        each, in pieces (a worker's part of a run: :class:`bsingest.extraction.Share`)."""
        if not count:
            return
        self.flush()
        first = True
        for piece in pieces:
            if first and self.count == 0:  # the list's first item: "[" before it, no comma
                piece = b"[\n  " + piece[len(self.SEP):]
            first = False
            self._write(piece)
        self.count += count

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
