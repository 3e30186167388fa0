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
# id(provenance) -> (the provenance, pad, its text after the key); bounded.
_PROVENANCE_TEXT: dict[int, tuple[Any, str, str]] = {}
_PROVENANCE_KEPT = 4096


def dumps_extraction(e: Extraction, pad: str = "") -> str:
    """``dumps_indented(e.to_json(), pad)``, written from the extraction itself.

    A record's provenance is most of its text: one ``{source, detail}`` per value. Writing
    it straight from the :class:`~extractors.base.Provenance` objects, without building
    ``to_json``'s dicts and walking them, takes ~8 of the ~20 µs a small file's record cost
    (``benchmarks/RESULTS.md``). The keys and their order are ``Extraction.to_json``'s;
    ``tests/test_run_cache.py`` checks the text byte for byte against it.
    """
    i1 = pad + "  "
    i2 = i1 + "  "
    i3 = i2 + "  "
    tj = e.type_json if type(e.type_json) is dict else dict(e.type_json)
    out = ["{\n" + i1 + '"path": ', encode_basestring(e.path),
           ",\n" + i1 + '"type": ', encode_basestring(e.type),
           ",\n" + i1 + '"type_json": ']
    if tj:  # _parts' dict branch, inline: a record's type_json is flat strings and numbers
        sep = "{\n" + i2
        comma = ",\n" + i2
        for key, item in tj.items():
            head = sep + encode_basestring(key if type(key) is str else _key(key)) + ": "
            sep = comma
            t = type(item)
            if t is str:
                out.append(head + encode_basestring(item))
            elif t is int:
                out.append(head + int.__repr__(item))
            else:
                out.append(head)
                _parts(item, i2, out)
        out.append("\n" + i1 + "}")
    else:
        out.append("{}")
    out.append(",\n" + i1 + '"provenance": ')
    if e.provenance:
        sep = "{\n" + i2
        mid = ": {\n" + i3 + '"source": '
        detail = ",\n" + i3 + '"detail": '
        end = "\n" + i2 + "}"
        for key, prov in e.provenance.items():
            # Provenances are shared from record to record (extractors.base._provenance):
            # each one's text is made once, and kept with it (so its id is not reused).
            known = _PROVENANCE_TEXT.get(id(prov))
            if known is not None and known[0] is prov and known[1] == pad:
                body = known[2]
            else:
                source = _SOURCE_TEXT.get(prov.source)
                if source is None:
                    source = _SOURCE_TEXT[prov.source] = encode_basestring(prov.source.value)
                text = prov.detail
                if type(text) is not str:  # as to_json's dict would be written
                    parts: list[str] = []
                    _parts(text, i3, parts)
                    text_json = "".join(parts)
                else:
                    text_json = encode_basestring(text)
                body = mid + source + detail + text_json + end
                if len(_PROVENANCE_TEXT) >= _PROVENANCE_KEPT:
                    _PROVENANCE_TEXT.clear()
                _PROVENANCE_TEXT[id(prov)] = (prov, pad, body)
            out.append(sep + encode_basestring(key if type(key) is str else _key(key)) + body)
            sep = ",\n" + i2
        out.append("\n" + i1 + "}")
    else:
        out.append("{}")
    out.append(",\n" + i1 + '"warnings": ')
    _parts(list(e.warnings), i1, out)
    if e.part is not None:
        out.append(",\n" + i1 + '"part": ')
        _parts(e.part, i1, out)
    if e.start_time is not None:
        out.append(",\n" + i1 + '"start_time": ')
        _parts(e.start_time, i1, out)
    if e.unapplied:
        out.append(",\n" + i1 + '"stated_not_applied": ')
        _parts(list(e.unapplied), i1, out)
    out.append("\n" + pad + "}")
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
