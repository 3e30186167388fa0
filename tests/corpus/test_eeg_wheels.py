"""EDF, BDF and BrainVision files that installed packages ship (pyedflib's test data; MNE's
test folders and its testing data set where a machine has them): every one gets records
whose values equal MNE's and pyedflib's.

These are real files from outside this repository, found where they are, never copied in:
the module skips when MNE is absent or no such file is installed. Per file, where a reader
opens it:

- pyedflib (EDF, BDF): the data signals of each rate (annotation signals aside) are one
  record: nChannels, sr and nSamples equal pyedflib's; lsb is present exactly when those
  signals are in volts and share one step, and equals it; the start equals pyedflib's to
  the second (pyedflib's sub-second part, from the first EDF+ annotation, is ten times
  too small: it divides EDFlib's 100 ns units by 100; MNE leaves it out).
- MNE: the channels of all records add up to MNE's; the fastest record's sr and nSamples
  equal MNE's (MNE resamples every signal to the highest rate); the start equals
  ``meas_date`` (BrainVision: to the microsecond; EDF: to the second). BrainVision's lsb
  is MNE's calibration in µV for integer data in volts, absent otherwise.
- A file one reader opens is never refused by ours (the refusal list below says why for
  any that is, rightly).
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

from bsingest.extraction import extract

mne = pytest.importorskip("mne")

_SUFFIXES = {".edf", ".bdf", ".vhdr"}
_ANNOTATIONS = {"edf annotations", "bdf annotations"}
_TO_MICROVOLT = {"nv": 1e-3, "uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1e3, "v": 1e6}
#: Files an independent reader opens that ours refuses, and why the refusal is right
#: (file name -> reason). None so far.
_REFUSED_RIGHTLY: dict[str, str] = {}


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _installed_files() -> list[Path]:
    """EEG files shipped inside installed packages, and MNE's testing data if downloaded."""
    roots = []
    for package in ("pyedflib", "mne", "edfio", "pybv", "mne_bids"):
        where = _package_dir(package)
        if where is not None:
            roots.append(where)
    testing = mne.get_config("MNE_DATASETS_TESTING_PATH") or str(Path.home() / "mne_data")
    roots.append(Path(testing) / "MNE-testing-data")
    found: set[Path] = set()
    for root in roots:
        if not root.is_dir():
            continue
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                if path.suffix.lower() in _SUFFIXES and path.stat().st_size > 0:
                    found.add(path)
    return sorted(found)


FILES = _installed_files()
if not FILES:
    pytest.skip("no EDF, BDF or BrainVision file in the installed packages",
                allow_module_level=True)


def _ids(paths: list[Path]) -> list[str]:
    return ["/".join(p.parts[-3:]) for p in paths]


def _quiet(read: Any, *args: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(*args, **kw)


def _ours(path: Path, opened_by: list[str]) -> dict[str | None, Any]:
    try:
        return {r.part: r for r in extract(path)}
    except Exception as exc:  # a refusal: right only if listed with its reason
        if path.name in _REFUSED_RIGHTLY or not opened_by:
            pytest.skip(f"refused, as {'no reader opens it' if not opened_by else 'listed'}: "
                        f"{exc}")
        raise AssertionError(f"{path.name}: refused, but {', '.join(opened_by)} read it: "
                             f"{exc}") from exc


def _mne_raw(path: Path) -> Any:
    suffix = path.suffix.lower()
    read = {".edf": mne.io.read_raw_edf, ".bdf": mne.io.read_raw_bdf,
            ".vhdr": mne.io.read_raw_brainvision}[suffix]
    try:
        return _quiet(read, path, preload=False, verbose="error")
    except Exception:
        return None


def _pyedflib_header(path: Path) -> dict[str, Any] | None:
    if path.suffix.lower() == ".vhdr":
        return None
    try:
        import pyedflib
    except ImportError:
        return None
    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError:
        return None
    try:
        n = reader.signals_in_file
        return {
            "labels": reader.getSignalLabels(),
            "rates": [float(x) for x in reader.getSampleFrequencies()],
            "samples": [int(x) for x in reader.getNSamples()],
            "dims": [reader.getPhysicalDimension(i) for i in range(n)],
            "steps": [abs(reader.getPhysicalMaximum(i) - reader.getPhysicalMinimum(i))
                      / abs(reader.getDigitalMaximum(i) - reader.getDigitalMinimum(i))
                      if reader.getDigitalMaximum(i) != reader.getDigitalMinimum(i) else None
                      for i in range(n)],
            "start": reader.getStartdatetime(),
        }
    finally:
        reader.close()


def _check_pyedflib(path: Path, records: dict[str | None, Any], h: dict[str, Any]) -> None:
    by_rate: dict[float, list[int]] = {}
    for i, rate in enumerate(h["rates"]):
        if h["labels"][i].strip().lower() not in _ANNOTATIONS:
            by_rate.setdefault(rate, []).append(i)
    assert len(records) == len(by_rate), (path.name, sorted(by_rate), list(records))
    for r in records.values():
        tj = r.type_json
        [rate] = [x for x in by_rate if x == pytest.approx(tj["sr"], rel=1e-9)]
        chans = by_rate[rate]
        assert tj["nChannels"] == len(chans), (path.name, r.part)
        assert {h["samples"][i] for i in chans} == {tj["nSamples"]}, (path.name, r.part)
        steps = set()
        for i in chans:
            factor = _TO_MICROVOLT.get(h["dims"][i].strip().lower())
            steps.add(None if factor is None or h["steps"][i] is None
                      else float(f"{h['steps'][i] * factor:.9g}"))
        if len(steps) == 1 and None not in steps:
            assert tj.get("lsb") == pytest.approx(steps.pop(), rel=1e-6), (path.name, r.part)
        else:
            assert "lsb" not in tj, (path.name, r.part, sorted(map(str, steps)))
        start = h["start"].replace(microsecond=0).isoformat()
        assert (r.start_time or "")[:19] == start, (path.name, r.part)


def _check_mne(path: Path, records: dict[str | None, Any], raw: Any) -> None:
    assert sum(r.type_json["nChannels"] for r in records.values()) == len(raw.ch_names)
    fastest = max(records.values(), key=lambda r: r.type_json["sr"])
    assert fastest.type_json["sr"] == pytest.approx(raw.info["sfreq"], rel=1e-9)
    assert fastest.type_json["nSamples"] == raw.n_times
    when = raw.info["meas_date"]
    bv = path.suffix.lower() == ".vhdr"
    for r in records.values():
        if when is None:
            assert r.start_time is None, path.name
            continue
        want = when.replace(tzinfo=None)  # MNE labels the file's local time as UTC
        got = datetime.datetime.fromisoformat(r.start_time)
        assert got == (want if bv else want.replace(microsecond=0)), path.name
    if bv:
        [r] = records.values()
        units = set(getattr(raw, "_orig_units", {}).values())
        volts = all(u.lower() in _TO_MICROVOLT for u in units)
        cals = {float(f"{c * 1e6:.9g}") for c in raw._cals}
        if raw.orig_format != "single" and volts and len(cals) == 1:
            assert r.type_json["lsb"] == pytest.approx(cals.pop(), rel=1e-6), path.name
        else:
            assert "lsb" not in r.type_json, path.name


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_installed_eeg_file_agrees_with_mne_and_pyedflib(path: Path) -> None:
    raw = _mne_raw(path)
    header = _pyedflib_header(path)
    opened_by = [name for name, x in (("MNE", raw), ("pyedflib", header)) if x is not None]
    records = _ours(path, opened_by)
    assert records, path.name
    for r in records.values():
        assert r.type == "Electroencephalography"
        assert r.type_json["type"] in {"int16", "int24", "uint16", "int32", "float32"}
    if header is not None:
        _check_pyedflib(path, records, header)
    if raw is not None:
        _check_mne(path, records, raw)


def test_the_installed_files_include_pyedflibs() -> None:
    """Where pyedflib is installed its test data is found (the walk is not silently empty)."""
    where = _package_dir("pyedflib")
    if where is None or not (where / "tests" / "data").is_dir():
        pytest.skip("pyedflib's test data is not installed")
    assert sum(1 for p in FILES if where in p.parents) >= 7
