"""Scanner vendors' own MRI formats: Philips PAR/REC and Bruker ParaVision scan folders.

**Philips PAR/REC** (our own reader of the ``.PAR`` text header, versions 4 to 4.2):
one record per ``.REC`` (the data), described by the ``.PAR`` beside it (a sidecar); a
``.PAR`` alone describes itself with a warning. ``horizontalResolution`` and
``verticalResolution`` = the reconstruction size of the first image line (``recon
resolution (x y)``, the REC's image size; the scan resolution is the acquired matrix),
``nFrames`` = the dynamics the image lines hold (a ``Max. number of dynamics`` that
differs is warned about: a truncated scan), ``frameRate`` for more than one dynamic
(``FunctionalMagneticResonanceImaging``) = (dynamics - 1) / the span of their begin
times (``dyn_scan_begin_time``), else 1000 / ``Repetition time [ms]`` (for a 3D or
multi-echo sequence that is the excitation TR, 7 ms, not the time between volumes: the
begin times are the volumes'). PAR files do not state the field strength.

**Bruker ParaVision** (our own reader of the JCAMP-DX ``method`` and ``acqp`` text
files of a scan folder ``<study>/<scan>/``): the record is the scan's ``method`` file, the
scan folder's other files (``acqp``, ``fid``/``ser``/``rawdata.job0``, ``visu_pars``...)
and its reconstructions (``pdata/<n>/{2dseq,visu_pars,reco,...}``) are sidecars.
``horizontalResolution``/``verticalResolution`` = ``PVM_Matrix``, ``nFrames`` =
``PVM_NRepetitions``, ``frameRate`` for several repetitions = the repetitions over
``PVM_ScanTime`` less ``PVM_DummyScansDur`` (ms; a segmented or RARE sequence takes
several TRs a volume), else 1000 / ``PVM_RepetitionTime``; ``magneticFieldStrength`` =
acqp ``BF1`` (MHz) / 42.577 MHz/T when the nucleus ``NUC1`` is ¹H (computed: the
proton's gyromagnetic ratio, so a 300.3 MHz system is 7.05 T).

Both read a few kB of text; nothing scales with the data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bsingest.errors import ExtractionError

from ._mri import drop_disallowed, repetition_rate
from .base import Claim, Extraction, Extractor, Fields

__all__ = ["ParRecExtractor", "ParaVisionExtractor", "read_jcamp", "read_par"]

_PAR_MAGIC = "DATA DESCRIPTION FILE"
_TEXT_LIMIT = 4 * 2**20
_GAMMA_1H = 42.577  # MHz/T


def _text(path: Path, owner: Path, limit: int = _TEXT_LIMIT) -> str:
    """The text of a header file; errors name ``owner``, the file being described."""
    with open(path, "rb") as fh:
        raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise ExtractionError(owner, f"{path.name} is larger than {limit} bytes: not a header")
    return raw.decode("latin-1")


# --- PAR/REC ------------------------------------------------------------------------------

def _par_of(path: Path) -> Path | None:
    for suffix in (".PAR", ".par", ".Par"):
        p = path.with_suffix(suffix)
        if p.is_file():
            return p
    return None


def _rec_of(path: Path) -> Path | None:
    for suffix in (".REC", ".rec", ".Rec"):
        p = path.with_suffix(suffix)
        if p.is_file():
            return p
    return None


def _is_par(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return _PAR_MAGIC.encode() in fh.read(1024)
    except OSError:
        return False


def read_par(path: Path, owner: Path | None = None) -> tuple[dict[str, str], list[list[str]]]:
    """The general information (``. name : value``) and the image lines of a PAR file;
    errors name ``owner`` (the ``.REC`` it describes), else the PAR itself."""
    owner = owner or path
    text = _text(path, owner)
    if _PAR_MAGIC not in text[:1024]:
        raise ExtractionError(owner, f"{path.name}: no 'DATA DESCRIPTION FILE' line: not a "
                              "Philips PAR file")
    general: dict[str, str] = {}
    images: list[list[str]] = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(".") and ":" in s:
            name, _, value = s[1:].partition(":")
            general[" ".join(name.split())] = value.strip()
        elif s and s[0].isdigit():
            images.append(s.split())
    return general, images


_DYN, _DYN_BEGIN = 2, 31  # image line columns: dynamic scan number, dyn_scan_begin_time (s)


def _dynamic_begins(images: list[list[str]]) -> dict[int, float]:
    """Dynamic scan number -> its begin time (s, the earliest of its image lines); empty
    when the lines do not state them (fewer columns than PAR 4)."""
    out: dict[int, float] = {}
    for cells in images:
        if len(cells) <= _DYN_BEGIN:
            return {}
        number, begin = _num(cells[_DYN]), _num(cells[_DYN_BEGIN])
        if number is None or begin is None or not number.is_integer():
            return {}
        key = int(number)
        out[key] = min(begin, out.get(key, begin))
    return out


def _check_rec_size(rec: Path, images: list[list[str]], f: Fields) -> None:
    """Warn when the REC is shorter than its image lines' images (x * y * bits / 8 each)."""
    want = 0
    for cells in images:
        if len(cells) <= 10:
            return
        bits, x, y = _num(cells[7]), _num(cells[9]), _num(cells[10])
        if bits is None or x is None or y is None or min(bits, x, y) <= 0:
            return
        want += int(x * y * bits) // 8
    size = rec.stat().st_size
    if size < want:
        f.warn(f"{rec.name} holds {size} bytes, fewer than the {want} its {len(images)} image "
               "lines describe: a truncated file")


def _num(text: str | None) -> float | None:
    try:
        v = float((text or "").split()[0])
    except (ValueError, IndexError):
        return None
    return v if math.isfinite(v) else None


class ParRecExtractor(Extractor):
    """Philips PAR/REC: the ``.REC`` described by its ``.PAR``."""

    name = "parrec"
    suffixes = (".rec", ".par")
    record_types = ("MagneticResonanceImaging", "FunctionalMagneticResonanceImaging")

    claim_endings = (".rec", ".par")

    @classmethod
    def claim(cls, path: Path) -> Claim:
        suffix = path.suffix.lower()
        if suffix == ".rec":
            par = _par_of(path)
            return Claim.SPECIFIC if par is not None and _is_par(par) else Claim.NO
        if suffix == ".par" and _is_par(path):
            # Beside its .REC a sidecar in a listing; alone, it describes itself.
            return Claim.SUFFIX if _rec_of(path) is not None else Claim.SPECIFIC
        return Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        par = _par_of(path) if path.suffix.lower() == ".rec" else None
        return [par] if par is not None else []

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        par = _par_of(path) if path.suffix.lower() == ".rec" else path
        if par is None:
            raise ExtractionError(path, "no .PAR header beside it")
        general, images = read_par(par, path)
        f = Fields()
        f.header("format", "PAR/REC", f"{par.name}: Philips data description file")
        if par == path:
            f.warn("a .PAR without its .REC: the data are not here")
        else:
            _check_rec_size(path, images, f)
        if images and len(images[0]) > 10:
            x, y = _num(images[0][9]), _num(images[0][10])
            if x and y and x.is_integer() and y.is_integer():
                f.header("horizontalResolution", int(x), f"{par.name} first image line, recon "
                         "resolution x")
                f.header("verticalResolution", int(y), f"{par.name} first image line, recon "
                         "resolution y")
        dyn = _num(general.get("Max. number of dynamics"))
        stated_dyn = int(dyn) if dyn is not None and dyn.is_integer() and dyn >= 1 else None
        begins = _dynamic_begins(images)
        frames = len(begins) or stated_dyn
        if begins:
            f.header("nFrames", frames, f"{par.name}: the dynamic scan numbers of its image "
                     "lines")
            if stated_dyn is not None and stated_dyn != frames:
                f.warn(f"the image lines hold {frames} dynamics, the general information says "
                       f"{stated_dyn} (Max. number of dynamics): a truncated scan")
        elif frames is not None:
            f.header("nFrames", frames, f"{par.name} Max. number of dynamics")
        functional = (frames or 1) > 1
        if functional:
            times = sorted(begins.values())
            if len(times) > 1 and times[-1] > times[0]:
                # The dynamics' own start times: a 3D or multi-echo sequence's "Repetition
                # time" is the excitation TR (7 ms), not the time between volumes.
                f.computed("frameRate", (len(times) - 1) / (times[-1] - times[0]),
                           f"({len(times)} dynamics - 1) / (the last dynamic's begin time "
                           f"{times[-1]:g} s - the first's {times[0]:g} s), {par.name} image "
                           "lines (dyn_scan_begin_time)")
            else:
                tr = _num(general.get("Repetition time [ms]")
                          or general.get("Repetition time [msec]"))
                if tr is None:
                    f.warn("no dynamic begin times and no Repetition time [ms]: no frameRate")
                else:
                    repetition_rate(f, tr / 1e3, f"{par.name} Repetition time {tr:g} ms")
        record_type = ("FunctionalMagneticResonanceImaging" if functional
                       else "MagneticResonanceImaging")
        drop_disallowed(record_type, f)
        return [self.result(path, record_type, f)]


# --- Bruker ParaVision --------------------------------------------------------------------

_JCAMP_FIELD = re.compile(r"^##\$?([^=]+)=(.*)$")


def read_jcamp(path: Path, owner: Path | None = None) -> dict[str, str]:
    """``##$NAME=value`` parameters of a JCAMP-DX file; an array's values follow its size
    line (``( 2 )``) and are joined into the value. Errors name ``owner`` (the ``method``
    file being described), else the file itself."""
    owner = owner or path
    text = _text(path, owner)
    if not text.startswith("##"):
        raise ExtractionError(owner, f"{path.name} does not start with '##': not a JCAMP-DX "
                              "parameter file")
    out: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        m = _JCAMP_FIELD.match(line)
        if m:
            key = m[1].strip()
            out[key] = m[2].strip()
        elif key is not None and not line.startswith("$$"):
            out[key] = (out[key] + " " + line.strip()).strip()
    return out


def _array(value: str | None) -> list[float]:
    if not value:
        return []
    body = value.partition(")")[2] if value.startswith("(") else value
    out = []
    for tok in body.split():
        try:
            v = float(tok)
        except ValueError:
            return []
        out.append(v)
    return out


def _is_jcamp(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"##"
    except OSError:
        return False


class ParaVisionExtractor(Extractor):
    """A Bruker ParaVision scan folder, described from its ``method`` and ``acqp``."""

    name = "paravision"
    suffixes = ("method",)
    record_types = ("MagneticResonanceImaging", "FunctionalMagneticResonanceImaging")

    claim_endings = ("method",)

    @classmethod
    def claim(cls, path: Path) -> Claim:
        if path.name != "method" or not (path.parent / "acqp").is_file():
            return Claim.NO
        return Claim.SPECIFIC if _is_jcamp(path) else Claim.NO

    @classmethod
    def sidecars(cls, path: Path) -> list[Path]:
        # Everything else of the scan folder is the scan's: acqp, fid or ser (ParaVision
        # 360: rawdata.job0), pulseprogram, visu_pars, AdjStatePerScan, ... and every
        # reconstruction under pdata/<n>/ (2dseq, visu_pars, reco, id, procs).
        scan = path.parent
        out = [p for p in sorted(scan.iterdir()) if p.is_file() and p != path
               and not p.name.startswith(".")]
        pdata = scan / "pdata"
        if pdata.is_dir():
            for sub in sorted(pdata.iterdir()):
                if sub.is_dir():
                    out += [p for p in sorted(sub.iterdir()) if p.is_file()
                            and not p.name.startswith(".")]
        return out

    def _extract(self, path: Path, stated: Mapping[str, Any]) -> list[Extraction]:
        method = read_jcamp(path)
        acqp_path = path.parent / "acqp"
        acqp = read_jcamp(acqp_path, path) if acqp_path.is_file() else {}
        f = Fields()
        kind = method.get("Method", "?")[:40]
        f.header("format", "Bruker ParaVision", f"JCAMP-DX method ({kind}) and acqp of scan "
                 f"{path.parent.name}")
        matrix = _array(method.get("PVM_Matrix"))
        if len(matrix) >= 2 and all(v.is_integer() and v >= 1 for v in matrix[:2]):
            f.header("horizontalResolution", int(matrix[0]), "method PVM_Matrix[0]")
            f.header("verticalResolution", int(matrix[1]), "method PVM_Matrix[1]")
        reps = _num(method.get("PVM_NRepetitions"))
        frames = int(reps) if reps is not None and reps.is_integer() and reps >= 1 else None
        if frames is not None:
            f.header("nFrames", frames, "method PVM_NRepetitions")
        functional = (frames or 1) > 1
        if functional and frames is not None:
            self._rate(f, method, frames)
        bf1 = _num(acqp.get("BF1"))
        nucleus = acqp.get("NUC1", "").strip("<> ")
        if bf1 is not None and 0 < bf1 / _GAMMA_1H <= 30 and nucleus == "1H":
            f.computed("magneticFieldStrength", bf1 / _GAMMA_1H,
                       f"acqp BF1 {bf1:g} MHz / {_GAMMA_1H} MHz/T (NUC1 <1H>)")
        record_type = ("FunctionalMagneticResonanceImaging" if functional
                       else "MagneticResonanceImaging")
        drop_disallowed(record_type, f)
        return [self.result(path, record_type, f)]

    @staticmethod
    def _rate(f: Fields, method: dict[str, str], frames: int) -> None:
        """The volume rate: the scan's time without its dummy scans over the repetitions
        (a segmented or RARE sequence takes several TRs a volume), else 1 / the TR."""
        scan = _num(method.get("PVM_ScanTime"))
        dummy = _num(method.get("PVM_DummyScansDur")) or 0.0
        tr = _num(method.get("PVM_RepetitionTime"))
        if scan is not None and scan - dummy > 0:
            per = (scan - dummy) / frames / 1e3
            repetition_rate(f, per, f"(method PVM_ScanTime {scan:g} ms - PVM_DummyScansDur "
                            f"{dummy:g} ms) / {frames} repetitions")
        elif tr is not None:
            repetition_rate(f, tr / 1e3, f"method PVM_RepetitionTime {tr:g} ms")
        else:
            f.warn("method has neither PVM_ScanTime nor PVM_RepetitionTime: no frameRate")
