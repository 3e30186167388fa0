"""BrainVision samples: ``.vhdr`` + ``.vmrk`` + ``.eeg`` as BrainVision Recorder and
Analyzer write them (the header's sections and comment lines, ``ChN=`` channel lines,
the marker file's ``New Segment`` marker with its date), in latin-1 (Recorder 1.x, 'µ' as
0xB5) or UTF-8 (``Codepage=UTF-8``), multiplexed or vectorized; readable by MNE and neo."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXTRACTOR = "brainvision"

START = datetime.datetime(2019, 11, 12, 13, 14, 15, 123456)
_DTYPES = {"INT_16": "<i2", "UINT_16": "<u2", "INT_32": "<i4", "IEEE_FLOAT_32": "<f4"}


def write_brainvision(folder: Path, stem: str = "rec", *, n_channels: int = 4,
                      n_samples: int = 100, interval_us: float = 1000.0,
                      binary: str = "INT_16", orientation: str = "MULTIPLEXED",
                      resolutions: Sequence[str] | None = None,
                      units: Sequence[str] | None = None, codepage: str = "latin-1",
                      section_case: str = "title", data_points: int | None = None,
                      start: datetime.datetime | None = START, data_name: str | None = None,
                      extra: dict[str, str] | None = None) -> Path:
    """Write ``stem.vhdr``, ``stem.vmrk`` and the data file; return the data file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    data_name = data_name or f"{stem}.eeg"
    resolutions = list(resolutions or ["0.1"] * n_channels)
    units = list(units if units is not None else ["µV"] * n_channels)
    utf8 = codepage.lower() == "utf-8"

    def section(name: str) -> str:
        return {"title": name, "lower": name.lower(), "upper": name.upper()}[section_case]

    lines = [f"Brain Vision Data Exchange Header File Version {'2.0' if utf8 else '1.0'}",
             "; Data created by the Vision Recorder", "",
             f"[{section('Common Infos')}]"]
    if utf8:
        lines.append("Codepage=UTF-8")
    lines += [f"DataFile={data_name}", f"MarkerFile={stem}.vmrk", "DataFormat=BINARY",
              "; Data orientation: VECTORIZED=ch1,pt1, ch1,pt2...,MULTIPLEXED=ch1,pt1, ch2,pt1 ...",
              f"DataOrientation={orientation}", f"NumberOfChannels={n_channels}"]
    if data_points is not None:
        lines.append(f"DataPoints={data_points}")
    lines += ["; Sampling interval in microseconds", f"SamplingInterval={interval_us:g}"]
    for key, value in (extra or {}).items():
        lines.append(f"{key}={value}")
    lines += ["", f"[{section('Binary Infos')}]", f"BinaryFormat={binary}", "",
              f"[{section('Channel Infos')}]",
              "; Each entry: Ch<Channel number>=<Name>,<Reference channel name>,",
              "; <Resolution in \"Unit\">,<Unit>, Future extensions..."]
    for i in range(n_channels):
        lines.append(f"Ch{i + 1}=Fp{i + 1},,{resolutions[i]},{units[i]}")
    lines += ["", "[Comment]", "", "A m p l i f i e r  S e t u p", "=" * 28,
              f"Number of channels: {n_channels}", "Sampling Interval [µS]: 1000",
              "#     Name      Phys. Chn.    Resolution / Unit   Low Cutoff [s]   High Cutoff [Hz]",
              "1     Fp1         1                0.1 µV             10              1000",
              "Impedance [kOhm] at 12:00:00 :", "Fp1:          5"]
    encoding = "utf-8" if utf8 else "latin-1"
    (folder / f"{stem}.vhdr").write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    stamp = start.strftime("%Y%m%d%H%M%S%f") if start is not None else "0" * 20
    marker = [f"Brain Vision Data Exchange Marker File, Version {'2.0' if utf8 else '1.0'}", "",
              "[Common Infos]"] + (["Codepage=UTF-8"] if utf8 else []) + [
              f"DataFile={data_name}", "", "[Marker Infos]",
              "; Each entry: Mk<Marker number>=<Type>,<Description>,<Position in data points>,",
              f"Mk1=New Segment,,1,1,0,{stamp}", "Mk2=Stimulus,S  1,40,1,0"]
    (folder / f"{stem}.vmrk").write_bytes("\r\n".join(marker).encode(encoding) + b"\r\n")
    values = (np.arange(n_samples * n_channels) % 200).astype(_DTYPES[binary])
    data = folder / data_name
    values.tofile(data)
    return data


def good(tmp: Path) -> list[Path]:
    return [
        write_brainvision(tmp / "a", "int16"),
        write_brainvision(tmp / "b", "float", binary="IEEE_FLOAT_32", orientation="VECTORIZED",
                          codepage="utf-8", section_case="lower"),
        write_brainvision(tmp / "c", "int32", binary="INT_32", units=["uV"] * 4,
                          resolutions=["0.5"] * 4),
    ]


def bad(tmp: Path) -> list[Path]:
    out = []
    cut = write_brainvision(tmp / "cut", "cut", n_channels=4, n_samples=10)
    with open(cut, "r+b") as fh:
        fh.truncate(79)  # not a whole number of 4-channel int16 frames
    out.append(cut)
    write_brainvision(tmp / "junk", "junk")
    (tmp / "junk" / "junk.vhdr").write_bytes(b"\x00\xff garbage")
    out.append(tmp / "junk" / "junk.vhdr")
    no_rate = write_brainvision(tmp / "rate", "rate")
    vhdr = no_rate.with_suffix(".vhdr")
    vhdr.write_bytes(vhdr.read_bytes().replace(b"SamplingInterval=1000", b"SamplingInterval=-4"))
    out.append(no_rate)
    fmt = write_brainvision(tmp / "fmt", "fmt")
    vhdr = fmt.with_suffix(".vhdr")
    vhdr.write_bytes(vhdr.read_bytes().replace(b"BinaryFormat=INT_16", b"BinaryFormat=INT_12"))
    out.append(fmt)
    gone = write_brainvision(tmp / "gone", "gone")
    gone.unlink()
    out.append(gone.with_suffix(".vhdr"))
    return out
