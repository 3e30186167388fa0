"""The checks every record passes, whatever family wrote it (``Extractor._check``), and
the stated parameters' checks: finite numbers, whole counts, rates and steps in bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from extractors.base import (
    FRAME_RATE_BOUNDS,
    LSB_BOUNDS,
    RATE_BOUNDS,
    Extraction,
    Extractor,
    Fields,
    plausibility_problems,
)
from tests.fixtures import write_dat, write_neuroscope_xml


class _Fixed(Extractor):
    """An extractor that returns whatever values a test gives it."""

    name = "fixed"
    suffixes = (".fix",)
    record_types = ("ExtracellularEphys", "BehavioralTracking", "Audio")

    def __init__(self, record_type: str, values: dict[str, object]) -> None:
        self.record_type = record_type
        self.values = values

    def _extract(self, path: Path, stated: object) -> list[Extraction]:
        f = Fields()
        for k, v in self.values.items():
            f.header(k, v, f"test value {k}")
        return [self.result(path, self.record_type, f)]


_TS = {"format": "DAT", "type": "int16", "nChannels": 4, "sr": 30000.0, "nSamples": 100}
_VIDEO = {"format": "MP4", "compression": "H.264", "frameRate": 30.0, "nFrames": 10,
          "horizontalResolution": 64, "verticalResolution": 48}


def _run(tmp_path: Path, record_type: str, values: dict[str, object]) -> list[Extraction]:
    path = tmp_path / "rec.fix"
    path.write_bytes(b"x")
    return _Fixed(record_type, values).extract(path)


@pytest.mark.parametrize(("record_type", "base", "key", "value", "words"), [
    ("ExtracellularEphys", _TS, "sr", float("inf"), "sr is inf, not a finite number"),
    ("ExtracellularEphys", _TS, "sr", float("nan"), "sr is nan, not a finite number"),
    ("ExtracellularEphys", _TS, "sr", 1e-7, "sr 1e-07 Hz is outside the plausible"),
    ("ExtracellularEphys", _TS, "sr", 2e7, "sr 2e+07 Hz is outside the plausible"),
    ("Audio", _TS, "sr", 0.5, "sr 0.5 Hz is outside the plausible 1 to 1e+07 Hz of Audio"),
    ("ExtracellularEphys", _TS, "lsb", 1e306, "lsb 1e+306 µV is outside the plausible"),
    ("ExtracellularEphys", _TS, "lsb", 1e-12, "lsb 1e-12 µV is outside the plausible"),
    ("ExtracellularEphys", _TS, "nSamples", -1, "nSamples is -1, outside 0 to 2**53"),
    ("ExtracellularEphys", _TS, "nSamples", 2**60, "nSamples is 1.15292e+18, outside 0 to 2**53"),
    ("ExtracellularEphys", _TS, "nChannels", True, "nChannels is True, not a number"),
    ("ExtracellularEphys", _TS, "nChannels", 2.5, "nChannels is 2.5, not a whole number"),
    ("BehavioralTracking", _VIDEO, "frameRate", float("-inf"), "frameRate is -inf"),
    ("BehavioralTracking", _VIDEO, "frameRate", 1e7, "frameRate 1e+07 fps is outside"),
    ("BehavioralTracking", _VIDEO, "nFrames", float("inf"), "nFrames is inf"),
])
def test_implausible_values_are_refused_naming_file_field_and_source(
        tmp_path: Path, record_type: str, base: dict[str, object], key: str, value: object,
        words: str) -> None:
    with pytest.raises(ExtractionError) as info:
        _run(tmp_path, record_type, {**base, key: value})
    message = str(info.value)
    assert message.startswith("rec.fix: ") and "\n" not in message
    assert words in message
    assert f"header: test value {key}" in message  # where the value came from


def test_non_finite_numbers_nested_in_lists_are_found(tmp_path: Path) -> None:
    groups = [{"channels": [0, 1], "label": "a"}, {"channels": [2, float("nan")], "label": "b"}]
    with pytest.raises(ExtractionError, match=r"electrodeGroups\.1\.channels\.1 is nan"):
        _run(tmp_path, "ExtracellularEphys", {**_TS, "electrodeGroups": groups})


def test_values_at_the_bounds_pass(tmp_path: Path) -> None:
    lo, hi = RATE_BOUNDS["GeneralTimeSeries"]
    for sr in (lo, hi):
        assert plausibility_problems("GeneralTimeSeries", {**_TS, "sr": sr}) == []
    for rate in FRAME_RATE_BOUNDS:
        assert plausibility_problems("BehavioralTracking", {**_VIDEO, "frameRate": rate}) == []
    for lsb in LSB_BOUNDS:
        assert plausibility_problems("ExtracellularEphys", {**_TS, "lsb": lsb}) == []
    (r,) = _run(tmp_path, "ExtracellularEphys", {**_TS, "sr": 0.1})  # a slow sensor
    assert r.type_json["sr"] == 0.1


def _raw(tmp_path: Path) -> Path:
    return write_dat(tmp_path / "rec.dat", n_channels=2, n_samples=10)


@pytest.mark.parametrize(("stated", "words"), [
    ({"sr": float("inf")}, "stated sr inf is not a finite number"),
    ({"sr": float("nan")}, "stated sr nan is not a finite number"),
    ({"sr": "fast"}, "stated sr 'fast' is not a finite number"),
    ({"sr": True}, "stated sr True is a boolean, not a number"),
    ({"sr": -5}, "stated sr -5 is not positive"),
    ({"lsb": float("inf")}, "stated lsb inf is not a finite number"),
    ({"n_channels": True}, "stated n_channels True is a boolean, not a number"),
    ({"n_channels": 2.5}, "stated n_channels 2.5 is not a whole number"),
    ({"n_channels": 0}, "stated n_channels 0 is not a whole number"),
    ({"dtype": 16}, "stated dtype 16 is not a sample type name"),
])
def test_stated_values_go_through_the_same_checks(tmp_path: Path, stated: dict[str, object],
                                                  words: str) -> None:
    full: dict[str, object] = {"n_channels": 2, "sr": 1000, **stated}
    with pytest.raises(ExtractionError) as info:
        extract(_raw(tmp_path), **full)
    assert str(info.value).startswith("rec.dat: ") and words in str(info.value)


def test_stated_rate_out_of_bounds_is_refused_as_stated(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"^rec\.dat: sr 1e-07 Hz .* \(stated by the user\)$"):
        extract(_raw(tmp_path), n_channels=2, sr=1e-7)


def test_stated_numbers_as_text_are_read(tmp_path: Path) -> None:
    (r,) = extract(_raw(tmp_path), n_channels="2", sr="1000.5")
    assert (r.type_json["nChannels"], r.type_json["sr"]) == (2, 1000.5)


def test_header_value_out_of_bounds_names_the_sidecar(tmp_path: Path) -> None:
    dat = _raw(tmp_path)
    write_neuroscope_xml(tmp_path / "rec.xml", 2, sampling_rate=1e-7)
    with pytest.raises(ExtractionError, match=r"rec\.xml acquisitionSystem/samplingRate"):
        extract(dat)
