"""TDT ephys blocks read by our own ``.Tbk`` + ``.tsq`` reader, against neo's TdtRawIO on
the same generated blocks: every value the records are made of is neo's, read here in
this process through the family's worker function (which always asks neo)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bsingest.errors import ExtractionError
from bsingest.extraction import extract
from extractors.neo import _worker
from extractors.neo.tdt import block_summary, tank_stores
from tests.fixtures_mri_photometry import TSQ, write_tbk, write_tdt

pytest.importorskip("neo")

STREAM, SNIP, STRON, UCF = 0x8101, 0x8201, 0x101, 0x10
ITEM = {0: 4, 1: 4, 2: 2, 3: 1, 4: 8}


def _block(folder: Path, stores: dict[str, tuple[float, int, int]], formats: dict[str, int],
           *, points: int = 64, extra: dict[str, tuple[int, int, int, int, float]] | None = None
           ) -> Path:
    """A neo-readable block: the .tev/.tsq of ``write_tdt`` and a .Tbk listing its stores
    (and ``extra`` stores listed without entries, or of other types)."""
    tsq = write_tdt(folder, "B1", stores, samples_per_block=points, formats=formats)
    listed = {name: (STREAM, chans, points, formats.get(name, 0), rate)
              for name, (rate, chans, _) in stores.items()}
    write_tbk(folder, "B1", {**listed, **(extra or {})})
    return tsq


def _neo(tsq: Path) -> dict[str, Any]:
    return _worker.summarize("tdt", str(tsq.with_suffix(".tev")))


def _same_streams(ours: dict[str, Any], neo: dict[str, Any]) -> None:
    (mine,), (theirs,) = ours["variants"], neo["variants"]
    assert len(mine["streams"]) == len(theirs["streams"])
    for a, b in zip(mine["streams"], theirs["streams"], strict=True):
        for key in ("name", "id", "n_channels", "rates", "dtypes", "units", "gains", "offsets",
                    "names"):
            assert a[key] == b[key], key
        assert [n for n, _ in a["segments"]] == [n for n, _ in b["segments"]]
        for (_, t0), (_, t1) in zip(a["segments"], b["segments"], strict=True):
            assert math.isclose(t0, t1, abs_tol=1e-9) or (math.isnan(t0) and math.isnan(t1))
    for key in ("n_spike_channels", "n_event_channels"):
        assert mine[key] == theirs[key], key


BLOCKS = [
    pytest.param({"EEG1": (3051.7578125, 4, 3)}, {}, id="one-store-float32"),
    pytest.param({"EEG1": (3051.7578125, 16, 5), "Wav2": (24414.0625, 2, 7),
                  "LFP1": (1017.2526245117188, 8, 2)}, {"Wav2": 2, "LFP1": 1},
                 id="three-stores-int16-int32"),
    pytest.param({"RAW1": (12207.03125, 33, 4), "Aux1": (610.3515625, 1, 9)},
                 {"RAW1": 3, "Aux1": 4}, id="int8-float64-odd-channels"),
]


@pytest.mark.parametrize(("stores", "formats"), BLOCKS)
def test_values_are_neos(tmp_path: Path, stores: dict, formats: dict) -> None:
    tsq = _block(tmp_path, stores, formats, extra={
        "Wav9": (STREAM, 4, 256, 0, 24414.0625),  # listed, never written: no entries
        "Tick": (STRON, 0, 0, 4, 0.0)})
    ours = block_summary(tsq, tsq.with_suffix(".tev"))
    assert ours is not None
    _same_streams(ours, _neo(tsq))
    # the arithmetic the counts stand for: entries per channel x samples per entry
    by_name = {s["name"]: s for s in ours["variants"][0]["streams"]}
    for name, (_, _, blocks) in stores.items():
        assert by_name[name]["segments"][0][0] == blocks * 64


def test_records_equal_neos_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stores = {"EEG1": (3051.7578125, 6, 4), "Wav2": (24414.0625, 3, 2)}
    tsq = _block(tmp_path, stores, {"Wav2": 2})
    tev = tsq.with_suffix(".tev")
    ours = extract(tev)
    import extractors.neo.tdt as tdt

    monkeypatch.setattr(tdt, "block_summary", lambda *a, **k: None)  # neo reads it
    theirs = extract(tev)
    assert [r.type_json for r in ours] == [r.type_json for r in theirs]
    assert [r.part for r in ours] == ["EEG1", "Wav2"]
    assert all("bsingest's TDT reader" in r.provenance["nSamples"].detail for r in ours)
    assert all(r.provenance["nSamples"].detail.startswith("neo TdtRawIO") for r in theirs)


@pytest.mark.parametrize("ours", [True, False], ids=["our-reader", "neo"])
def test_integer_stores_have_no_lsb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    ours: bool) -> None:
    """A TDT block keeps no scale for integer stores: neo's TdtRawIO sets gain 1.0 "uV"
    on every stream channel (its issue 1369), which made lsb 1 µV for an int16 store.
    The .tsq/.Tbk hold no scale at all (neo's gain is the same whatever the store)."""
    tsq = _block(tmp_path, {"LFP1": (1017.2526245117188, 4, 2)}, {"LFP1": 2})
    neo = _neo(tsq)["variants"][0]["streams"][0]
    assert (neo["dtypes"], neo["units"], neo["gains"]) == (["int16"], ["uV"], [1.0])
    if not ours:
        import extractors.neo.tdt as tdt

        monkeypatch.setattr(tdt, "block_summary", lambda *a, **k: None)
    [r] = extract(tsq.with_suffix(".tev"))
    assert r.type_json["type"] == "int16"
    assert "lsb" not in r.type_json
    assert any("no lsb: TDT keeps no scale" in w for w in r.warnings)


def test_tank_stores_from_our_reader(tmp_path: Path) -> None:
    tsq = _block(tmp_path, {"EEG1": (3051.7578125, 5, 3)}, {"EEG1": 2},
                 extra={"Wav9": (STREAM, 2, 256, 0, 24414.0625)})
    got = {s.name: s for s in tank_stores(tsq.with_suffix(".tev"))}
    neo = {s["name"]: s for s in _neo(tsq)["variants"][0]["streams"]}
    assert got["EEG1"].n_samples == neo["EEG1"]["segments"][0][0] == 3 * 64
    assert got["EEG1"].dtype == "int16" and got["Wav9"].dtype == neo["Wav9"]["dtypes"][0]
    assert got["Wav9"].sr == neo["Wav9"]["rates"][0] and got["Wav9"].n_samples == 0


def test_snippet_channels_counted_as_neo_does(tmp_path: Path) -> None:
    tsq = _block(tmp_path, {"EEG1": (3051.7578125, 2, 2)}, {},
                 extra={"eNe1": (SNIP, 4, 30, 0, 24414.0625),
                        "Tick": (STRON, 0, 0, 4, 0.0)})
    index = np.fromfile(tsq, dtype=TSQ)
    spikes = [(30 + 10, SNIP, b"eNe1", ch, sort, 1.7e9 + k, 0, 0, 24414.0625)
              for k, (ch, sort) in enumerate([(1, 0), (1, 1), (2, 0), (1, 1), (3, 2), (9, 0)])]
    np.concatenate([index[:2], np.array(spikes, TSQ), index[2:]]).tofile(tsq)
    ours = block_summary(tsq, tsq.with_suffix(".tev"))
    assert ours is not None
    _same_streams(ours, _neo(tsq))
    assert ours["variants"][0]["n_spike_channels"] == 4  # (1,0) (1,1) (2,0) (3,2); ch 9 > 4


def test_cut_short_tev_keeps_neos_counts_and_says_so(tmp_path: Path) -> None:
    tsq = _block(tmp_path, {"EEG1": (3051.7578125, 4, 6)}, {})
    tev = tsq.with_suffix(".tev")
    full = tev.stat().st_size
    os.truncate(tev, full // 2)
    ours = block_summary(tsq, tev)
    assert ours is not None
    _same_streams(ours, _neo(tsq))
    (line,) = [w for w in ours["warnings"] if w.startswith("truncated")]
    assert tev.name in line and f"{full // 2:,} bytes" in line and "EEG1" in line
    rec, = extract(tev)
    assert rec.type_json["nSamples"] == 6 * 64
    assert line in rec.warnings


def test_tsq_not_whole_entries_is_one_line(tmp_path: Path) -> None:
    tsq = _block(tmp_path, {"EEG1": (3051.7578125, 2, 2)}, {})
    with open(tsq, "ab") as fh:
        fh.write(b"\0" * 17)
    tev = tsq.with_suffix(".tev")
    with pytest.raises(ExtractionError) as e:
        block_summary(tsq, tev)
    text = str(e.value)
    assert "\n" not in text and tev.name in text and tsq.name in text and "40-byte" in text
    with pytest.raises(ExtractionError) as e:
        extract(tev)
    assert "\n" not in str(e.value) and tev.name in str(e.value)


@pytest.mark.parametrize("case", ["no-tbk", "sev-store", "empty-tev", "uneven-channels"])
def test_neo_reads_what_ours_stands_aside_for(tmp_path: Path, case: str) -> None:
    stores = {"EEG1": (3051.7578125, 2, 3)}
    tsq = _block(tmp_path, stores, {})
    tev = tsq.with_suffix(".tev")
    if case == "no-tbk":
        tsq.with_suffix(".Tbk").unlink()
    elif case == "sev-store":
        write_tbk(tmp_path, "B1", {"EEG1": (STREAM | UCF, 2, 64, 0, 3051.7578125)})
    elif case == "empty-tev":
        tev.write_bytes(b"")
    else:
        index = np.fromfile(tsq, dtype=TSQ)
        mine = (index["code"] == b"EEG1") & (index["channel"] == 2)
        keep = ~(mine & (index["ts"] == index["ts"][mine].max()))  # channel 2's last block
        index[keep].tofile(tsq)
        with pytest.raises(ExtractionError, match="neo TdtRawIO could not read"):
            extract(tev)  # neo refuses channels of unequal lengths, in its words
    assert block_summary(tsq, tev) is None
