"""What a session report holds: records with their durations and start times, findings."""

from __future__ import annotations

import datetime
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bsingest.records import finite
from bsingest.recordtypes import lookup

if TYPE_CHECKING:
    from extractors.base import Extraction

__all__ = ["CheckRun", "Finding", "RecordView", "ReportSettings", "SessionReport", "Severity",
           "mixed_zones", "seconds_text", "visible"]

#: Words in a count's provenance saying it counts labelled frames, not consecutive ones.
_SPARSE_COUNTS = ("labelled frames", "labeled frames")

# Control characters, and the invisible ones that reorder or hide text.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


class Severity(str, enum.Enum):
    """How bad a finding is: ``error`` means the data on disk is wrong or incomplete."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check found: what, about which records, the values compared, and why."""

    severity: Severity
    check: str  # the check's name (see bsingest.report.checks.CHECKS)
    message: str  # one line, naming the records
    #: fileNames of the records concerned: those compared with first, the one the finding
    #: is about last (the timeline marks that one).
    records: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)  # the values compared
    why: str = ""  # why it matters

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity.value, "check": self.check, "message": self.message,
                "records": list(self.records), "values": finite(dict(self.values)),
                "why": self.why}


@dataclass(frozen=True, slots=True)
class CheckRun:
    """One check as it ran on a session: what it compared and whether it found anything."""

    check: str
    subject: str  # what was compared ("amplifier.dat, auxiliary.dat of intan/")
    findings: int  # how many findings it gave

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "subject": self.subject, "findings": self.findings}


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """How far apart the durations of a session's modalities may be (``[report]``)."""

    #: Seconds two modalities may differ by at least (``duration_tolerance``).
    duration_tolerance: float = 2.0
    #: ... or this fraction of the longer one, whichever is larger
    #: (``duration_tolerance_fraction``).
    duration_tolerance_fraction: float = 0.01

    def allowed(self, longer: float) -> float:
        return max(self.duration_tolerance, self.duration_tolerance_fraction * longer)

    def to_json(self) -> dict[str, float]:
        return {"duration_tolerance": self.duration_tolerance,
                "duration_tolerance_fraction": self.duration_tolerance_fraction}


@dataclass(frozen=True, slots=True)
class RecordView:
    """One record as the report shows it: its numbers, duration and start, with provenance."""

    file_name: str
    path: str
    type: str
    format: str
    extractor: str
    n_channels: int | None
    rate: float | None  # sr or frameRate, Hz
    count: int | None  # nSamples or nFrames
    count_key: str  # "nSamples" or "nFrames"
    duration: float | None  # seconds: count / rate
    duration_detail: str
    start_time: str | None  # ISO 8601, as the file states it
    start_detail: str
    warnings: tuple[str, ...]
    provenance: Mapping[str, Mapping[str, str]]
    type_json: Mapping[str, Any]
    part: str | None = None  # which of several records in one file
    #: Stated values the record did not take ("laser_power = 30 mW"): said once per session.
    unapplied: tuple[str, ...] = ()

    @classmethod
    def from_extraction(cls, x: Extraction) -> RecordView:
        tj = x.type_json
        found = lookup(x.type)  # the table says how a type's duration is counted
        frames = (found.family == "imaging") if found is not None else "nFrames" in tj
        count_key, rate_key = ("nFrames", "frameRate") if frames else ("nSamples", "sr")
        count, rate = _number(tj.get(count_key)), _number(tj.get(rate_key))
        duration: float | None = None
        counted = str(x.provenance[count_key].detail) if count_key in x.provenance else ""
        if count is None:
            detail = f"no {count_key}"
        elif any(s in counted for s in _SPARSE_COUNTS):
            # Labels on some frames of a video (SLEAP, DeepLabCut's CollectedData): their
            # count over the video's rate is no span of time; the frames are checked
            # against the video by the extractor instead.
            detail = f"{count_key} counts labelled frames, not a span of the video: no duration"
        elif not rate:
            detail = f"no {rate_key}: no duration"
        else:
            duration = count / rate
            unit = "frames" if frames else "samples"
            detail = f"{count:,.0f} {unit} / {rate:,.6g} {'fps' if frames else 'Hz'}"
        prov = {k: p.to_json() for k, p in x.provenance.items()}
        start = prov.get("startTime", {})
        return cls(
            file_name=x.file_name, path=x.path, type=x.type, format=str(tj.get("format", "")),
            extractor=x.extractor, n_channels=_int(tj.get("nChannels")), rate=rate,
            count=_int(count), count_key=count_key, duration=duration, duration_detail=detail,
            start_time=x.start_time,
            start_detail=(f"{start.get('source', '')}: {start.get('detail', '')}"
                          if start else "the files do not state it"),
            warnings=tuple(x.warnings), provenance=prov, type_json=dict(tj), part=x.part,
            unapplied=tuple(x.unapplied))

    @property
    def start(self) -> datetime.datetime | None:
        """The start as a datetime (naive: the recording's local time), if stated."""
        if not self.start_time:
            return None
        try:
            return datetime.datetime.fromisoformat(self.start_time)
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        return finite({
            "fileName": self.file_name, "path": self.path, "type": self.type,
            "format": self.format, "extractor": self.extractor, "nChannels": self.n_channels,
            "rate": self.rate, self.count_key: self.count, "duration": self.duration,
            "durationDetail": self.duration_detail, "startTime": self.start_time,
            "startDetail": self.start_detail, "warnings": list(self.warnings),
            "provenance": dict(self.provenance)})


@dataclass
class SessionReport:
    """A session at a glance: its records, what the checks found, and what could not be read."""

    session: str
    records: list[RecordView] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    checks: list[CheckRun] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # session-relative path -> message
    skipped: dict[str, str] = field(default_factory=dict)
    settings: ReportSettings = field(default_factory=ReportSettings)
    error: str | None = None  # the session could not be read at all

    @property
    def name(self) -> str:
        return self.session.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or self.session

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    def origin(self) -> datetime.datetime | None:
        """The earliest stated start: the timeline's zero."""
        starts = _comparable([r.start for r in self.records])
        return min((s for s in starts if s is not None), default=None)

    def offsets(self) -> list[float | None]:
        """Seconds from :meth:`origin` to each record's start (None: start not stated)."""
        starts = _comparable([r.start for r in self.records])
        known = [s for s in starts if s is not None]
        zero = min(known) if known else None
        return [(s - zero).total_seconds() if s is not None and zero is not None else None
                for s in starts]

    def to_json(self) -> dict[str, Any]:
        origin = self.origin()
        offsets = self.offsets()
        records = []
        for r, offset in zip(self.records, offsets, strict=True):
            out = r.to_json()
            out["offset"] = offset
            records.append(out)
        return {"session": self.session, "error": self.error, "counts": self.counts(),
                "origin": origin.isoformat() if origin else None,
                "settings": self.settings.to_json(), "records": records,
                "findings": [f.to_json() for f in self.findings],
                "checks": [c.to_json() for c in self.checks],
                "failed": dict(self.failed), "skipped": dict(self.skipped)}


def mixed_zones(starts: list[datetime.datetime | None]) -> bool:
    """Whether some starts carry a UTC offset and others do not."""
    return len({s.tzinfo is None for s in starts if s is not None}) > 1


def _comparable(starts: list[datetime.datetime | None]) -> list[datetime.datetime | None]:
    """Starts that can be subtracted: all aware, or all naive.

    Mixed (an Intan name stamp in local time beside an MP4's creation time in UTC): the
    ones without an offset are taken as this computer's local time, which is right where
    the report runs on the rig; the page says so.
    """
    if mixed_zones(starts):
        return [s.astimezone() if s is not None and s.tzinfo is None else s for s in starts]
    return starts


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    n = _number(value)
    return int(n) if n is not None and n.is_integer() else None



def seconds_text(seconds: float) -> str:
    """Seconds as people read them: 250 ms, 12.5 s, 3 min 20.0 s, 1 h 02 min 05 s."""
    s = abs(seconds)
    if s < 1:
        return f"{s * 1000:.4g} ms" if s else "0 s"
    if s < 60:
        return f"{s:.4g} s"
    if s < 3600:
        return f"{int(s // 60)} min {s % 60:04.1f} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min {int(s % 60):02d} s"


def visible(text: object) -> str:
    """``text`` with control and invisible characters shown as ``\\xNN`` / ``\\uNNNN``."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                       else f"\\u{ord(m.group()):04x}", str(text))
