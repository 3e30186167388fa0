"""A small reader of MATLAB v5 ``.mat`` files (the ``-v6``/``-v7`` formats), for the
settings structs acquisition systems save (Scanbox's ``info``) and CellExplorer's and
buzcode's session files (``session``, ``sessionInfo``).

Why not ``scipy.io.loadmat``: scipy is a large dependency for a struct of a few
numbers, and its compiled reader crashed the process (SIGSEGV, SIGBUS) on 2 of 300
damaged ``info`` files in the fuzz suite. This reader is plain Python over bytes already
in memory: every element's length is checked against what is left before it is used,
compressed elements are inflated up to a bound (a "zip bomb" is refused), nesting is
bounded, and anything it does not know is an :class:`MatError` with one line. scipy
stays the second reader the tests compare with.

What it gives: numeric and logical arrays as numpy arrays (MATLAB's column-major order),
squeezed, one element as a Python number; char arrays as ``str``; a 1x1 struct as a
``dict``, a struct array as a list of dicts; cells as lists. Sparse arrays, objects and
function handles are ``None`` (Scanbox's ``info`` holds none that bsingest reads).
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

__all__ = ["MatError", "read_variable"]

#: An inflated compressed element larger than this is refused (an info file is kB).
INFLATE_LIMIT = 64 * 2**20
_MAX_DEPTH = 32

# Data types (miINT8 ...) -> numpy dtype character and size.
_MI = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8",
       13: "u8", 16: "u1"}
_MI_MATRIX, _MI_COMPRESSED, _MI_UTF16, _MI_UTF32 = 14, 15, 17, 18
# Array classes (mxCELL_CLASS ...).
_CELL, _STRUCT, _OBJECT, _CHAR, _SPARSE = 1, 2, 3, 4, 5
_NUMERIC = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4",
            14: "i8", 15: "u8"}


class MatError(ValueError):
    """The bytes are not a MATLAB v5 file this reader understands (one line)."""


def read_variable(data: bytes, name: str) -> Any:
    """The variable ``name`` of a MATLAB v5 file held in ``data``; raises :class:`MatError`
    (also when no variable has that name)."""
    if len(data) < 128:
        raise MatError(f"{len(data)} bytes is too short for a MATLAB v5 header")
    if data[:6] == b"\x89HDF\r\n" or data[512:516] == b"\x89HDF":
        raise MatError("a MATLAB v7.3 (HDF5) file, not v5")
    endian = data[126:128]
    if endian == b"IM":
        bo = "<"
    elif endian == b"MI":
        bo = ">"
    else:
        raise MatError("no MATLAB v5 endian indicator at bytes 126-127 (not a v5 .mat)")
    pos = 128
    while pos < len(data):
        kind, _, body, pos = _element(data, pos, bo)
        if kind == _MI_COMPRESSED:
            body = _inflate(body)
            kind, _, inner, _ = _element(body, 0, bo)
            if kind != _MI_MATRIX:
                continue
            body = inner
        elif kind != _MI_MATRIX:
            continue
        var_name, value = _matrix(body, bo, 0)
        if var_name == name:
            return value
    raise MatError(f"no variable {name!r}")


def _element(data: bytes, pos: int, bo: str) -> tuple[int, int, bytes, int]:
    """(type, byte count, body, position of the next element) of the element at ``pos``."""
    if pos + 8 > len(data):
        raise MatError(f"element at byte {pos}: its tag runs past the end ({len(data)} bytes)")
    first, second = struct.unpack_from(bo + "II", data, pos)
    small = first >> 16
    if small:  # small data element: type and size in one word, data in the next four bytes
        kind, nbytes = first & 0xFFFF, small
        if nbytes > 4:
            raise MatError(f"element at byte {pos}: a small element of {nbytes} bytes (max 4)")
        return kind, nbytes, data[pos + 4:pos + 4 + nbytes], pos + 8
    kind, nbytes = first, second
    start = pos + 8
    if nbytes > len(data) - start:
        raise MatError(f"element at byte {pos} declares {nbytes} bytes; {len(data) - start} "
                       "are left")
    end = start + nbytes
    # Elements are padded to 8 bytes; a compressed one is not.
    nxt = end if kind == _MI_COMPRESSED else start + (nbytes + 7) // 8 * 8
    return kind, nbytes, data[start:end], min(nxt, len(data))


def _inflate(body: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, INFLATE_LIMIT)
    except zlib.error as exc:
        raise MatError(f"a compressed element does not inflate: {exc}") from exc
    if inflater.unconsumed_tail:
        raise MatError(f"a compressed element inflates past {INFLATE_LIMIT // 2**20} MiB")
    return out


def _matrix(body: bytes, bo: str, depth: int) -> tuple[str, Any]:
    """(name, value) of the contents of one miMATRIX element."""
    if depth > _MAX_DEPTH:
        raise MatError(f"arrays nested more than {_MAX_DEPTH} deep")
    if not body:
        return "", None  # an empty element: MATLAB's [] in a struct field or cell
    kind, _, flags, pos = _element(body, 0, bo)
    if kind != 6 or len(flags) < 8:
        raise MatError("an array without its flags (miUINT32, 8 bytes)")
    word = struct.unpack_from(bo + "I", flags)[0]
    cls, is_complex, logical = word & 0xFF, bool(word & 0x800), bool(word & 0x200)
    kind, _, dims_raw, pos = _element(body, pos, bo)
    if kind != 5 or len(dims_raw) < 8 or len(dims_raw) % 4:
        raise MatError("an array without its dimensions (miINT32, two or more)")
    dims = list(struct.unpack(bo + f"{len(dims_raw) // 4}i", dims_raw))
    if any(d < 0 for d in dims):
        raise MatError(f"negative dimensions {dims}")
    count = 1
    for d in dims:
        count *= d
    _, _, name_raw, pos = _element(body, pos, bo)
    name = name_raw.decode("latin-1")
    if cls in _NUMERIC:
        return name, _numeric(body, pos, bo, dims, count, _NUMERIC[cls], is_complex, logical)
    if cls == _CHAR:
        return name, _char(body, pos, bo, count)
    if cls == _STRUCT:
        return name, _struct(body, pos, bo, count, depth)
    if cls == _CELL:
        items = []
        for _ in range(count):
            kind, _, inner, pos = _element(body, pos, bo)
            if kind != _MI_MATRIX:
                raise MatError("a cell whose item is not an array")
            items.append(_matrix(inner, bo, depth + 1)[1])
        return name, items
    return name, None  # sparse, objects, function handles: not read


def _values(raw: bytes, kind: int, bo: str) -> Any:
    import numpy as np

    code = _MI.get(kind)
    if code is None:
        raise MatError(f"data of unknown type {kind}")
    size = int(code[1])
    if len(raw) % size:
        raise MatError(f"{len(raw)} bytes is not a whole number of {code} values")
    return np.frombuffer(raw, dtype=np.dtype(bo + code))


def _numeric(body: bytes, pos: int, bo: str, dims: list[int], count: int, cls_code: str,
             is_complex: bool, logical: bool) -> Any:

    kind, _, raw, pos = _element(body, pos, bo)
    values = _values(raw, kind, bo)
    if values.size != count:
        raise MatError(f"an array of {dims} holds {values.size} values, not {count}")
    array = values.astype(bo + cls_code if cls_code != "u1" else "u1")
    if is_complex:
        kind, _, raw, pos = _element(body, pos, bo)
        imag = _values(raw, kind, bo)
        if imag.size != count:
            raise MatError("the imaginary part's size differs from the real part's")
        array = array + 1j * imag
    if logical:
        array = array.astype(bool)
    array = array.reshape(dims, order="F").squeeze()
    if array.size == 0:
        return array.reshape(0)
    if array.size == 1:
        return array.reshape(()).item()
    return array


def _char(body: bytes, pos: int, bo: str, count: int) -> str:
    if count == 0:
        return ""
    kind, _, raw, _ = _element(body, pos, bo)
    if kind == _MI_UTF16 or kind in (3, 4):
        text = raw.decode("utf-16-le" if bo == "<" else "utf-16-be", "replace")
    elif kind == _MI_UTF32:
        text = raw.decode("utf-32-le" if bo == "<" else "utf-32-be", "replace")
    else:
        text = raw.decode("utf-8", "replace")
    return text  # a char matrix's rows are interleaved (column-major): one row is usual


def _struct(body: bytes, pos: int, bo: str, count: int, depth: int) -> Any:
    kind, _, raw, pos = _element(body, pos, bo)
    if kind != 5 or len(raw) != 4:
        raise MatError("a struct without its field name length (miINT32)")
    width = struct.unpack(bo + "i", raw)[0]
    _, _, names_raw, pos = _element(body, pos, bo)
    if width <= 0 or len(names_raw) % width:
        raise MatError(f"struct field names of {len(names_raw)} bytes in {width}-byte slots")
    names = [names_raw[i:i + width].split(b"\0", 1)[0].decode("latin-1")
             for i in range(0, len(names_raw), width)]
    items = []
    for _ in range(count):
        item = {}
        for field in names:
            kind, _, inner, pos = _element(body, pos, bo)
            if kind != _MI_MATRIX:
                raise MatError(f"struct field {field!r} is not an array")
            item[field] = _matrix(inner, bo, depth + 1)[1]
        items.append(item)
    return items[0] if count == 1 else items
