"""NIfTI-1 and NIfTI-2 (``.nii``, ``.nii.gz``): MagneticResonanceImaging or, with several
volumes in time, FunctionalMagneticResonanceImaging.

One record per file. From the header: ``horizontalResolution`` = dim[1],
``verticalResolution`` = dim[2], ``nFrames`` = dim[4] (the volumes in time; slices,
dim[3], are not frames: a 3D volume is one frame, as nibabel's shape says), voxel sizes
from pixdim[1..3] in the header's spatial unit (``xyzt_units``: m, mm or µm) as µm,
``frameRate`` = 1 / pixdim[4] in its time unit (s, ms or µs) when there are several
volumes. A 4th dimension in Hz, ppm or rad/s (spectra) is not time: no frame rate, and
the record is structural. Units of 0 ("unknown", as Analyze-era writers leave them) are
taken as mm and s, NIfTI's defaults, with ``default`` provenance and a warning.
``magneticFieldStrength`` comes from a BIDS sidecar beside the file (``x.json`` for
``x.nii[.gz]``, key ``MagneticFieldStrength`` in T); BIDS' ``RepetitionTime`` (s) is
compared with pixdim[4] and a difference warned about.

Choice of reader: our own (``struct``): the header is 348 (NIfTI-1) or 540 (NIfTI-2)
bytes at fixed offsets, in either byte order (``sizeof_hdr`` tells). nibabel, the
field's standard, costs ~400 ms to import (numpy and its own modules) for what is eight
numbers here; it is the second reader in ``tests/test_mri.py`` and the corpus checks.
A ``.nii.gz`` is read through ``gzip`` for its first 540 bytes only (one deflate block:
the cost is the same for a 10 MB and a 10 GB scan). A ``.nii`` shorter than header +
data is warned about as truncated; a ``.nii.gz`` is not checked so (only decompressing it
all would tell, and the gzip trailer's size is that of the last member only).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._mri import SPATIAL_UNITS_UM, drop_disallowed, repetition_rate
from .base import Claim, Extraction, Extractor, Fields

__all__ = ["NiftiExtractor", "NiftiHeader", "read_nifti_header"]

_N1, _N2 = 348, 540
_SPACE = {1: "m", 2: "mm", 3: "µm"}
_TIME = {8: ("s", 1.0), 16: ("ms", 1e-3), 24: ("µs", 1e-6)}
_SPECTRAL = {32: "Hz", 40: "ppm", 48: "rad/s"}
_BITS = {2: 8, 4: 16, 8: 32, 16: 32, 32: 64, 64: 64, 128: 24, 256: 8, 512: 16, 768: 32,
         1024: 64, 1280: 64, 1536: 128, 1792: 128, 2048: 256, 2304: 32}


@dataclass(frozen=True, slots=True)
class NiftiHeader:
    """What bsingest uses from a NIfTI header."""

    version: int  # 1 or 2
    endian: str  # "<" or ">"
    dim: tuple[int, ...]  # dim[0] and dim[1..dim[0]]
    pixdim: tuple[float, ...]  # pixdim[0..7]
    xyzt_units: int
    datatype: int
    bitpix: int
    vox_offset: float
    magic: bytes

    @property
    def header_size(self) -> int:
        return _N1 if self.version == 1 else _N2

    def size(self, i: int) -> int:
        """dim[i], or 1 beyond dim[0] (the standard: unused dimensions are 1)."""
        return self.dim[i] if i < len(self.dim) else 1

    def data_bytes(self) -> int:
        n = 1
        for d in self.dim[1:]:
            n *= max(d, 1)
        return n * max(self.bitpix, 0) // 8

    def data_offset(self) -> int:
        # Single-file headers are followed by a 4-byte extension flag; some writers leave
        # vox_offset 0 (nibabel reads the data after the flag then).
        least = self.header_size + 4
        return max(int(self.vox_offset), least) if math.isfinite(self.vox_offset) else least


def _unpack(raw: bytes, version: int, endian: str) -> NiftiHeader:
    if version == 1:
        dim = struct.unpack_from(f"{endian}8h", raw, 40)
        datatype, bitpix = struct.unpack_from(f"{endian}hh", raw, 70)
        pixdim = struct.unpack_from(f"{endian}8f", raw, 76)
        (vox_offset,) = struct.unpack_from(f"{endian}f", raw, 108)
        xyzt = raw[123]
        magic = raw[344:348]
    else:
        magic = raw[4:12]
        datatype, bitpix = struct.unpack_from(f"{endian}hh", raw, 12)
        dim = struct.unpack_from(f"{endian}8q", raw, 16)
        pixdim = struct.unpack_from(f"{endian}8d", raw, 104)
        (vox_offset,) = struct.unpack_from(f"{endian}q", raw, 168)
        (xyzt,) = struct.unpack_from(f"{endian}i", raw, 500)
    return NiftiHeader(version, endian, tuple(dim), tuple(pixdim), int(xyzt), datatype, bitpix,
                       float(vox_offset), bytes(magic))


def _head(path: Path) -> bytes:
    """The first 540 bytes of the file, through gzip for ``.nii.gz`` (never more)."""
    with open(path, "rb") as fh:
        first = fh.read(2)
    if first == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                return gz.read(_N2)
        except (OSError, EOFError, zlib.error) as exc:
            raise ExtractionError(path, f"a damaged gzip stream: {exc}") from None
    if path.name.lower().endswith(".gz"):
        raise ExtractionError(path, "named .gz but not gzip-compressed (no 1f 8b magic)")
    with open(path, "rb") as fh:
        return fh.read(_N2)


def read_nifti_header(path: Path) -> NiftiHeader:
    """Parse the NIfTI-1 or -2 header of ``path``; errors name the file."""
    raw = _head(path)
    if len(raw) < 4:
        raise ExtractionError(path, f"{len(raw)} bytes is too short for a NIfTI header")
    for endian in ("<", ">"):
        (sizeof,) = struct.unpack_from(f"{endian}i", raw, 0)
        if sizeof in (_N1, _N2):
            break
    else:
        raise ExtractionError(path, f"not a NIfTI file: sizeof_hdr is {sizeof} (348 for "
                              "NIfTI-1, 540 for NIfTI-2, in either byte order)")
    version = 1 if sizeof == _N1 else 2
    if len(raw) < sizeof:
        raise ExtractionError(path, f"{len(raw)} bytes is shorter than the {sizeof}-byte "
                              f"NIfTI-{version} header")
    h = _unpack(raw, version, endian)
    good = ((b"n+1\x00", b"ni1\x00") if version == 1
            else (b"n+2\x00\r\n\x1a\n", b"ni2\x00\r\n\x1a\n"))
    if h.magic not in good:
        raise ExtractionError(path, f"NIfTI-{version} magic is {h.magic!r}, not "
                              f"{good[0]!r}: not a NIfTI file, or a damaged header")
    if h.magic.startswith(b"ni"):
        raise ExtractionError(path, f"magic {h.magic[:3].decode()}: the header of a .hdr/.img "
                              "pair, whose data are in the .img: not read")
    if not 1 <= h.dim[0] <= 7:
        raise ExtractionError(path, f"dim[0] is {h.dim[0]}; NIfTI images have 1 to 7 "
                              "dimensions: a damaged header")
    bad = [d for d in h.dim[1:h.dim[0] + 1] if d < 1]
    if bad:
        raise ExtractionError(path, f"dim {list(h.dim[1:h.dim[0] + 1])} has a size below 1: a "
                              "damaged header")
    return h


def _sidecar(path: Path) -> Path:
    name = path.name
    stem = name[:-7] if name.lower().endswith(".nii.gz") else name[:-4]
    return path.with_name(stem + ".json")


class NiftiExtractor(Extractor):
    """NIfTI-1/-2 images (``.nii``, ``.nii.gz``), read from their header."""

    name = "nifti"
    suffixes = (".nii", ".nii.gz")
    record_types = ("MagneticResonanceImaging", "FunctionalMagneticResonanceImaging")

    claim_endings = (".nii", ".nii.gz")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        low = path.name.lower()
        return Claim.SPECIFIC if low.endswith((".nii", ".nii.gz")) else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        side = _sidecar(path)
        return [side] if side.is_file() else []

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        h = read_nifti_header(path)
        f = Fields()
        where = f"{path.name} NIfTI-{h.version} header"
        gz = path.name.lower().endswith(".gz")
        f.header("format", f"NIfTI-{h.version}", f"sizeof_hdr {h.header_size} and magic "
                 f"{h.magic[:3].decode('latin-1')!r}")
        if gz:
            f.header("compression", "gzip", "the file is a gzip stream (1f 8b)")
        f.header("horizontalResolution", h.size(1), f"{where} dim[1]")
        f.header("verticalResolution", h.size(2), f"{where} dim[2]")
        n_vol = h.size(4) if h.dim[0] >= 4 else 1
        time_code, space_code = h.xyzt_units & 0x38, h.xyzt_units & 0x07
        spectral = _SPECTRAL.get(time_code)
        f.header("nFrames", n_vol, f"{where} dim[4] (volumes; {h.size(3)} slices in dim[3] "
                 "are one volume)" if h.dim[0] >= 4 else
                 f"{where} dim[0] = {h.dim[0]}: one volume")
        if h.dim[0] > 4 and any(d > 1 for d in h.dim[5:h.dim[0] + 1]):
            f.warn(f"dim[5..] = {list(h.dim[5:h.dim[0] + 1])}: further dimensions (vector or "
                   "tensor components) are not frames")
        self._voxels(f, h, space_code, where)
        functional = n_vol > 1 and spectral is None
        if spectral is not None and n_vol > 1:
            f.warn(f"the 4th dimension is in {spectral} (xyzt_units {h.xyzt_units}): spectra, "
                   "not volumes in time; no frameRate")
        if functional:
            self._rate(f, h, time_code, where)
        side = self._bids(path, f)
        if functional and side is not None:
            self._compare_tr(f, side)
        self._size_check(path, h, gz, f)
        record_type = ("FunctionalMagneticResonanceImaging" if functional
                       else "MagneticResonanceImaging")
        drop_disallowed(record_type, f)
        return [self.result(path, record_type, f)]

    @staticmethod
    def _voxels(f: Fields, h: NiftiHeader, space_code: int, where: str) -> None:
        unit = _SPACE.get(space_code)
        if unit is None:
            f.warn(f"xyzt_units {h.xyzt_units}: no spatial unit stated; voxel sizes taken in "
                   "mm, NIfTI's convention")
        scale = SPATIAL_UNITS_UM[unit or "mm"]
        setter = f.header if unit else f.default
        for i, key in ((1, "xVoxelSize"), (2, "yVoxelSize"), (3, "zVoxelSize")):
            if i > h.dim[0]:
                continue
            v = abs(h.pixdim[i])
            if not (math.isfinite(v) and v > 0):
                f.warn(f"pixdim[{i}] is {h.pixdim[i]:g}: no {key}")
                continue
            setter(key, v * scale, f"{where} pixdim[{i}] {h.pixdim[i]:g} {unit or 'mm (assumed)'}"
                   " in µm")

    @staticmethod
    def _rate(f: Fields, h: NiftiHeader, time_code: int, where: str) -> None:
        unit = _TIME.get(time_code)
        tr = h.pixdim[4]
        if unit is None:
            f.warn(f"xyzt_units {h.xyzt_units}: no time unit stated; pixdim[4] {tr:g} taken in "
                   "seconds, NIfTI's convention")
        name, scale = unit or ("s", 1.0)
        repetition_rate(f, tr * scale, f"{where} pixdim[4] {tr:g} {name}",
                        source="header" if unit else "default")

    @staticmethod
    def _bids(path: Path, f: Fields) -> dict[str, Any] | None:
        side = _sidecar(path)
        if not side.is_file():
            return None
        try:
            if side.stat().st_size > 16 * 2**20:
                raise ValueError("larger than 16 MiB")
            data = json.loads(side.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            f.warn(f"{side.name}: not read ({exc}); no field strength")
            return None
        except RecursionError:  # JSON nested deeper than Python's recursion limit
            f.warn(f"{side.name}: not read (JSON nested too deeply); no field strength")
            return None
        if not isinstance(data, dict):
            f.warn(f"{side.name}: not a JSON object; no field strength")
            return None
        b0 = data.get("MagneticFieldStrength")
        if isinstance(b0, int | float) and not isinstance(b0, bool):
            if math.isfinite(b0) and 0 < b0 <= 30:
                f.header("magneticFieldStrength", b0,
                         f"{side.name} MagneticFieldStrength (T, BIDS sidecar)")
            else:
                f.warn(f"{side.name} MagneticFieldStrength {b0!r} is not a field strength in T "
                       "(0 to 30): left out")
        return data

    @staticmethod
    def _compare_tr(f: Fields, side: dict[str, Any]) -> None:
        tr = side.get("RepetitionTime")
        rate = f.values.get("frameRate")
        if isinstance(tr, int | float) and not isinstance(tr, bool) and rate and tr > 0:
            if abs(1.0 / rate - tr) > 1e-3 * tr:
                f.warn(f"the BIDS sidecar's RepetitionTime {tr:g} s differs from the header's "
                       f"{1.0 / rate:g} s; the header's is used")

    @staticmethod
    def _size_check(path: Path, h: NiftiHeader, gz: bool, f: Fields) -> None:
        if h.datatype not in _BITS:
            f.warn(f"datatype {h.datatype} is not a NIfTI data type: the data size is unknown")
            return
        want = h.data_offset() + h.data_bytes()
        size = os.stat(path).st_size
        # A gzip stream's data size is known only by decompressing it all: not checked.
        if not gz and size < want:
            f.warn(f"{size} bytes, {want - size} fewer than the header's "
                   f"{h.data_offset()}-byte offset and {h.data_bytes()} bytes of data: a "
                   "truncated file")
