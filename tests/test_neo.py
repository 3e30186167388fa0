"""The neo family: values from files the tests write, checked against file-size arithmetic
and against neo read directly; claims, companions and part names; the header mapping."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bsingest.errors import ExtractionError, UnsupportedFile
from extractors import discover, extractor_for
from extractors.neo import EPHYS, NeoExtractor
from extractors.neo.formats import part_name
from extractors.neo.mapping import map_summary
from tests.samples.neo import (
    NCS_HEADER,
    NCS_RECORD,
    write_axograph,
    write_axona_bin,
    write_axona_lfp,
    write_bci2000,
    write_brw3,
    write_edr,
    write_elan,
    write_mcs_h5,
    write_mcs_raw,
    write_ncs,
    write_nsx21,
    write_nsx22,
    write_spikegadgets_rec,
    write_trc,
    write_xdat,
)

neo_rawio = pytest.importorskip("neo.rawio")


def _one(path: Path):
    records = NeoExtractor().extract(path)
    assert len(records) == 1
    return records[0]


def test_nsx21_counts_frames_from_the_size(tmp_path: Path) -> None:
    p = write_nsx21(tmp_path / "a.ns3", n_channels=5, n_samples=77, period=15, extra=b"xyz")
    r = _one(p)
    tj = r.type_json
    header = 32 + 4 * 5
    assert tj["nChannels"] == 5
    assert tj["sr"] == 30000 / 15
    assert tj["nSamples"] == (p.stat().st_size - header) // (5 * 2) == 77
    assert tj["type"] == "int16" and "lsb" not in tj  # 2.1 states no units
    assert any("3 bytes after the last whole frame" in w for w in r.warnings)
    assert any("no lsb" in w for w in r.warnings)
    assert r.type == EPHYS


def test_nsx22_segments_gains_and_gaps_against_neo(tmp_path: Path) -> None:
    p = write_nsx22(tmp_path / "b.ns5", n_channels=3, segments=(40, 25), timestamps=(0, 300),
                    analog=(-8191, 8191), digital=(-32764, 32764), units=b"uV")
    r = _one(p)
    tj = r.type_json
    assert tj["nSamples"] == 65 and tj["sr"] == 30000 and tj["nChannels"] == 3
    assert tj["lsb"] == pytest.approx((8191 * 2) / (32764 * 2))
    assert any("gaps of" in w for w in r.warnings)
    assert r.start_time == "2024-03-14T09:30:00+00:00"  # the fixture's TimeOrigin, UTC
    reader = neo_rawio.BlackrockRawIO(str(p), nsx_to_load=5, load_nev=False)
    reader.parse_header()
    sizes = [reader.get_signal_size(0, s, 0) for s in range(reader.header["nb_segment"][0])]
    assert sum(sizes) == tj["nSamples"]
    assert abs(reader.header["signal_channels"]["gain"][0]) == pytest.approx(tj["lsb"])


def test_nsx22_analog_inputs_are_tagged(tmp_path: Path) -> None:
    p = write_nsx22(tmp_path / "t.ns6", n_channels=4, labels=["elec1", "elec2", "ainp1", "ainp2"])
    r = _one(p)
    assert r.type_json["channelTags"] == [{"tag": "adc", "channels": [2, 3]}]
    reader = neo_rawio.BlackrockRawIO(str(p), nsx_to_load=6, load_nev=False)
    reader.parse_header()
    names = list(reader.header["signal_channels"]["name"])
    assert [i for i, n in enumerate(names) if n.startswith("ainp")] == [2, 3]


def test_nsx22_clock_reset_is_said(tmp_path: Path) -> None:
    p = write_nsx22(tmp_path / "r.ns2", segments=(30, 30), timestamps=(3000, 0), period=30)
    r = _one(p)
    assert r.type_json["nSamples"] == 60
    assert any("clock reset" in w for w in r.warnings)


def test_nsx22_in_millivolts_is_converted(tmp_path: Path) -> None:
    p = write_nsx22(tmp_path / "m.ns2", analog=(-5000, 5000), units=b"mV")
    assert _one(p).type_json["lsb"] == pytest.approx(10000 / 65528 * 1000)


def test_ncs_one_record_per_file_against_its_records(tmp_path: Path) -> None:
    valid = (512, 512, 100)
    p = write_ncs(tmp_path / "CSC7.ncs", sr=32000, bit_volts=6.103515625e-08, valid=valid)
    r = _one(p)
    tj = r.type_json
    records = (p.stat().st_size - NCS_HEADER) // NCS_RECORD
    assert records == len(valid)
    raw = np.fromfile(p, dtype=[("ts", "<u8"), ("ch", "<u4"), ("sr", "<u4"), ("n", "<u4"),
                                ("s", "<i2", 512)], offset=NCS_HEADER)
    assert tj["nSamples"] == int(raw["n"].sum())
    assert tj["sr"] == 32000 and tj["nChannels"] == 1 and tj["type"] == "int16"
    assert tj["lsb"] == pytest.approx(6.103515625e-08 * 1e6)
    assert "inverted" in r.provenance["lsb"].detail
    assert r.start_time == "2024-03-14T09:30:00"


def test_ncs_gap_is_counted_out_and_said(tmp_path: Path) -> None:
    p = write_ncs(tmp_path / "g.ncs", valid=(512, 512, 512), gap_after=0)
    r = _one(p)
    assert r.type_json["nSamples"] == 1536
    assert any("gaps of" in w for w in r.warnings)


def test_ncs_folder_gives_one_record_per_file(tmp_path: Path) -> None:
    for i, sr in enumerate((2000, 32000)):
        write_ncs(tmp_path / f"CSC{i}.ncs", sr=sr)
    found = discover(tmp_path)
    assert [p.name for p in found.data] == ["CSC0.ncs", "CSC1.ncs"]
    rates = [_one(p).type_json["sr"] for p in found.data]
    assert rates == [2000, 32000]


@pytest.mark.parametrize("suffix,width,n,sr", [(".eeg", 1, 4000, 250), (".egf3", 2, 900, 4800)])
def test_axona_lfp_against_its_size(tmp_path: Path, suffix: str, width: int, n: int,
                                    sr: int) -> None:
    p = write_axona_lfp(tmp_path / f"t{suffix}", n=n, sr=f"{sr}.0 hz", width=width)
    (tmp_path / "t.set").write_text("trial_date x\r\n")
    r = _one(p)
    body = p.read_bytes()
    start = body.index(b"data_start") + len(b"data_start")
    stored = (len(body) - start - len(b"\r\ndata_end\r\n")) // width
    assert r.type_json["nSamples"] == stored == n
    assert r.type_json["sr"] == sr
    assert r.type_json["type"] == ("int8" if width == 1 else "int16")
    assert r.start_time == "2024-03-12T14:05:09"
    assert NeoExtractor.sidecars(p) == [tmp_path / "t.set"]


def test_mcs_h5_streams_against_h5py(tmp_path: Path) -> None:
    import h5py

    p = write_mcs_h5(tmp_path / "mea.h5", conversion=59605, exponent=-12, unit="V")
    records = {r.part: r for r in NeoExtractor().extract(p)}
    assert set(records) == {"Filter_Data1", "Analog_Data"}
    with h5py.File(p, "r") as f:
        for sname in ("Stream_0", "Stream_1"):
            g = f["Data/Recording_0/AnalogStream"][sname]
            tj = records[part_name(g.attrs["Label"].decode())].type_json
            info = g["InfoChannel"][()]
            assert (tj["nChannels"], tj["nSamples"]) == g["ChannelData"].shape
            assert tj["sr"] == pytest.approx(1e6 / info["Tick"][0])
            assert tj["type"] == "int32"
            assert tj["lsb"] == pytest.approx(info["ConversionFactor"][0]
                                              * 10.0 ** info["Exponent"][0] * 1e6)
    assert records["Analog_Data"].start_time == "2024-03-12T14:05:09"
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("x", data=[1, 2])
    with pytest.raises(UnsupportedFile):
        extractor_for(other)


def test_axona_raw_bin_tetrodes_against_its_size(tmp_path: Path) -> None:
    p = write_axona_bin(tmp_path / "trial.bin", tetrodes=(2, 5), packets=33, gain=4000)
    r = _one(p)
    tj = r.type_json
    assert tj["nSamples"] == p.stat().st_size // 432 * 3 == 99  # 3 samples per packet
    assert tj["nChannels"] == 8 and tj["sr"] == 48000 and tj["type"] == "int16"
    assert tj["lsb"] == pytest.approx(1000 * 1500 / (4000 * 2**15))
    assert tj["electrodeGroups"] == [{"channels": [0, 1, 2, 3], "label": "tetrode2"},
                                     {"channels": [4, 5, 6, 7], "label": "tetrode5"}]
    assert r.start_time == "2024-03-12T14:05:09"
    assert extractor_for(p).name == "neo"
    assert discover(tmp_path).sidecars == {tmp_path / "trial.set": p}


def test_spikegadgets_streams_and_ntrodes(tmp_path: Path) -> None:
    p = write_spikegadgets_rec(tmp_path / "s.rec", n_trodes=8, per_trode=4, packets=250,
                               scaling=0.195)
    records = {r.part: r for r in NeoExtractor().extract(p)}
    assert set(records) == {"ECU", "trodes"}
    text = p.read_bytes()
    header = text.index(b"</Configuration>") + len(b"</Configuration>\n")
    packet = 1 + 32 + 4 + 2 * 32
    trodes = records["trodes"].type_json
    assert trodes["nSamples"] == (len(text) - header) // packet == 250
    assert trodes["nChannels"] == 32 and trodes["sr"] == 30000
    assert trodes["lsb"] == pytest.approx(0.195)
    reader = neo_rawio.SpikeGadgetsRawIO(str(p))
    reader.parse_header()
    names = [str(n) for n in reader.header["signal_channels"]["name"]
             if str(n).startswith("trode")]
    for g in trodes["electrodeGroups"]:
        assert {names[c].split("chan")[0] for c in g["channels"]} == {f"trode{g['label'][6:]}"}
    assert sorted(c for g in trodes["electrodeGroups"] for c in g["channels"]) == list(range(32))
    assert "lsb" not in records["ECU"].type_json  # auxiliary analog input: no unit


def test_micromed_trc_against_its_size_and_neo(tmp_path: Path) -> None:
    p = write_trc(tmp_path / "pt.TRC", n_channels=6, n_samples=300, rate=512,
                  physical=(-1600, 1600), logical=(0, 65535, 32768))
    r = _one(p)
    tj = r.type_json
    data_start = int.from_bytes(p.read_bytes()[138:142], "little")
    assert tj["nSamples"] == (p.stat().st_size - data_start) // (6 * 2) == 300
    assert tj["nChannels"] == 6 and tj["sr"] == 512 and tj["type"] == "uint16"
    assert tj["lsb"] == pytest.approx(3200 / 65536)  # physical range / (logical range + 1)
    assert r.start_time == "2024-03-12T14:05:09"
    reader = neo_rawio.MicromedRawIO(str(p))
    reader.parse_header()
    assert reader.get_signal_size(0, 0, 0) == tj["nSamples"]
    assert reader.header["signal_channels"]["gain"][0] == pytest.approx(tj["lsb"])


def test_3brain_brw_against_h5py(tmp_path: Path) -> None:
    import h5py

    p = write_brw3(tmp_path / "chip.brw", n_channels=64, n_frames=700, rate=17855.5, bits=12)
    tj = _one(p).type_json
    with h5py.File(p, "r") as f:
        rv = f["3BRecInfo/3BRecVars"]
        assert tj["sr"] == pytest.approx(float(rv["SamplingRate"][0]))
        assert tj["nSamples"] == int(rv["NRecFrames"][0]) == 700
        assert tj["nChannels"] == len(f["3BRecInfo/3BMeaStreams/Raw/Chs"]) == 64
        span = float(rv["MaxVolt"][0] - rv["MinVolt"][0])
        assert tj["lsb"] == pytest.approx(span / 2 ** int(rv["BitDepth"][0]))
    assert tj["format"] == "3Brain" and tj["type"] == "uint16"


def test_mcs_raw_against_its_header_and_size(tmp_path: Path) -> None:
    p = write_mcs_raw(tmp_path / "mea.raw", n_channels=60, n_samples=333, rate=20000,
                      step="0.0596\u00b5V")
    r = _one(p)
    body = p.read_bytes()
    header = body.index(b"EOH") + len(b"EOH\r\n")
    assert r.type_json["nSamples"] == (len(body) - header) // (60 * 2) == 333
    assert r.type_json["nChannels"] == 60 and r.type_json["sr"] == 20000
    assert r.type_json["lsb"] == pytest.approx(0.0596) and r.type_json["type"] == "uint16"
    other = tmp_path / "camera.raw"
    other.write_bytes(b"\x00\x01" * 500)
    with pytest.raises(UnsupportedFile):
        extractor_for(other)


def test_claims_need_the_format_not_the_name(tmp_path: Path) -> None:
    junk = tmp_path / "x.ns5"
    junk.write_bytes(b"not a blackrock file at all" * 10)
    with pytest.raises(UnsupportedFile):
        extractor_for(junk)
    xml_eeg = tmp_path / "rec.eeg"
    xml_eeg.write_bytes(b"\0" * 64)
    assert extractor_for(xml_eeg).name == "rawbinary"
    ns = write_nsx21(tmp_path / "s.ns2")
    (tmp_path / "s.nev").write_bytes(b"NEURALEV" + b"\0" * 100)
    found = discover(tmp_path)
    assert ns in found.data and found.sidecars[tmp_path / "s.nev"] == ns


def test_tdt_block_is_claimed_once(tmp_path: Path) -> None:
    block = tmp_path / "Block-1"
    block.mkdir()
    for suffix in (".tev", ".tsq", ".Tbk", ".Tdx", "_Wav1_Ch1.sev"):
        (block / f"T1-Block-1{suffix}").write_bytes(b"\0" * 40)
    found = discover(block)
    assert [p.name for p in found.data] == ["T1-Block-1.tev"]
    assert {p.name for p in found.sidecars} == {"T1-Block-1.tsq", "T1-Block-1.Tbk",
                                                "T1-Block-1.Tdx", "T1-Block-1_Wav1_Ch1.sev"}
    # without its .tev (a .sev-only block) the index is the anchor
    (block / "T1-Block-1.tev").unlink()
    assert [p.name for p in discover(block).data] == ["T1-Block-1.tsq"]


def test_alphaomega_folder_is_claimed_once(tmp_path: Path) -> None:
    for name in ("map0002.mpx", "map0001.mpx"):
        (tmp_path / name).write_bytes(b"\x3c\x00h" + b"\0" * 100)
    found = discover(tmp_path)
    assert [p.name for p in found.data] == ["map0001.mpx"]
    assert [p.name for p in found.sidecars] == ["map0002.mpx"]


def test_damaged_files_are_one_line(tmp_path: Path) -> None:
    cut = write_nsx22(tmp_path / "c.ns5")
    cut.write_bytes(cut.read_bytes()[:400])
    with pytest.raises(ExtractionError) as err:
        NeoExtractor().extract(cut)
    text = str(err.value)
    assert text.startswith("c.ns5") and "\n" not in text


def test_neo_runs_in_the_worker_not_in_the_caller(tmp_path: Path) -> None:
    p = write_nsx21(tmp_path / "w.ns2")
    code = ("import sys, json; from extractors.neo import NeoExtractor; "
            f"r = NeoExtractor().extract({str(p)!r}); "
            "print(json.dumps([r[0].type_json['nSamples'], 'neo' in sys.modules]))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("BSINGEST_NO_ISOLATION", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [50, False]


# --- the header mapping, on summaries as the worker returns them --------------------------

def _stream(name: str = "s", **kw):
    base = {"name": name, "id": "0", "n_channels": 2, "rates": [1000.0], "dtypes": ["int16"],
            "units": ["uV"], "gains": [0.5], "offsets": [0.0], "names": ["a", "b"],
            "segments": [(100, 0.0)]}
    return {**base, **kw}


def _summary(*streams, label=None, extra=None):
    variant = {"label": label, "streams": list(streams), "n_spike_channels": 0,
               "n_event_channels": 0, "rec_datetime": None, "extra": extra or {}}
    return {"rawio": "TestRawIO", "variants": [variant], "warnings": []}


def _map(summary, key="blackrock"):
    from extractors.neo.formats import by_key

    return map_summary(by_key(key), Path("x"), summary)


def test_mapping_lsb_only_for_one_gain_in_volts() -> None:
    recs, _ = _map(_summary(_stream(gains=[0.5, 0.25])))
    assert "lsb" not in recs[0].fields.values
    assert any("2 different gains" in w for w in recs[0].fields.warnings)
    recs, _ = _map(_summary(_stream(units=["pA"])))
    assert "lsb" not in recs[0].fields.values
    recs, _ = _map(_summary(_stream(units=["V"], gains=[1e-7])))
    assert recs[0].fields.values["lsb"] == pytest.approx(0.1)
    recs, _ = _map(_summary(_stream(dtypes=["float32"])))
    assert "lsb" not in recs[0].fields.values


def test_mapping_streams_parts_and_empty_streams() -> None:
    recs, notes = _map(_summary(_stream("Raw Analog"), _stream("LFP/1"),
                                _stream("empty", segments=[(0, 0.0)])))
    assert [r.part for r in recs] == ["Raw_Analog", "LFP_1"]
    assert any("'empty'" in n and "no samples" in n for n in notes)
    recs, _ = _map(_summary(_stream("only")))
    assert recs[0].part is None
    recs, _ = _map(_summary(_stream("EEG1")), key="tdt")
    assert recs[0].part == "EEG1"
    recs, _ = _map(_summary(_stream("well000"), label="rec0001"), key="maxwell")
    assert recs[0].part == "rec0001/well000"


def test_mapping_no_signal_is_one_record_with_no_channels() -> None:
    recs, _ = _map(_summary())
    assert recs[0].fields.values["nChannels"] == 0
    assert any("no continuous signals" in w for w in recs[0].fields.warnings)


def test_part_names_are_sanitized() -> None:
    assert part_name("Signal stream 0") == "Signal_stream_0"
    assert part_name("stream0_27789Hz_0mVRange") == "stream0_27789Hz_0mVRange"
    assert part_name("#/") == "stream"


def test_tdt_stands_aside_for_the_photometry_family(tmp_path: Path, monkeypatch) -> None:
    import types

    fake = types.ModuleType("extractors.tdt_photometry")
    fake.photometry_only = lambda tsq: tsq.name.startswith("Photo")
    fake.is_photometry_store = lambda name: name.endswith("A")
    monkeypatch.setitem(sys.modules, "extractors.tdt_photometry", fake)
    for block in ("Photo-1", "Ephys-1"):
        for suffix in (".tev", ".tsq"):
            (tmp_path / f"{block}{suffix}").write_bytes(b"\0" * 40)
    assert NeoExtractor.claim(tmp_path / "Photo-1.tev") == 0
    assert NeoExtractor.claim(tmp_path / "Ephys-1.tev") == 2
    recs, notes = _map(_summary(_stream("EEG1"), _stream("465A")), key="tdt")
    assert [r.part for r in recs] == ["EEG1"]
    assert any("'465A'" in n and "photometry" in n for n in notes)


def test_pl2_and_smrx_without_their_vendor_libraries_are_one_line(tmp_path: Path,
                                                                 monkeypatch) -> None:
    monkeypatch.setenv("BSINGEST_PL2_DLL", str(tmp_path / "missing.dll"))
    monkeypatch.setenv("BSINGEST_NO_ISOLATION", "1")  # the environment reaches the reader
    pl2 = tmp_path / "x.pl2"
    pl2.write_bytes(b"\0" * 64)
    with pytest.raises(ExtractionError, match="does not download it"):
        NeoExtractor().extract(pl2)
    smrx = tmp_path / "x.smrx"
    smrx.write_bytes(b"\0" * 64)
    try:
        import sonpy  # noqa: F401
    except ImportError:
        with pytest.raises(ExtractionError, match="sonpy"):
            NeoExtractor().extract(smrx)


# --- NeuroNexus, AxoGraph, WinEDR, Elan, BCI2000 ---------------------------------------


def _neo(rawio: str, **kwargs):
    if "." in rawio:
        import importlib

        module, _, name = rawio.rpartition(".")
        reader = getattr(importlib.import_module(f"neo.rawio.{module}"), name)(**kwargs)
    else:
        reader = getattr(neo_rawio, rawio)(**kwargs)
    reader.parse_header()
    return reader


def test_neuronexus_streams_against_the_metadata_size_and_neo(tmp_path: Path) -> None:
    data = write_xdat(tmp_path, "rec", n_samples=450, pri=16, din=1, aux=3, sr=20000.0)
    meta = json.loads((tmp_path / "rec.xdat.json").read_text())
    records = {r.part: r for r in NeoExtractor().extract(data)}
    assert set(records) == {"NeuroNexus_Allego_Analog_pri_Data",
                            "NeuroNexus_Allego_Digital-in_din_Data",
                            "NeuroNexus_Allego_Auxiliary_aux_Data"}
    kinds = meta["sapiens_base"]["biointerface_map"]["chan_type"]
    pri = records["NeuroNexus_Allego_Analog_pri_Data"]
    tj = pri.type_json
    assert tj["nChannels"] == kinds.count("ai0") == 16
    assert records["NeuroNexus_Allego_Auxiliary_aux_Data"].type_json["nChannels"] == 3
    assert tj["sr"] == meta["status"]["samp_freq"] == 20000
    # float32, sample-interleaved, no header: the size says the count
    assert tj["nSamples"] == data.stat().st_size // (4 * len(kinds)) == 450
    assert tj["type"] == "float32" and "lsb" not in tj  # float µV: no integer step
    assert any("no lsb" in w for w in pri.warnings)
    assert pri.start_time == "2024-03-12T14:09:30.497224-04:00"
    assert pri.type == EPHYS and tj["format"] == "NeuroNexus"
    reader = _neo("NeuroNexusRawIO", filename=str(tmp_path / "rec.xdat.json"))
    sizes = {str(s["name"]): reader.get_signal_size(0, 0, i)
             for i, s in enumerate(reader.header["signal_streams"])}
    assert set(sizes.values()) == {tj["nSamples"]}
    assert reader.raw_annotations["blocks"][0]["rec_datetime"].isoformat() == pri.start_time
    assert float(reader.header["signal_channels"]["sampling_rate"][0]) == tj["sr"]
    assert sorted(NeoExtractor.sidecars(data)) == sorted(
        [tmp_path / "rec.xdat.json", tmp_path / "rec_timestamp.xdat"])


def test_neuronexus_is_claimed_through_its_data_file_only(tmp_path: Path) -> None:
    data = write_xdat(tmp_path, "rec")
    assert NeoExtractor.claim(data) == 2
    assert NeoExtractor.claim(tmp_path / "rec_timestamp.xdat") == 0  # a companion
    found = discover(tmp_path)
    assert found.data == [data]
    assert set(found.sidecars) == {tmp_path / "rec.xdat.json", tmp_path / "rec_timestamp.xdat"}
    (tmp_path / "rec.xdat.json").unlink()  # no metadata: not a NeuroNexus recording
    assert NeoExtractor.claim(data) == 0


@pytest.mark.parametrize("episodes", [1, 4])
def test_axograph_sweeps_gain_and_date_against_neo(tmp_path: Path, episodes: int) -> None:
    p = write_axograph(tmp_path / "cell.axgx", episodes=episodes, n_points=250,
                       interval=5e-5, channels=(("Vm", "V", 2e-5), ("Vm2", "V", 2e-5)))
    r = _one(p)
    tj = r.type_json
    assert r.type == "IntracellularEphys" and tj["format"] == "AxoGraph"
    assert tj["nChannels"] == 2 and tj["sr"] == pytest.approx(1 / 5e-5)
    assert tj["nSamples"] == episodes * 250  # per channel, over all sweeps
    assert tj["type"] == "int16" and tj["lsb"] == pytest.approx(2e-5 * 1e6)
    assert r.start_time == "2024-03-12T14:09:30"
    assert not any("reset" in w or "gap" in w for w in r.warnings)  # sweeps, not pieces
    reader = _neo("AxographRawIO", filename=str(p))
    assert reader.header["nb_segment"][0] == episodes
    assert sum(reader.get_signal_size(0, s, 0) for s in range(episodes)) == tj["nSamples"]
    assert set(reader.header["signal_channels"]["gain"]) == {2e-5}
    assert len(reader.header["signal_channels"]) == tj["nChannels"]
    assert reader.raw_annotations["blocks"][0]["rec_datetime"].isoformat() == r.start_time


def test_axograph_mixed_units_and_cut_metadata(tmp_path: Path) -> None:
    p = write_axograph(tmp_path / "vc.axgd", episodes=1,
                       channels=(("Im", "pA", 0.5), ("Vm", "mV", 0.01)))
    r = _one(p)
    assert "lsb" not in r.type_json and any("no lsb" in w for w in r.warnings)
    full = p.read_bytes()
    p.write_bytes(full[:len(full) - 300])  # cut inside the display settings at the end
    r = _one(p)
    assert r.type_json["nSamples"] == 400
    assert any("End of file reached unexpectedly" in w for w in r.warnings)
    wrong = tmp_path / "wrong.axgx"
    wrong.write_bytes(b"AXGX" + full[4:])
    assert NeoExtractor.claim(wrong) == 0  # the identifier, not the name


def test_winedr_against_its_header_and_size(tmp_path: Path) -> None:
    p = write_edr(tmp_path / "rec.EDR", n_channels=3, n_frames=700, dt=2e-5, ad=5.0,
                  adcmax=32767, gains=(10.0, 10.0, 10.0), units=("mV", "mV", "mV"))
    r = _one(p)
    tj = r.type_json
    assert r.type == "IntracellularEphys" and tj["format"] == "WinEDR"
    assert tj["nChannels"] == 3 and tj["sr"] == pytest.approx(50000)
    assert tj["nSamples"] == (p.stat().st_size - 2048) // (3 * 2) == 700
    # AD / (YCF x YAG x (ADCMAX + 1)) mV per step, in µV
    assert tj["lsb"] == pytest.approx(5.0 / (0.01 * 10.0 * 32768) * 1000)
    reader = _neo("WinEdrRawIO", filename=str(p))
    assert reader.get_signal_size(0, 0, 0) == tj["nSamples"]
    assert reader.header["signal_channels"]["gain"][0] * 1000 == pytest.approx(tj["lsb"])
    assert len(reader.header["signal_channels"]) == tj["nChannels"]
    assert r.start_time is None  # neo reads no date from a WinEDR header; nor does bsingest
    mixed = _one(write_edr(tmp_path / "vc.edr", n_channels=2, units=("pA", "mV"),
                           gains=(1.0, 10.0)))
    assert "lsb" not in mixed.type_json


def test_elan_against_its_size_header_and_neo(tmp_path: Path) -> None:
    p = write_elan(tmp_path / "sub01.eeg", kinds=("EEG",) * 5 + ("EOG", "ECG"), rate=1024.0,
                   n_samples=333, physical=(-3276.8, 3276.7))
    r = _one(p)
    tj = r.type_json
    assert r.type == "Electroencephalography" and tj["format"] == "Elan"
    assert tj["nChannels"] == 7  # the event and marker channels are not signals
    assert tj["nSamples"] == p.stat().st_size // ((7 + 2) * 2) == 333
    assert tj["sr"] == 1024 and tj["type"] == "int16"
    assert tj["lsb"] == pytest.approx(6553.5 / 65535)  # physical range / logical range
    assert tj["channelTags"] == [{"tag": "EEG", "channels": [0, 1, 2, 3, 4]},
                                 {"tag": "EOG", "channels": [5]}, {"tag": "ECG", "channels": [6]}]
    assert r.start_time == "2024-03-12T14:09:30"
    reader = _neo("ElanRawIO", filename=str(p))
    assert reader.get_signal_size(0, 0, 0) == tj["nSamples"]
    assert reader.signal_channels_count(0) == tj["nChannels"]
    assert reader.raw_annotations["blocks"][0]["rec_datetime"].isoformat() == r.start_time
    assert reader.header["signal_channels"]["gain"][0] == pytest.approx(tj["lsb"])


def test_elan_is_claimed_only_with_its_header_and_events(tmp_path: Path) -> None:
    p = write_elan(tmp_path / "a.eeg")
    assert NeoExtractor.claim(p) == 2
    assert sorted(NeoExtractor.sidecars(p)) == [tmp_path / "a.eeg.ent", tmp_path / "a.eeg.pos"]
    (tmp_path / "a.eeg.pos").unlink()
    assert NeoExtractor.claim(p) == 0  # neo needs both; an .eeg alone is another family's
    write_elan(tmp_path / "b.eeg")  # an Elan pair beside an Axona LFP: its header wins
    lfp = write_axona_lfp(tmp_path / "b.eeg")
    assert NeoExtractor().extract(lfp)[0].type_json["format"] == "Axona"


@pytest.mark.filterwarnings("ignore:Data type alias:DeprecationWarning")  # inside neo
def test_bci2000_against_its_header_size_and_neo(tmp_path: Path) -> None:
    p = write_bci2000(tmp_path / "S001R01.dat", n_channels=6, n_samples=300, rate="512Hz",
                      gain="0.033", state_bytes=4)
    r = _one(p)
    tj = r.type_json
    first = p.read_bytes().split(b"\r\n", 1)[0].decode()
    header_len = int(first.split("HeaderLen=")[1].split()[0])
    assert r.type == "Electroencephalography" and tj["format"] == "BCI2000"
    assert tj["nChannels"] == 6 and tj["sr"] == 512 and tj["type"] == "int16"
    assert tj["nSamples"] == (p.stat().st_size - header_len) // (6 * 2 + 4) == 300
    assert tj["lsb"] == pytest.approx(0.033)
    assert r.start_time == "2024-03-12T14:09:30"
    reader = _neo("bci2000rawio.BCI2000RawIO", filename=str(p))
    assert reader.get_signal_size(0, 0, 0) == tj["nSamples"]
    # neo 0.14.6 reads "0.033" as 0 (its pattern takes the digits before the point):
    # why bsingest reads SourceChGain itself
    assert set(reader.header["signal_channels"]["gain"]) == {0.0}
    assert len(reader.header["signal_channels"]) == tj["nChannels"]
    assert reader._global_time == datetime.datetime.fromisoformat(r.start_time).timestamp()
    assert "bsingest" in r.provenance["lsb"].detail


def test_bci2000_claims_by_its_header_not_the_name(tmp_path: Path) -> None:
    p = write_bci2000(tmp_path / "run.dat")
    assert extractor_for(p).name == "neo"
    assert NeoExtractor.claim(p) == 0  # not by its name: by content, once no family has it
    assert NeoExtractor.claim_content(p) == 2
    raw = tmp_path / "amplifier.dat"
    raw.write_bytes(np.arange(400, dtype="<i2").tobytes())
    assert NeoExtractor.claim_content(raw) == 0
    assert extractor_for(raw).name == "rawbinary"
    v10 = tmp_path / "v10.dat"  # format 1.0: the first line starts with HeaderLen=
    v10.write_bytes(p.read_bytes().replace(b"BCI2000V= 1.1 ", b"", 1))
    assert NeoExtractor.claim_content(v10) == 2


def test_bad_files_of_the_added_formats_are_one_line_and_quick(tmp_path: Path) -> None:
    cut = write_bci2000(tmp_path / "cut.dat")
    cut.write_bytes(cut.read_bytes()[:300])  # neo's header loop would never end
    with pytest.raises(ExtractionError, match=r"^cut\.dat: BCI2000: truncated: HeaderLen"):
        NeoExtractor().extract(cut)
    half = write_bci2000(tmp_path / "half.dat", extra=b"\1\2\3")
    with pytest.raises(ExtractionError, match="3 bytes after the last whole 11-byte sample"):
        NeoExtractor().extract(half)
    data = write_xdat(tmp_path, "big", declared=10**6)
    with pytest.raises(ExtractionError, match=r"^big_data\.xdat: NeuroNexus: truncated"):
        NeoExtractor().extract(data)
    edr = write_edr(tmp_path / "cut.EDR")
    edr.write_bytes(edr.read_bytes()[:1000])  # inside the 2,048-byte header
    with pytest.raises(ExtractionError, match=r"^cut\.EDR: WinEDR: truncated"):
        NeoExtractor().extract(edr)
    axg = write_axograph(tmp_path / "cut.axgx", cut=2000)
    with pytest.raises(ExtractionError, match=r"^cut\.axgx: AxoGraph: neo AxographRawIO"):
        NeoExtractor().extract(axg)


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
def test_a_fifo_named_like_a_recording_is_not_opened_by_the_claim(tmp_path: Path) -> None:
    import threading

    os.mkfifo(tmp_path / "run.dat")  # a .dat may be asked whether it is BCI2000's
    answer: list[object] = []
    worker = threading.Thread(target=lambda: answer.append(
        NeoExtractor.claim_content(tmp_path / "run.dat")), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert answer == [0]
