"""The checks a session report runs, across the records of one session.

Every check reads only what the extractors found (``type_json``, provenance, warnings,
start times): nothing here opens a data file. A finding names the records, the values
compared and why it matters.

Streams of one acquisition system
---------------------------------

=====================================  ===========================  ======================  ========
Streams                                What the system guarantees   Allowed difference      Severity
=====================================  ===========================  ======================  ========
Neuroscope ``x.dat`` / ``x.lfp`` /     the ``.lfp`` is the ``.dat``  2 samples of the        error
``x.eeg`` (same folder and name)       downsampled, sample for      ``.lfp`` (downsamplers
                                       sample: nSamples ratio =     round the last block
                                       rate ratio                   differently)
Intan RHX folder: ``amplifier``,       one block of every file per  none (exact, in         error
``auxiliary``, ``supply``,             128 ticks of one clock       amplifier-rate ticks)
``analogin``, ``digitalin`` ... (one
file per signal type or per channel)
Intan traditional ``.rhd``/``.rhs``    the streams share data       (cannot differ: not
                                       blocks                       compared)
SpikeGLX imec ``ap`` / ``lf`` of one   one probe clock, LF = AP/12  2 samples of the LF     error
probe in one run (``<run>.imecN``)
SpikeGLX ``nidq``/``obx``/other        nothing: separate clocks,    2 samples of the        warning
probes of one run                      each file closed by its own  slower stream + 50 ppm
                                       writer                       of the duration
Open Ephys binary ``ProbeX-AP`` /      one probe clock, LFP = AP/12  2 samples of the LFP    error
``ProbeX-LFP`` of one recording
Open Ephys binary, other streams of    nothing: separate devices,   2 samples of the        warning
one recording (``recordingN/``)        each delivers its own        slower stream + 50 ppm
                                       buffers                      of the duration
=====================================  ===========================  ======================  ========

Other checks
------------

- **durations** (warning): the modalities of one session (each system's streams counted
  once, every other record on its own; intracellular files, episodic protocols, left out)
  last as long as the longest, within ``max(duration_tolerance s, duration_tolerance_fraction
  x the longer)``: 2 s or 1% by default. Devices started by one trigger agree to well under
  a second; a camera or microphone started by hand a few seconds apart is normal; clock
  drift between independent crystals is at most ~100 ppm (0.36 s an hour). More than 1%
  is a device that started late or stopped early, not drift. Where both files state their
  start, starts further apart than the same tolerance are a warning too. Files of one
  family where each starts as the previous one ends (Intan's new file every few minutes,
  by their name stamps) are one modality from the first start to the last end. Scans
  (MRI, fMRI, CT, PET: taken one after another) are compared when a session holds one;
  several are left out of the durations and starts checks.
- **rates** (error): rates the system cannot produce as configured: Intan amplifier rates
  outside its 17 settings (1 to 30 kS/s), SpikeGLX imec AP not ~30 kHz or LF not ~2.5 kHz
  (within 0.1%: calibrated rates differ from nominal by ppm), Open Ephys Neuropixels
  streams not 30 kHz / 2.5 kHz, Open Ephys Rhythm FPGA / acquisition board not an Intan
  rate. Such a rate is a damaged or mismatched header: every duration derived is wrong.
- **video** (warning): frames the container's own structure promised but the file does not
  show (the extractor states both); in variable-rate video, fewer frames than the declared
  rate gives over the span of the timestamps (dropped frames).
- **frames** (warning): frame counts of imaging and video records (any record with
  ``frameRate`` and ``nFrames``). Files of one acquisition split at a fixed frame count
  (numbered siblings of one imaging type in one folder: ``rec_00001.tif``,
  ``rec_00002.tif``; behaviour videos aside, where ``cam1``/``cam2`` are more often two
  cameras) hold the same number of frames at the same rate, but for the last file, which
  may hold fewer; they count as one modality, end to end, in **durations**. And a
  timestamps file against the frames of its record (Miniscope ``timeStamps.csv`` rows,
  each AVI's ``framesPerFile``), and the files of one record against its header (a
  ScanImage file short of ``logFramesPerFile``, a gap in its numbering; PrairieView TIFFs the
  XML lists but the folder lacks; ThorImage frames on disk against ``Experiment.xml``), as
  the extractor found them. Missing frames shift every
  later frame's time.
- **extractor** (warning or info): what the extractors warned about. Truncation and damage
  (:data:`DATA_SIGNS`) are warnings; other notes (no single lsb, ...) are info.
- **stated** (info): a value the user stated (``laser_power``, ``excitation_wavelength``,
  ``imaging_depth``) that some records did not take, once per value, naming the files, as
  ``ingest`` says it: scanner records and types without the field leave it out.
- **unreadable** (error): a file bsingest could not describe at all.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import PurePosixPath

from ..extraction import unapplied_groups, unapplied_notes
from ..recordtypes import lookup
from .model import CheckRun, Finding, RecordView, ReportSettings, Severity
from .model import seconds_text as _secs

__all__ = ["CHECKS", "DATA_SIGNS", "INTAN_RATES", "run_checks"]

#: Check name -> its title on the page.
CHECKS = {
    "unreadable": "File could not be read",
    "extractor": "From the extractor",
    "rates": "Sampling rate the system cannot produce",
    "neuroscope": "Neuroscope .dat and its .lfp/.eeg",
    "intan": "Intan streams of one recording",
    "spikeglx": "SpikeGLX streams of one run",
    "openephys": "Open Ephys streams of one recording",
    "video": "Video frames",
    "frames": "Frame counts of one acquisition",
    "durations": "Durations across modalities",
    "starts": "Start times across modalities",
    "stated": "Stated values not applied",
}

#: Words in an extractor's warning that say data is missing or cut (a warning finding).
DATA_SIGNS = ("truncat", "damaged", "promises", "filesizebytes", "partial", "no data blocks",
              "holds a header and no", "timestamps in time.dat", "have no file",
              "pose rows but", "pose frames but", "labelled frame_idx", "samples but",
              "written apart", "left over",
              "not described",  # a part of a file dropped (extractors.base.PartFailure)
              "numbered avi file(s) missing")

#: Amplifier sample rates an Intan RHD/RHS system can be set to (RHX: 1 to 30 kS/s).
INTAN_RATES = (1000.0, 1250.0, 1500.0, 2000.0, 2500.0, 3000.0, 10000 / 3, 4000.0, 5000.0,
               6250.0, 8000.0, 10000.0, 12500.0, 15000.0, 20000.0, 25000.0, 30000.0)

#: Scanner records (MRI, CT, PET): a session's scans are taken one after another, so two
#: of them are not modalities that should last alike (see :func:`_units`).
_SEQUENTIAL = frozenset({"MagneticResonanceImaging", "FunctionalMagneticResonanceImaging",
                         "ComputedTomography", "PositronEmissionTomography",
                         "SinglePhotonEmissionComputedTomography"})

_SAMPLES = 2  # "a sample or two"
_PPM = 50e-6  # calibrated clocks of one rig: tens of ppm apart at most
_NEUROPIXELS = {"ap": 30000.0, "lf": 2500.0}
_RATE_TOLERANCE = 1e-3
_SGLX_NAME = re.compile(r"^(?P<run>.+?)\.(?:(?P<probe>imec\d*)(?:\.(?P<band>ap|lf))?|"
                        r"(?P<other>nidq|obx\d*))\.(?:bin|meta)$", re.IGNORECASE)
_PROMISED = re.compile(r"says (\d+)\)")
# An extractor's warning about a record's frames against a timestamps file, the writer's
# files-per-count rule or the acquisition's own header (lower case): Miniscope
# "timeStamps.csv lists 998 frames but ...", ScanImage "x_00002.tif holds 850 pages, not the
# 900 frames ... of SI.hScan2D.logFramesPerFile" and "numbered files skip 00003", PrairieView
# "2 of the 10 TIFF files the XML lists are absent", ThorImage "holds 5 frames and
# Experiment.xml states 12".
_FRAME_SIGNS = ("frames but", "pages, not the", "numbered files skip",
                "tiff files the xml lists are absent", "frames and experiment.xml states")
# Behaviour cameras: numbered files are more often several cameras than one split video.
_CAMERAS = frozenset({"BehavioralTracking", "VideoTracking"})
# A numbered file of a split acquisition: everything but its last run of digits.
_NUMBERED = re.compile(r"^(?P<stem>.*?)(?P<n>\d+)(?P<suffix>(?:\.[A-Za-z0-9]+)*)$")
# The nominal rate the video extractor states beside a variable rate's mean.
_DECLARED = re.compile(r"(?:the header declares|FFmpeg's average is) (\d+(?:/\d+)?(?:\.\d+)?)")


@dataclass
class _Context:
    findings: list[Finding]
    runs: list[CheckRun]

    def run(self, check: str, subject: str, found: Iterable[Finding]) -> None:
        found = list(found)
        self.findings += found
        self.runs.append(CheckRun(check, subject, len(found)))


def run_checks(records: Sequence[RecordView], failed: dict[str, str],
               settings: ReportSettings) -> tuple[list[Finding], list[CheckRun]]:
    """Every check over one session's records; findings sorted by severity, then check."""
    ctx = _Context([], [])
    for path, message in failed.items():
        ctx.run("unreadable", path, [Finding(
            Severity.ERROR, "unreadable", message, (path,), {"file": path, "error": message},
            "bsingest could not describe this file, so nothing about it can be checked or "
            "uploaded: a damaged copy, a missing sidecar, or a format it does not read.")])
    for r in records:
        frames = [w for w in r.warnings if any(s in w.lower() for s in _FRAME_SIGNS)]
        others = [w for w in r.warnings if w not in frames]
        if frames:
            ctx.run("frames", r.file_name, _frame_warnings(r, frames))
        if others:
            ctx.run("extractor", r.file_name, _extractor_warnings(r, others))
    for members in _split_acquisitions(records):
        ctx.run("frames", _members_label(members), _split_frames(members))
    for r in records:
        applies, found = _rate(r)
        if applies:
            ctx.run("rates", r.file_name, [found] if found else [])
    groups = _groups(records)
    for g in groups:
        ctx.run(g.system, g.label, g.check(g))
    for r in records:
        if _is(r, "BehavioralTracking") and r.extractor == "video":
            ctx.run("video", r.file_name, _video(r))
    units = _units(records, groups, settings, _split_acquisitions(records))
    if len(units) > 1:
        ctx.run("durations", f"{len(units)} modalities", _durations(units, settings))
        starts = _starts(records, units, settings)
        if starts is not None:
            ctx.run("starts", f"{len(units)} modalities", starts)
    declined = [r for r in records if r.unapplied]
    if declined:
        ctx.run("stated", f"{len(declined)} records", _stated(declined))
    ctx.findings.sort(key=lambda f: (f.severity.rank, list(CHECKS).index(f.check)))
    return ctx.findings, ctx.runs


def _stated(declined: Sequence[RecordView]) -> Iterable[Finding]:
    # The same line `ingest` prints, so the page and the upload say one thing.
    for (stated, names, types), note in zip(unapplied_groups(declined),
                                            unapplied_notes(declined), strict=True):
        yield Finding(
            Severity.INFO, "stated", note, tuple(names),
            {"stated": stated, "files": len(names), "types": ", ".join(types)},
            "A stated optical value goes only into records whose type has the field and "
            "that a laser or LED excites: the files named do not get it, on purpose.")


# --- extractor warnings ------------------------------------------------------------------


def _extractor_warnings(r: RecordView, warnings: Sequence[str]) -> Iterable[Finding]:
    for w in warnings:
        data = any(s in w.lower() for s in DATA_SIGNS)
        yield Finding(
            Severity.WARNING if data else Severity.INFO, "extractor", f"{r.file_name}: {w}",
            (r.file_name,), {"warning": w},
            "The extractor found data missing or cut short: the record describes what is "
            "on disk, which is less than the recording made." if data else
            "A note from the extractor about how a value was read or left out.")


# --- frames of one acquisition -----------------------------------------------------------


def _frame_warnings(r: RecordView, warnings: Sequence[str]) -> Iterable[Finding]:
    for w in warnings:
        yield Finding(
            Severity.WARNING, "frames", f"{r.file_name}: {w}", (r.file_name,), {"warning": w},
            "Frames missing from a file of the acquisition, a frame without its time stamp "
            "or a time stamp without its frame shift the times of every later frame: "
            "aligning imaging with behaviour or ephys by frame index goes wrong from there "
            "on.")


def _split_acquisitions(records: Sequence[RecordView]) -> list[list[RecordView]]:
    """Numbered siblings (same type, folder, name but the last number, part) with a rate
    and a count: the files of one acquisition its writer split, in number order."""
    by: dict[tuple[str, str, str, str, str], list[tuple[int, RecordView]]] = {}
    for r in records:
        if r.rate is None or r.count is None or r.count_key != "nFrames":
            continue
        if r.type in _CAMERAS:  # cam1.mp4, cam2.mp4: more often two cameras than one split
            continue
        path = PurePosixPath(r.file_name.split("#")[0])
        m = _NUMBERED.match(path.name)
        if m is None:
            continue
        key = (r.type, str(path.parent), m.group("stem"), m.group("suffix").lower(),
               r.part or "")
        by.setdefault(key, []).append((int(m.group("n")), r))
    return [[r for _, r in sorted(g, key=lambda nr: nr[0])] for g in by.values() if len(g) > 1]


def _members_label(members: Sequence[RecordView]) -> str:
    names = [PurePosixPath(m.file_name.split("#")[0]).name for m in members]
    return f"{names[0]} … {names[-1]} ({len(names)} files)"


def _split_frames(members: Sequence[RecordView]) -> Iterable[Finding]:
    counts = [m.count or 0 for m in members]
    # The writer's count per file: what most files but the last hold.
    body = counts[:-1]
    per_file = max(set(body), key=lambda c: (body.count(c), c))
    why = ("A writer that splits an acquisition at a fixed number of frames fills every file "
           "but the last; a file with fewer lost frames (a dropped buffer, a copy cut "
           "short), so the files after it start later than their numbers say.")
    names = [m.file_name for m in members]
    for i, m in enumerate(members):
        last = i == len(members) - 1
        if m.count is None or m.count == per_file or (last and m.count < per_file):
            continue
        yield Finding(
            Severity.WARNING, "frames",
            f"{m.file_name} holds {m.count:,} frames; the other files of its acquisition "
            f"hold {per_file:,} each" + ("" if not last else " (the last may hold fewer, "
                                         "not more)"),
            (*[n for n in names if n != m.file_name][:1], m.file_name),
            {"frames": m.count, "frames per file": per_file, "files": len(members)}, why)
    rates = {m.rate for m in members}
    if len(rates) > 1:
        shown = ", ".join(f"{r:,.6g}" for r in sorted(x for x in rates if x is not None))
        yield Finding(
            Severity.WARNING, "frames",
            f"{_members_label(members)}: the files of one acquisition state different frame "
            f"rates ({shown} fps)", (names[0], names[-1]),
            {m.file_name: m.rate for m in members},
            "Files of one acquisition run at one rate; different rates are files of "
            "different acquisitions numbered as one, or a damaged header.")


# --- rates -------------------------------------------------------------------------------


def _is(r: RecordView, name: str) -> bool:
    """Whether ``r`` is of the type whose current name is ``name`` (a report read from an
    older extraction may carry the 2023 name)."""
    found = lookup(r.type)
    return found is not None and found.name == name


def _rate(r: RecordView) -> tuple[bool, Finding | None]:
    """(whether a rule covers ``r``'s rate, the finding if the rate breaks it)."""
    if r.rate is None:
        return False, None
    name = PurePosixPath(r.file_name.split("#")[0])
    if r.extractor == "intan":
        # aux, supply: a quarter or one per block of the amplifier rate in traditional files.
        factors = (1,) if _is(r, "ExtracellularEphys") else (1, 4, 60, 128)
        ok = any(_near(r.rate * k, v, 1e-4) for k in factors for v in INTAN_RATES)
        return True, None if ok else _rate_finding(
            r, "an Intan amplifier rate (1000, 1250, 1500, 2000, 2500, 3000, 3333.3, 4000, "
            "5000, 6250, 8000, 10000, 12500, 15000, 20000, 25000 or 30000 Hz"
            + (", or a quarter or 1/60, 1/128 of one for aux and supply)" if len(factors) > 1
               else ")"), "the Intan header")
    if r.extractor == "spikeglx":
        m = _SGLX_NAME.match(name.name)
        band = (m.group("band") or "").lower() if m else ""
        if m and m.group("probe") and band in _NEUROPIXELS:
            nominal = _NEUROPIXELS[band]
            ok = _near(r.rate, nominal, _RATE_TOLERANCE)
            return True, None if ok else _rate_finding(
                r, f"~{nominal:g} Hz (imec {band.upper()} streams run at {nominal:g} Hz, "
                "calibrated to within 0.1%)", "the .meta imSampRate")
        return False, None
    if r.extractor == "openephys":
        stream = name.parent.name
        if "neuropix" in stream.lower():
            band = "lf" if stream.upper().endswith(("-LFP", "-LF")) else "ap"
            nominal = _NEUROPIXELS[band]
            ok = _near(r.rate, nominal, _RATE_TOLERANCE)
            return True, None if ok else _rate_finding(
                r, f"{nominal:g} Hz (Neuropixels {band.upper()} stream)", "structure.oebin")
        if stream.lower().startswith(("rhythm", "acquisition_board", "acquisition board")):
            ok = any(_near(r.rate, v, 1e-4) for v in INTAN_RATES)
            return True, None if ok else _rate_finding(
                r, "an Intan rate (the Rhythm FPGA / acquisition board runs Intan chips)",
                "structure.oebin")
    return False, None


def _rate_finding(r: RecordView, expected: str, where: str) -> Finding:
    return Finding(
        Severity.ERROR, "rates",
        f"{r.file_name}: {where} says {r.rate:,.6g} Hz; the system runs at {expected}",
        (r.file_name,), {"rate": r.rate, "expected": expected},
        "A rate the system cannot produce is a damaged header or one from another "
        "recording: the duration and every time derived from this file are wrong.")


def _near(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * b


# --- streams of one system ---------------------------------------------------------------


@dataclass
class _Group:
    system: str
    label: str
    members: list[RecordView]
    check: Callable[[_Group], Iterable[Finding]]


def _groups(records: Sequence[RecordView]) -> list[_Group]:
    by: dict[tuple[str, str], list[RecordView]] = {}
    for r in records:
        if r.duration is None or r.count is None or r.rate is None:
            continue
        path = PurePosixPath(r.file_name.split("#")[0])
        key: tuple[str, str] | None = None
        if r.extractor == "rawbinary" and path.suffix.lower() in (".dat", ".lfp", ".eeg"):
            key = ("neuroscope", str(path.with_suffix("")))
        elif r.extractor == "intan":
            key = ("intan", str(path.parent) if r.part is None else str(path))
        elif r.extractor == "spikeglx":
            m = _SGLX_NAME.match(path.name)
            if m:
                key = ("spikeglx", m.group("run"))
        elif r.extractor == "openephys" and len(path.parents) >= 3:
            key = ("openephys", str(path.parents[2]))
        if key is not None:
            by.setdefault(key, []).append(r)
    checks = {"neuroscope": _neuroscope, "intan": _intan, "spikeglx": _spikeglx,
              "openephys": _openephys}
    out = []
    for (system, where), members in by.items():
        if len(members) < 2:
            continue
        if system == "intan" and len({m.path for m in members}) == 1:
            continue  # parts of one traditional file share its data blocks
        bases = [PurePosixPath(m.file_name).name for m in members]
        names = ", ".join(bases if len(bases) <= 4 else
                          [*bases[:3], f"… {len(bases) - 3} more"])
        label = names if system == "neuroscope" else \
            f"{names} ({'the session folder' if where == '.' else where})"
        out.append(_Group(system, label, members, checks[system]))
    return out


def _neuroscope(g: _Group) -> Iterable[Finding]:
    ref = max(g.members, key=lambda m: (m.rate or 0, m.count or 0))
    for m in g.members:
        if m is ref:
            continue
        yield from _ratio(g.system, ref, m, _SAMPLES, Severity.ERROR,
                          f"{_base(m)} is {_base(ref)} downsampled sample for sample, so their "
                          f"lengths are in the ratio of their rates (within {_SAMPLES} samples: "
                          "downsamplers round the last block differently)",
                          "An .lfp that does not match its .dat was cut short, made from "
                          "another recording or with another rate: events found in one are "
                          "placed at the wrong time in the other.",
                          f"an .lfp/.eeg matches its .dat to within {_SAMPLES} samples")


def _intan(g: _Group) -> Iterable[Finding]:
    ref = max(g.members, key=lambda m: (_is(m, "ExtracellularEphys"), m.duration or 0))
    for m in g.members:
        if m is ref:
            continue
        yield from _ratio(g.system, ref, m, 0, Severity.ERROR,
                          "Intan RHX writes one block of every file per 128 ticks of one "
                          "clock: the files of one recording agree exactly",
                          "Files of one Intan recording that differ in length were cut short "
                          "(a copy interrupted, a disk full): the shorter ones lack the end of "
                          "the recording, and aligning them by sample index misplaces events.",
                          "the files of one Intan recording agree exactly")


def _spikeglx(g: _Group) -> Iterable[Finding]:
    parsed = [(m, _SGLX_NAME.match(PurePosixPath(m.file_name).name)) for m in g.members]
    probes: dict[str, dict[str, RecordView]] = {}
    for m, match in parsed:
        if match and match.group("probe"):
            probes.setdefault(match.group("probe").lower(), {})[
                (match.group("band") or "ap").lower()] = m
    for bands in probes.values():
        if "ap" in bands and "lf" in bands:
            yield from _ratio(g.system, bands["ap"], bands["lf"], _SAMPLES, Severity.ERROR,
                              "the LF stream is the AP stream's probe clock divided by 12, "
                              f"written side by side (within {_SAMPLES} LF samples)",
                              "An LF file that does not match its AP file was cut short or "
                              "belongs to another run: LFP and spikes no longer line up.",
                              f"LF matches AP/12 to within {_SAMPLES} samples")
    # One stream per probe (AP where there is one) and every nidq/obx: separate clocks.
    heads = [b.get("ap") or next(iter(b.values())) for b in probes.values()]
    heads += [m for m, match in parsed if not (match and match.group("probe"))]
    yield from _loose(g.system, heads, "SpikeGLX starts the streams of a run together but "
                      "each has its own clock and its own writer")


def _openephys(g: _Group) -> Iterable[Finding]:
    pairs: dict[str, dict[str, RecordView]] = {}
    loose = []
    for m in g.members:
        stream = PurePosixPath(m.file_name).parent.name
        base, sep, band = stream.rpartition("-")
        if sep and band.upper() in ("AP", "LFP"):
            pairs.setdefault(base, {})[band.upper()] = m
        else:
            loose.append(m)
    for bands in pairs.values():
        if "AP" in bands and "LFP" in bands:
            yield from _ratio(g.system, bands["AP"], bands["LFP"], _SAMPLES, Severity.ERROR,
                              "a Neuropixels probe's LFP stream is its AP clock divided by 12 "
                              f"(within {_SAMPLES} LFP samples)",
                              "An LFP stream that does not match its AP stream lost data: LFP "
                              "and spikes no longer line up.",
                              f"a probe's LFP matches its AP/12 to within {_SAMPLES} samples")
        loose.append(bands.get("AP") or next(iter(bands.values())))
    yield from _loose(g.system, loose, "Open Ephys starts and stops the streams of a recording "
                      "together, but each device has its own clock and delivers its own "
                      "buffers")


def _ratio(check: str, ref: RecordView, m: RecordView, allowed: int, severity: Severity,
           guarantee: str, why: str, rule: str) -> Iterable[Finding]:
    assert ref.count is not None and ref.rate and m.count is not None and m.rate
    ratio = Fraction(m.rate).limit_denominator(10**6) / Fraction(ref.rate).limit_denominator(10**6)
    expected = ref.count * ratio
    diff = m.count - expected
    if abs(diff) <= allowed:
        return
    n_exp = round(expected, 3)
    text = _count(float(n_exp))
    what = "missing" if diff < 0 else "too many"
    yield Finding(
        severity, check,
        f"{_base(m)} holds {m.count:,} samples at {m.rate:,.6g} Hz, but {_base(ref)}'s "
        f"{ref.count:,} samples at {ref.rate:,.6g} Hz make {text}: {_count(float(abs(diff)))} "
        f"samples ({float(abs(diff)) / m.rate:.4g} s) {what}; {rule}",
        (ref.file_name, m.file_name),
        {ref.file_name: {"nSamples": ref.count, "sr": ref.rate, "duration": ref.duration},
         m.file_name: {"nSamples": m.count, "sr": m.rate, "duration": m.duration},
         "expected nSamples": float(n_exp), "allowed difference (samples)": allowed,
         "guarantee": guarantee},
        why + f" ({guarantee}.)")


def _loose(check: str, members: Sequence[RecordView], guarantee: str) -> Iterable[Finding]:
    if len(members) < 2:
        return
    ref = max(members, key=lambda m: m.duration or 0)
    for m in members:
        if m is ref or m.duration is None or ref.duration is None:
            continue
        slower = min(m.rate or math.inf, ref.rate or math.inf)
        allowed = _SAMPLES / slower + _PPM * ref.duration
        diff = ref.duration - m.duration
        if diff <= allowed:
            continue
        yield Finding(
            Severity.WARNING, check,
            f"{_base(m)} lasts {_secs(m.duration)}, {_secs(diff)} less than {_base(ref)} "
            f"({_secs(ref.duration)}); streams of one recording on separate clocks agree "
            f"within {_SAMPLES} samples and 50 ppm ({_secs(allowed)})",
            (ref.file_name, m.file_name),
            {ref.file_name: {"duration": ref.duration, "sr": ref.rate, "nSamples": ref.count},
             m.file_name: {"duration": m.duration, "sr": m.rate, "nSamples": m.count},
             "difference (s)": diff, "allowed (s)": allowed, "guarantee": guarantee},
            "A stream of one recording that ends early was cut short or stopped: the end of "
            f"the recording lacks it ({guarantee}, so this is a warning, not an error).")


# --- video -------------------------------------------------------------------------------


def _video(r: RecordView) -> Iterable[Finding]:
    count_detail = r.provenance.get("nFrames", {}).get("detail", "")
    promised = _PROMISED.search(count_detail)
    damaged = any("damaged" in w or "truncat" in w for w in r.warnings)
    if promised and r.count is not None and int(promised.group(1)) != r.count and not damaged:
        claim = int(promised.group(1))
        yield Finding(
            Severity.WARNING, "video",
            f"{r.file_name}: the container's header claims {claim:,} frames; "
            f"{r.count:,} are shown", (r.file_name,),
            {"header frames": claim, "frames shown": r.count, "detail": count_detail},
            "Frames the header lists but a decoder does not show are lost or unplayable: "
            "a tracking analysis that assumes the header's count misaligns every frame after.")
    rate_detail = r.provenance.get("frameRate", {}).get("detail", "")
    declared = _DECLARED.search(rate_detail)
    if "variable frame rate" in rate_detail and declared and r.count and r.rate:
        nominal = float(Fraction(declared.group(1)))
        # The mean rate is (frames - 1) / the timestamps' span (extractors/video/rate.py); the
        # frames fill that span plus the last frame's duration.
        span = (r.count - 1) / r.rate + 1 / nominal
        expected = nominal * span
        missing = expected - r.count
        if missing >= 1 and missing > 0.005 * expected:
            yield Finding(
                Severity.WARNING, "video",
                f"{r.file_name}: {r.count:,} frames over {_secs(span)} of timestamps, but the "
                f"declared {nominal:g} fps gives {expected:,.0f}: about {missing:,.0f} frames "
                "dropped", (r.file_name,),
                {"frames": r.count, "timestamp span (s)": span, "declared fps": nominal,
                 "measured fps": r.rate, "expected frames": expected},
                "Gaps in a camera's timestamps are frames the camera or the encoder dropped: "
                "behaviour in those gaps is missing, and frame index is not time.")


# --- across modalities -------------------------------------------------------------------


@dataclass
class _Unit:
    """One modality: a system's streams together, a record on its own, or consecutive
    segments of one recording (``span`` set, ``first`` the earliest segment)."""

    label: str
    members: list[RecordView]
    span: float | None = None
    first: RecordView | None = None
    detail: str | None = None  # how ``span`` was made, where not first start to last end

    @property
    def head(self) -> RecordView:
        return self.first or max(self.members, key=lambda m: m.duration or 0)

    @property
    def duration(self) -> float | None:
        return self.span if self.span is not None else self.head.duration

    @property
    def name(self) -> str:
        return self.label if self.span is not None else self.head.file_name


def _units(records: Sequence[RecordView], groups: Sequence[_Group],
           settings: ReportSettings, splits: Sequence[list[RecordView]] = ()) -> list[_Unit]:
    grouped = {id(m) for g in groups for m in g.members}
    units = [_Unit(g.label, list(g.members)) for g in groups]
    for members in splits:  # the files of one split acquisition: one modality, end to end
        if any(id(m) in grouped for m in members):
            continue
        grouped |= {id(m) for m in members}
        span = sum(m.duration or 0.0 for m in members)
        units.append(_Unit(_members_label(members), list(members), span, members[0],
                           f"{len(members)} files end to end"))
    by_path: dict[str, list[RecordView]] = {}
    for r in records:
        if id(r) in grouped or r.duration is None or _is(r, "IntracellularEphys"):
            continue
        if r.extractor == "intan":  # parts of one traditional file: one modality
            by_path.setdefault(r.path, []).append(r)
        else:
            units.append(_Unit(r.file_name, [r]))
    units += [_Unit(PurePosixPath(m[0].file_name.split("#")[0]).name, m)
              for m in by_path.values()]
    # Scans are taken one after another: runs of different lengths and starts are the
    # protocol, not a device that stopped early. One scan is compared like any recording
    # (with the physiology or photometry recorded beside it); several are left out.
    scans = [u for u in units if u.head.type in _SEQUENTIAL]
    if len(scans) > 1:
        units = [u for u in units if u.head.type not in _SEQUENTIAL]
    return _chains(units, settings)


def _chains(units: list[_Unit], settings: ReportSettings) -> list[_Unit]:
    """Units of one family where each starts as the previous one ends, as one unit.

    Intan saves a new file (traditional) or folder (RHX) every few minutes; each is stamped
    with its start, so consecutive segments are recognised by their starts: a gap of at
    most ``duration_tolerance`` between one's end and the next's start (the stamps have a
    resolution of one second). Without stated starts, nothing is joined.
    """
    out: list[_Unit] = []
    by_family: dict[str, list[_Unit]] = {}
    for u in units:
        if u.head.start is None or u.duration is None:
            out.append(u)
        else:
            by_family.setdefault(u.head.extractor, []).append(u)
    for family in by_family.values():
        try:
            family.sort(key=_start_of)
        except TypeError:  # starts with and without a UTC offset: not joined
            out += family
            continue
        chains: list[list[_Unit]] = []
        for u in family:
            if chains:
                prev = chains[-1][-1]
                gap = (_start_of(u) - _start_of(prev)).total_seconds() - (prev.duration or 0)
                # Segments of one recording are of one type and start one after the other:
                # a Miniscope and its behaviour camera start together (short ones too).
                later = _start_of(u) > _start_of(prev) and u.head.type == prev.head.type
                if later and abs(gap) <= settings.duration_tolerance:
                    chains[-1].append(u)
                    continue
            chains.append([u])
        out += [c[0] if len(c) == 1 else _joined(c) for c in chains]
    return out


def _start_of(u: _Unit) -> datetime.datetime:
    start = u.head.start
    assert start is not None
    return start


def _joined(chain: list[_Unit]) -> _Unit:
    first, last = chain[0], chain[-1]
    span = (_start_of(last) - _start_of(first)).total_seconds() + (last.duration or 0)
    label = f"{first.name} … {last.name} ({len(chain)} consecutive segments)"
    return _Unit(label, [m for u in chain for m in u.members], span, first.head)


def _durations(units: Sequence[_Unit], settings: ReportSettings) -> Iterable[Finding]:
    ref_unit = max(units, key=lambda u: u.duration or 0)
    ref, longest = ref_unit.head, ref_unit.duration
    assert longest is not None
    allowed = settings.allowed(longest)
    for u in units:
        m, duration = u.head, u.duration
        if u is ref_unit or duration is None:
            continue
        diff = longest - duration
        if diff <= allowed:
            continue
        yield Finding(
            Severity.WARNING, "durations",
            f"{u.name} lasts {_secs(duration)}, {_secs(diff)} less than "
            f"{ref_unit.name} ({_secs(longest)}); allowed: {_secs(allowed)}",
            (ref.file_name, m.file_name),
            {ref_unit.name: {"duration": longest, "detail": _detail(ref_unit)},
             u.name: {"duration": duration, "detail": _detail(u)},
             "difference (s)": diff, "allowed (s)": allowed},
            "A modality that ends early (a camera that stopped, a microphone that filled its "
            "card) or started late leaves part of the session without it; found now, it can "
            f"be fixed or noted. Tolerance: {_tolerance_text(settings)}.")


def _detail(u: _Unit) -> str:
    if u.span is None:
        return u.head.duration_detail
    if u.detail is not None:
        return u.detail
    return f"first start to last end of {len({m.path for m in u.members})} files"


def _starts(records: Sequence[RecordView], units: Sequence[_Unit],
            settings: ReportSettings) -> list[Finding] | None:
    from .model import SessionReport

    offsets = dict(zip(map(id, records), SessionReport("", list(records)).offsets(),
                       strict=True))
    known = [(u.head, offsets[id(u.head)]) for u in units if offsets[id(u.head)] is not None]
    if len(known) < 2:
        return None
    out: list[Finding] = []
    # A start with a UTC offset is compared only with others that have one, and a local
    # time only with local times: between the two, the rig's time zone is a guess.
    for aware in (False, True):
        kind = [(m, o) for m, o in known if m.start is not None
                and (m.start.tzinfo is not None) == aware]
        if len(kind) > 1:
            out += _late(kind, settings)
    return out


def _late(known: list[tuple[RecordView, float | None]], settings: ReportSettings
          ) -> Iterable[Finding]:
    first, zero = min(known, key=lambda k: k[1] or 0.0)
    for m, offset in known:
        assert offset is not None and zero is not None
        late = offset - zero
        allowed = settings.allowed(max(first.duration or 0, m.duration or 0))
        if m is first or late <= allowed:
            continue
        yield Finding(
            Severity.WARNING, "starts",
            f"{m.file_name} started {_secs(late)} after {first.file_name} "
            f"({m.start_time} against {first.start_time}); allowed: {_secs(allowed)}",
            (first.file_name, m.file_name),
            {first.file_name: {"startTime": first.start_time, "detail": first.start_detail},
             m.file_name: {"startTime": m.start_time, "detail": m.start_detail},
             "difference (s)": late, "allowed (s)": allowed},
            "A modality that started late misses the beginning of the session; its sample 0 "
            "is not the others' sample 0. Tolerance: " + _tolerance_text(settings) + ".")


def _tolerance_text(s: ReportSettings) -> str:
    return (f"{s.duration_tolerance:g} s or {s.duration_tolerance_fraction * 100:g}% of the "
            "longer, whichever is larger ([report] duration_tolerance and "
            "duration_tolerance_fraction in bsingest.toml)")


def _count(n: float) -> str:
    """A sample count: whole with separators, else one decimal (12,500 or 3,921,342.0)."""
    return f"{round(n):,}" if abs(n - round(n)) < 1e-6 else f"{n:,.1f}"


def _base(r: RecordView) -> str:
    return PurePosixPath(r.file_name).name
