"""Plexon ``.plx`` read from its headers: values against neo's walk of every data block,
the header's counts used without reading the data, and neo's walk where they cannot be
trusted. Fixtures are written in Plexon's layout (``tests/samples/neo.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from extractors.neo import NeoExtractor
from extractors.neo.plexon import PROBE_BLOCKS, summarize
from tests.samples.neo import write_plx

neo_rawio = pytest.importorskip("neo.rawio")


def _neo(p: Path) -> dict[str, tuple[int, float, int, float]]:
    r = neo_rawio.PlexonRawIO(filename=str(p), progress_bar=False)
    r.parse_header()
    out = {}
    chans = r.header["signal_channels"]
    for i, s in enumerate(r.header["signal_streams"]):
        mine = chans[chans["stream_id"] == s["id"]]
        out[str(s["name"])] = (len(mine), float(mine["sampling_rate"][0]),
                               int(r.get_signal_size(0, 0, i)), float(mine["gain"][0]))
    return out


def _records(p: Path) -> dict[str, object]:
    return {r.part: r for r in NeoExtractor().extract(p)}


@pytest.mark.parametrize("blocks", [30, PROBE_BLOCKS + 500])
def test_plx_streams_against_neo(tmp_path: Path, blocks: int) -> None:
    p = write_plx(tmp_path / "a.plx", blocks=blocks)
    want = _neo(p)
    got = _records(p)
    assert set(got) == {"WB-Wideband", "FPl-Low_Pass_Filtered"}
    for name, (n, sr, samples, gain_mv) in want.items():
        tj = got[name.replace(" ", "_")].type_json
        assert (tj["nChannels"], tj["sr"], tj["nSamples"]) == (n, sr, samples)
        # Plexon.h: SlowMaxMagnitudeMV / (0.5 x 2^BitsPerSlowSample x Gain x PreampGain)
        # mV per step; neo states the same gain (in no unit)
        assert tj["lsb"] == pytest.approx(gain_mv * 1000)
        assert tj["type"] == "int16"
    wb = got["WB-Wideband"]
    assert wb.type_json["lsb"] == pytest.approx(5000 / (0.5 * 2**12 * 2 * 1000) * 1000)
    assert "bsingest's .plx header reader" in wb.provenance["nSamples"].detail
    where = "EVCounts" if blocks > PROBE_BLOCKS else "data blocks"
    assert where in wb.provenance["nSamples"].detail


def test_plx_data_past_the_probe_is_never_read(tmp_path: Path) -> None:
    # The counts of a long recording are in the header; 10 GB of zeros after the first
    # blocks would be blocks of type 0 to a reader that walks them (neo fails on them).
    p = write_plx(tmp_path / "big.plx", blocks=PROBE_BLOCKS + 100)
    small = summarize(p)
    with open(p, "r+b") as fh:
        fh.truncate(10 * 2**30)
    big = summarize(p)
    assert small is not None and big is not None
    assert big["variants"][0]["streams"] == small["variants"][0]["streams"]
    (r, *_) = NeoExtractor().extract(p)
    assert r.type_json["nSamples"] == small["variants"][0]["streams"][0]["segments"][0][0]


def test_plx_without_counts_is_walked_by_neo(tmp_path: Path) -> None:
    # A writer that keeps no tallies: blocks of channels the header calls empty
    p = write_plx(tmp_path / "nocount.plx", blocks=PROBE_BLOCKS + 100, counts=False)
    assert summarize(p) is None
    got = _records(p)
    for name, (n, _, samples, _) in _neo(p).items():
        tj = got[name.replace(" ", "_")].type_json
        assert (tj["nChannels"], tj["nSamples"]) == (n, samples)
    # a channel numbered above 211 has no count in any header
    high = write_plx(tmp_path / "high.plx", blocks=PROBE_BLOCKS + 100,
                     slow=(("WB01", 0, 1000, 2, 1000), ("WB300", 300, 1000, 2, 1000)))
    assert summarize(high) is None


def test_plx_small_file_counts_its_blocks_and_says_a_wrong_header(tmp_path: Path) -> None:
    p = write_plx(tmp_path / "s.plx", blocks=10)
    raw = bytearray(p.read_bytes())
    raw[7504 - 512 * 4 + 300 * 4:7504 - 512 * 4 + 301 * 4] = (999).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    got = _records(p)
    wb = got["WB-Wideband"]
    assert wb.type_json["nSamples"] == 10 * 20 == _neo(p)["WB-Wideband"][2]
    lines = [w for r in got.values() for w in r.warnings]  # file lines: on its first record
    assert any("sample counts differ" in w and "999" in w for w in lines)


def test_plx_spikes_only_and_damaged_headers(tmp_path: Path) -> None:
    p = write_plx(tmp_path / "spk.plx", slow=())
    (r,) = NeoExtractor().extract(p)
    assert r.type_json["nChannels"] == 0
    cut = write_plx(tmp_path / "cut.plx")
    cut.write_bytes(cut.read_bytes()[:3000])
    with pytest.raises(ExtractionError, match="cut inside the 7504-byte global header"):
        NeoExtractor().extract(cut)
    bad = write_plx(tmp_path / "bad.plx")
    raw = bytearray(bad.read_bytes())
    at = 7504 + 1020 + 296 + 3 * 296
    raw[at:at + 2] = (9).to_bytes(2, "little")
    bad.write_bytes(bytes(raw))
    with pytest.raises(ExtractionError, match="data block of type 9") as err:
        NeoExtractor().extract(bad)
    assert "\n" not in str(err.value) and str(err.value).startswith("bad.plx")
    assert os.path.getsize(bad) > at
