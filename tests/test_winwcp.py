"""WinWCP: values against file-size arithmetic and neo's WinWcpRawIO."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from tests.samples.winwcp import SECTOR, write_wcp


def _neo(path: Path) -> tuple[int, float, int, list[float]]:
    from neo.rawio import WinWcpRawIO

    r = WinWcpRawIO(filename=str(path))
    r.parse_header()
    total = sum(r.get_signal_size(0, s, 0) for s in range(r.segment_count(0)))
    chans = r.header["signal_channels"]
    return len(chans), r.get_signal_sampling_rate(0), total, list(chans["gain"])


def test_values_match_file_size_and_neo(tmp_path: Path) -> None:
    path = write_wcp(tmp_path / "a.wcp", n_records=5, nbd=3)
    [r] = extract(path)
    tj = r.type_json
    n, rate, total, _ = _neo(path)
    record = (2 + 3) * SECTOR
    assert r.type == "IntracellularEphys" and tj["format"] == "WinWCP" and tj["type"] == "int16"
    assert tj["nChannels"] == n == 2
    assert tj["nSamples"] == (os.path.getsize(path) - 1024) // record * (3 * SECTOR // 2 // 2)
    assert tj["nSamples"] == total
    # Our rate is 1/DT as written; neo's is 1/float32(DT): equal to float32 precision.
    assert tj["sr"] == pytest.approx(1 / 6.005e-5, rel=1e-12)
    assert tj["sr"] == pytest.approx(rate, rel=1e-6)
    assert "lsb" not in tj  # mV and pA channels: no single µV step
    assert "pA" in r.warnings[0]


def test_voltage_only_file_has_lsb_like_neo(tmp_path: Path) -> None:
    path = write_wcp(tmp_path / "v.wcp", n_channels=1, units=("mV",), gains=("0,5",), vmax=5.0)
    _, _, _, gains = _neo(path)
    assert extract(path)[0].type_json["lsb"] == pytest.approx(gains[0] * 1000)  # mV -> µV
    assert gains[0] == pytest.approx(5.0 / 32767 / 0.5)


def test_header_np_sets_samples_per_record(tmp_path: Path) -> None:
    path = write_wcp(tmp_path / "np.wcp", n_records=2, nbd=2, extra_header="NP=200\r\n")
    assert extract(path)[0].type_json["nSamples"] == 2 * 200


def test_truncated_copy_counts_whole_records_on_disk(tmp_path: Path) -> None:
    path = write_wcp(tmp_path / "t.wcp", n_records=4)
    os.truncate(path, os.path.getsize(path) - 100)
    [r] = extract(path)
    assert r.type_json["nSamples"] == 3 * (2 * SECTOR // 2 // 2)
    assert any("NR says 4" in w and "hold 3" in w for w in r.warnings)


def test_sparse_100_gb_file(tmp_path: Path) -> None:
    path = write_wcp(tmp_path / "big.wcp", n_records=1, nbd=200)
    record = 202 * SECTOR
    n_records = 100 * 10**9 // record
    os.truncate(path, 1024 + n_records * record)
    [r] = extract(path)
    assert r.type_json["nSamples"] == n_records * (200 * SECTOR // 2 // 2)


def test_not_wcp_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.wcp"
    path.write_text("hello=world\n")
    with pytest.raises(ExtractionError, match=r"^x\.wcp: no WinWCP header"):
        extract(path)


@pytest.mark.parametrize("line", ["NBH=1e15", "NBD=1e12", "NBA=99999999999"])
def test_declared_lengths_past_the_file_are_refused_before_reading(tmp_path: Path,
                                                                   line: str) -> None:
    path = write_wcp(tmp_path / "a.wcp")
    key = line.split("=")[0]
    data = path.read_bytes()
    start = data.index(f"{key}=".encode())
    end = data.index(b"\r\n", start)
    path.write_bytes(data[:start] + line.encode() + data[end:])
    with pytest.raises(ExtractionError, match=r"^a\.wcp: .* hold no whole record"):
        extract(path)
