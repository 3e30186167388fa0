"""DeepLabCut pose-tracking output (``.h5``, ``.csv``), and Lightning Pose's CSV (the same
layout), as BehavioralTracking records.

DeepLabCut writes one row per video frame (or per labeled image, for ``CollectedData_*``
files) under a column header of ``scorer`` / [``individuals``] / ``bodyparts`` /
``coords``. ``nFrames`` is the number of rows. The frame rate and frame size are those
of the video the poses were computed from: ``<video stem>DLC_<scorer>...`` names it, and
when that video sits beside the file we describe it with :mod:`extractors.video`.

Lightning Pose writes its predictions with DeepLabCut's column header, its scorer named
``<model_type>_tracker`` (``heatmap_tracker``, ``heatmap_mhcrnn_tracker``,
``ensemble-kalman_tracker`` for its Kalman smoother): format "Lightning Pose CSV", one frame
per row as for DeepLabCut, and the video is the one of the same stem (``predict_video``
writes ``video_preds/<video stem>.csv``) beside the file or one folder up.

Choice of reader: h5py for ``.h5``, our own line count for ``.csv``; no pandas. pandas
writes ``.h5`` through PyTables, in one of two layouts, and we read only shapes:
the ``table`` format (``/<key>/table``, a compound dataset: one element per row) and the
``fixed`` format (``/<key>/axis1``: the row index, and ``axis0_level*`` naming the column
levels). The column levels of the ``table`` format are stored as pickled attributes:
we never unpickle anything (a pickle runs code), we only look for the level names as
bytes. The ``_meta.pickle`` DeepLabCut leaves beside the ``.h5`` is listed as a sidecar and
never opened. The ``.h5`` is read in the reader process NWB and SLEAP files are read in
(``extractors/_isolate.py``): a damaged HDF5 file can crash or hang libhdf5, which in this
process would end the whole run; there it fails that file, in one line. Cost: opening the
HDF5 file and reading shapes, ~2 ms whatever the rows, plus a round trip to that process;
a ``.csv`` has no row count in its header, so it is counted at disk speed (~1 GB/s).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import BsingestError, ExtractionError

from ._isolate import isolated
from .base import Claim, Extraction, Extractor, Fields, special_file
from .video import VIDEO_SUFFIXES, VideoExtractor

__all__ = ["DlcExtractor", "DlcTable", "lightning_video", "paired_video", "read_dlc_csv",
           "read_dlc_h5"]

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_LEVELS = (b"scorer", b"bodyparts", b"coords")
_CSV_HEAD = 64 * 1024
_H5_HEAD = 64 * 1024
_TIMEOUT = 20.0  # seconds for reading an .h5's shapes in the reader process (~2 ms)


@dataclass(frozen=True, slots=True)
class DlcTable:
    """What describing a DeepLabCut file needs: rows and where they were counted."""

    n_rows: int
    detail: str
    multi_animal: bool
    damage: str = ""  # what the count stopped at, for a warning


class DlcExtractor(Extractor):
    """DeepLabCut pose estimates and labeled data, ``.h5`` (pandas/PyTables) or ``.csv``."""

    name = "dlc"
    suffixes = (".h5", ".hdf5", ".csv")
    record_types = ("BehavioralTracking",)

    claim_endings = (".h5", ".hdf5", ".csv")
    warm = ("h5py", __name__)

    @classmethod
    def warms(cls, path: str) -> tuple[str, ...]:
        # Only an .h5 is read in the reader process; a folder of CSVs starts none.
        return cls.warm if path.lower().endswith((".h5", ".hdf5")) else ()

    @classmethod
    def claim(cls, path: Path) -> Claim:
        suffix = path.suffix.lower()
        if suffix not in cls.suffixes or not path.is_file():
            return Claim.NO
        if suffix == ".csv":
            return Claim.SPECIFIC if _csv_header_rows(path) else Claim.NO
        # By its name and the HDF5 magic only (a damaged file DeepLabCut named is ours too,
        # to say what is wrong with it): looking for DeepLabCut's columns waits for
        # claim_content, when no family knows the file by its name.
        named = "DLC_" in path.name or path.name.startswith("CollectedData_")
        return Claim.SPECIFIC if named and _is_hdf5(path) else Claim.NO

    @classmethod
    def claim_content(cls, path: Path) -> Claim:
        # A DeepLabCut .h5 renamed: pandas writes its attributes (pandas_type, the column
        # level names) before the rows, so they are in the file's first 64 KiB. Deciding
        # whose a file is never opens HDF5; the extraction checks the columns themselves.
        if path.suffix.lower() not in (".h5", ".hdf5") or not path.is_file():
            return Claim.NO
        try:
            with open(path, "rb") as fh:
                head = fh.read(_H5_HEAD)
        except OSError:
            return Claim.NO
        named = head.startswith(_HDF5_MAGIC) and b"pandas_type" in head
        return Claim.SPECIFIC if named and all(level in head for level in _LEVELS) else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        meta = _meta_pickle(path)
        return [meta] if meta else []

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        csv = path.suffix.lower() == ".csv"
        table = read_dlc_csv(path) if csv else read_dlc_h5(path)
        f = Fields()
        scorer = _csv_scorer(path) if csv else ""
        lightning = scorer.endswith("_tracker")
        levels = "column levels scorer/bodyparts/coords" + (
            " with individuals (multi-animal)" if table.multi_animal else "")
        if lightning:
            f.header("format", "Lightning Pose CSV", f"{levels}, scorer {scorer!r} (Lightning "
                     "Pose names it after its model type: <model_type>_tracker)")
        else:
            f.header("format", "DeepLabCut CSV" if csv else "DeepLabCut HDF5", levels)
        f.computed("nFrames", table.n_rows, table.detail)
        if table.damage:
            f.warn(table.damage)
        self._video(path, table, f, lightning)
        return [self.result(path, "BehavioralTracking", f)]

    def _video(self, path: Path, table: DlcTable, f: Fields, lightning: bool = False) -> None:
        video = lightning_video(path) if lightning else paired_video(path)
        if video is None:
            return
        try:
            (v,) = VideoExtractor().extract(video)
        except BsingestError as exc:
            f.warn(f"paired video {video.name} unreadable, no frame rate: {exc}")
            return
        tj = v.type_json
        where = f"{video.name}, the video the poses were computed from"
        if "frameRate" in tj:
            f.header("frameRate", tj["frameRate"], f"{where}: {v.provenance['frameRate'].detail}")
        for key in ("horizontalResolution", "verticalResolution"):
            f.header(key, tj[key], f"{where}: {v.provenance[key].detail}")
        if tj["nFrames"] != table.n_rows:
            f.warn(f"{table.n_rows} pose rows but {video.name} shows {tj['nFrames']} frames")


def paired_video(path: Path) -> Path | None:
    """The video beside a DLC output whose name is the part before ``DLC_``, if any."""
    if "DLC_" not in path.name:
        return None
    stem = path.name.split("DLC_", 1)[0]
    if not stem:
        return None
    for suffix in VIDEO_SUFFIXES:
        for candidate in (path.with_name(stem + suffix), path.with_name(stem + suffix.upper())):
            if candidate.is_file() or special_file(candidate):
                return candidate  # a FIFO or device is named as such, never opened
    return None


def lightning_video(path: Path) -> Path | None:
    """The video of a Lightning Pose prediction file: ``predict_video`` names it
    ``<video stem>.csv`` (in ``video_preds/``), so the video of the same stem beside it or
    one folder up."""
    for folder in (path.parent, path.parent.parent):
        for suffix in VIDEO_SUFFIXES:
            for candidate in (folder / (path.stem + suffix),
                              folder / (path.stem + suffix.upper())):
                if candidate.is_file() or special_file(candidate):
                    return candidate
    return None


def _csv_scorer(path: Path) -> str:
    """The scorer named on a DeepLabCut-style CSV's first row (its second field)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(_CSV_HEAD)
    except OSError:
        return ""
    fields = first.split(b",")
    return fields[1].strip().strip(b'"').decode("utf-8", "replace") if len(fields) > 1 else ""


def _meta_pickle(path: Path) -> Path | None:
    # <video>DLC_<scorer>[_filtered].h5 -> <video>DLC_<scorer>_meta.pickle
    stem = path.stem.removesuffix("_filtered")
    meta = path.with_name(stem + "_meta.pickle")
    return meta if meta.is_file() else None


# --- HDF5 -----------------------------------------------------------------------------


def _is_hdf5(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == _HDF5_MAGIC
    except OSError:
        return False


def _find_key(h5path: Path) -> str | None:
    import h5py

    with h5py.File(h5path, "r") as h5:
        for key, group in h5.items():
            if isinstance(group, h5py.Group) and _is_dlc_group(group):
                return str(key)
    return None


def _is_dlc_group(group: Any) -> bool:
    pandas_type = _text(group.attrs.get("pandas_type"))
    if pandas_type == "frame_table":
        # The level names are inside pickled attributes: look for the bytes, never unpickle.
        info = group.attrs.get("info")
        raw = bytes(info) if info is not None else b""
        return all(level in raw for level in _LEVELS)
    if pandas_type == "frame":
        names = {_text(group[k].attrs.get("name")) for k in group if k.startswith("axis0_level")}
        return {"scorer", "bodyparts", "coords"} <= names
    return False


def read_dlc_h5(path: Path) -> DlcTable:
    """Rows of a DeepLabCut ``.h5`` (pandas ``table`` or ``fixed`` layout), by shape.

    Read in the reader process (:mod:`extractors._isolate`), as NWB and SLEAP files are:
    a damaged HDF5 file can crash or hang libhdf5, which would end the whole run here.
    """
    table: DlcTable = isolated(path, _read_h5, str(path), timeout=_TIMEOUT)
    return table


def _read_h5(name: str) -> DlcTable:
    """:func:`read_dlc_h5` in the reader process."""
    path = Path(name)
    import h5py

    try:
        key = _find_key(path)
    except _H5_ERRORS as exc:
        raise ExtractionError(path, f"damaged HDF5: {_h5_reason(exc)}") from exc
    if key is None:
        raise ExtractionError(path, "not a DeepLabCut HDF5 file (no pandas table with "
                              "scorer/bodyparts/coords columns)")
    try:
        with h5py.File(path, "r") as h5:
            group = h5[key]
            multi = _multi_animal(group)
            if _text(group.attrs.get("pandas_type")) == "frame_table":
                if "table" not in group:
                    raise ExtractionError(path, f"/{key} has no 'table' dataset")
                n = int(group["table"].shape[0])
                nrows = group["table"].attrs.get("NROWS")
                if nrows is not None and int(nrows) != n:
                    raise ExtractionError(path, f"/{key}/table holds {n} rows but its NROWS "
                                          f"attribute says {int(nrows)}")
                width = _table_width(group["table"])
                detail = f"rows of /{key}/table (pandas 'table' format), {width} value columns"
            else:
                if "axis1" not in group:
                    raise ExtractionError(path, f"/{key} has no 'axis1' (row index) dataset")
                n = int(group["axis1"].shape[0])
                cols = group["axis0_label0"].shape[0] if "axis0_label0" in group else "?"
                detail = f"length of /{key}/axis1, the row index (pandas 'fixed' format), " \
                         f"{cols} value columns"
    except _H5_ERRORS as exc:
        raise ExtractionError(path, f"damaged HDF5: {_h5_reason(exc)}") from exc
    if n == 0:
        raise ExtractionError(path, f"/{key} holds no rows (no frames tracked)")
    if "CollectedData" in path.name:
        detail += "; labeled frames (one row per annotated image)"
    return DlcTable(n, detail, multi)


# h5py reports a damaged file as OSError, KeyError ("Unable to open object ..."),
# RuntimeError ("Link iteration failed ...") or ValueError/TypeError from the HDF5 library.
_H5_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError)


def _h5_reason(exc: Exception) -> str:
    reason = str(exc.args[0]) if exc.args else type(exc).__name__
    return " ".join(reason.split())


def _multi_animal(group: Any) -> bool:
    if _text(group.attrs.get("pandas_type")) == "frame_table":
        info = group.attrs.get("info")
        return info is not None and b"Vindividuals" in bytes(info)
    return any(_text(group[k].attrs.get("name")) == "individuals"
               for k in group if k.startswith("axis0_level"))


def _table_width(table: Any) -> int:
    width = 0
    for name in table.dtype.names or ():
        if name.startswith("values_block"):
            shape = table.dtype[name].shape
            width += shape[0] if shape else 1
    return width


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "tobytes") and getattr(value, "dtype", None) is not None \
            and value.dtype.kind == "S":
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


# --- CSV ------------------------------------------------------------------------------


def _csv_header_rows(path: Path) -> int:
    """How many header rows a DeepLabCut CSV has (3, or 4 with individuals); 0 if not DLC."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_CSV_HEAD)
    except OSError:
        return 0
    lines = head.split(b"\n", 4)[:4]
    firsts = [line.split(b",", 1)[0].strip().strip(b'"') for line in lines]
    if firsts[:1] != [b"scorer"]:
        return 0
    if firsts[1:4] == [b"individuals", b"bodyparts", b"coords"]:
        return 4
    if firsts[1:3] == [b"bodyparts", b"coords"]:
        return 3
    return 0


def read_dlc_csv(path: Path) -> DlcTable:
    """Rows of a DeepLabCut ``.csv``: the rows after its header rows, up to the end of the
    data this reader understands.

    A data row has as many commas as the header rows and no NUL byte. The scan stops at
    the first line that is not one: what follows (NUL padding a recorder preallocated, a
    text line, a partial last row, a sparse file's hole) is not counted, and a warning
    says how many bytes from where. Blank lines at the end are not rows and no damage.
    The count is vectorised (numpy over 4 MiB blocks, ~1 GB/s); 2 GB of padding cost no
    more than its first block.
    """
    import numpy as np

    header = _csv_header_rows(path)
    if not header:
        raise ExtractionError(path, "not a DeepLabCut CSV (expected header rows scorer, "
                              "[individuals,] bodyparts, coords)")
    size = os.stat(path).st_size
    with open(path, "rb") as fh:
        head = fh.read(_CSV_HEAD)
        lines = head.split(b"\n", header)
        if len(lines) <= header:  # nothing after the header rows
            raise ExtractionError(path, "header rows only: no frames tracked")
        commas = lines[header - 1].count(b",")
        pos = len(head) - len(lines[header])  # the first data row
        rows = 0
        stop: tuple[int, str] | None = None  # (offset, why) of the first line not a row
        fh.seek(pos)
        carry = b""
        while True:
            block = fh.read(_CSV_BLOCK)
            buf = carry + block
            start = pos - len(carry)  # file offset of buf[0]
            pos += len(block)
            if not block:  # the end of the file: a last row without its newline
                if buf.strip(b"\r"):
                    why = _not_a_row(buf, commas)
                    if why:
                        stop = (start, why)
                    else:
                        rows += 1
                break
            arr = np.frombuffer(buf, np.uint8)
            ends = np.flatnonzero(arr == 10)
            if len(ends) == 0:
                if b"\x00" in buf:
                    stop = (start, "NUL bytes")
                    break
                if len(buf) > _CSV_LINE_LIMIT:
                    stop = (start, f"a line longer than {_CSV_LINE_LIMIT} bytes")
                    break
                carry = buf
                continue
            begins = np.concatenate(([0], ends[:-1] + 1))
            per_line = np.diff(np.searchsorted(np.flatnonzero(arr == 44), ends), prepend=0)
            nul = np.zeros(len(ends), bool)
            nul_at = np.flatnonzero(arr[:ends[-1]] == 0)
            if len(nul_at):
                nul[np.searchsorted(ends, nul_at)] = True
            ok = (per_line == commas) & ~nul
            if not ok.all():
                first = int(np.argmin(ok))
                rows += first
                b, e = int(begins[first]), int(ends[first])
                stop = (start + b, "NUL bytes" if nul[first] else
                        _not_a_row(buf[b:e], commas) or "not a data row")
                break
            rows += len(ends)
            carry = buf[int(ends[-1]) + 1:]
        if stop is not None and _blank_to_end(fh, stop[0], size):
            stop = None  # blank lines at the end: no rows, no damage
    if rows == 0:
        why = f"; {stop[1]} at byte {stop[0]}" if stop else ""
        raise ExtractionError(path, f"no data rows after the header rows{why}")
    kind = "multi-animal, " if header == 4 else ""
    detail = f"data rows after the {header} header rows ({kind}one per frame)"
    table = DlcTable(rows, detail, header == 4)
    if stop is not None:
        offset, why = stop
        detail += f", up to byte {offset}"
        table = DlcTable(rows, detail, header == 4,
                         (f"the {size - offset} bytes from byte {offset} on (after data row "
                          f"{rows}) are not DeepLabCut rows ({why}): not counted"))
    return table


# Blocks the CSV count reads at a time, and the longest line it looks for an end of.
_CSV_BLOCK = 1 << 22
_CSV_LINE_LIMIT = 1 << 20


def _not_a_row(line: bytes, commas: int) -> str:
    """Why ``line`` (without its newline) is not a data row, or "" if it is one."""
    if b"\x00" in line:
        return "NUL bytes"
    n = line.count(b",")
    if n != commas:
        shown = line[:40].decode("latin-1").encode("unicode_escape").decode("ascii")
        return f"{n + 1} fields where a row has {commas + 1}: {shown!r}"
    return ""


def _blank_to_end(fh: Any, offset: int, size: int) -> bool:
    """True when the file holds only line ends from ``offset`` on (read at most 64 kB)."""
    if size - offset > 65536:
        return False
    fh.seek(offset)
    return not fh.read().strip(b"\r\n")
