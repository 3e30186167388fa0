"""The neo family and CellExplorer sidecars on the real files of ``../shared/corpus3``:
every ephys entry of truth.json of these families (AlphaOmega, Axona, Blackrock,
Neuralynx, Plexon, Spike2, TDT, MaxWell, CellExplorer) against truth, and the rawio
formats against neo read directly (so that our mapping of neo's header is checked).

How records meet truth keys:

- a file key (``blackrock/test2/test.ns5``) is that file's one record;
- ``folder::stream`` of a folder format (TDT, AlphaOmega) is the record ``anchor#stream``
  of the folder's one data file;
- Neuralynx and Axona LFP write one file per channel, and bsingest gives one record per
  file (as for Open Ephys legacy). truth groups them (by folder, or by rate group
  ``folder::2000Hz``): its ``nChannels`` is the number of files in the group, and every
  file's ``sr``, ``nSamples``, ``type`` and ``lsb`` equal the group's (and each file's own
  plain-header count in ``_crosscheck``);
- ``cellexplorer/...sessionInfo.mat`` has no binary: it is copied beside a sparse ``.dat``
  of ``nChannels`` x 2 bytes x 1000 frames, whose record must carry the ``.mat``'s values.

Fields in ``_ambiguous`` are not scored (TDT ``Wav5``: neo lists it with no samples, so
bsingest gives no record and says so). ``_disagreement`` notes: Blackrock NSx 2.1
``nSamples`` is the data-packet count (neo counts one fewer); the Blackrock clock reset
sums the stored samples, as truth does.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from bsingest.details import TYPE_2026
from extractors import discover, extractor_for
from extractors.neo.formats import part_name

# neo's own warnings (missing .sev stubs, its deprecations) are not under test here.
pytestmark = [pytest.mark.corpus, pytest.mark.filterwarnings("ignore")]

REPO = Path(__file__).resolve().parents[2]
CORPUS3 = Path(os.environ.get("BSINGEST_CORPUS3", REPO.parent / "shared" / "corpus3"))
FAMILIES = ("AlphaOmega", "Axona", "Blackrock", "Neuralynx", "Plexon", "Spike2", "TDT",
            "Maxwell", "CellExplorer")
SCORED = ("nChannels", "sr", "nSamples", "type", "lsb", "format")

# Without the corpus, nothing to parametrize over, and each test skips through the corpus3
# fixture (not a skip of the whole module, which the default run would show although it
# deselects these tests).
TRUTH: dict[str, Any] = (json.loads((CORPUS3 / "truth.json").read_text())
                         if (CORPUS3 / "truth.json").is_file() else {})
FILES = CORPUS3 / "files"
KEYS = sorted(k for k, v in TRUTH.items() if not k.startswith("_")
              and v.get("_family") in FAMILIES and v.get("_record") == "ExtracellularEphys")


@pytest.fixture(autouse=True)
def _needs_corpus3(corpus3: Path) -> None:
    """Every test here reads corpus3's files (the fixture skips where they are absent)."""


def _current(record_type: str) -> str:
    return TYPE_2026.get(record_type, record_type)


def _records(path: Path) -> list[Any]:
    return extractor_for(path).extract(path)


def _group_files(key: str) -> list[Path]:
    """The per-channel files a grouped truth entry (Neuralynx, Axona LFP) stands for."""
    folder, _, group = key.partition("::")
    entry = TRUTH[key]
    if entry["_family"] == "Axona":
        return [FILES / folder / name for name in entry["_detail"]["files"]]
    files = sorted(p for p in (FILES / folder).iterdir() if p.suffix.lower() == ".ncs")
    if not group:
        return files
    cross = entry["_crosscheck"]["plain .ncs header + record count"]
    return [p for p in files if f"{cross[p.name]['SamplingFrequency']:g}Hz" == group]


def _compare(key: str, tj: dict[str, Any], fields: tuple[str, ...]) -> None:
    entry = TRUTH[key]
    ambiguous = set(entry.get("_ambiguous", ()))
    for field in fields:
        if field in ambiguous or field == "format":
            continue
        if field not in entry:
            assert field not in tj, f"{key}: {field} {tj.get(field)!r} where truth has none"
            continue
        want = entry[field]
        if isinstance(want, float):
            assert tj.get(field) == pytest.approx(want, rel=1e-9), f"{key}: {field}"
        else:
            assert tj.get(field) == want, f"{key}: {field}"


def _record_for(key: str) -> Any:
    path, _, part = key.partition("::")
    target = FILES / path
    if target.is_file():
        (record,) = _records(target)
        return record
    (anchor,) = discover(target).data
    records = {r.part: r for r in _records(anchor)}
    return records.get(part_name(part))


@pytest.mark.parametrize("key", KEYS)
def test_entry_matches_truth(key: str, tmp_path: Path) -> None:
    entry = TRUTH[key]
    family = entry["_family"]
    if family == "CellExplorer":
        _cellexplorer(key, tmp_path)
        return
    if family in ("Neuralynx", "Axona"):
        files = _group_files(key)
        assert len(files) == entry["nChannels"], key
        for f in files:
            (r,) = _records(f)
            assert _current(r.type) == entry["_record"]
            tj = dict(r.type_json)
            assert tj["nChannels"] == 1
            _compare(key, tj, tuple(x for x in SCORED if x != "nChannels"))
            cross = entry.get("_crosscheck", {}).get("plain .ncs header + record count", {})
            if f.name in cross:
                own = cross[f.name]
                assert tj["nSamples"] == own["valid_samples"]
                assert tj["sr"] == own["SamplingFrequency"]
                assert tj["lsb"] == pytest.approx(own["ADBitVolts_uV"], rel=1e-9)
        return
    r = _record_for(key)
    if set(entry.get("_ambiguous", ())) >= {"nChannels", "sr", "nSamples"}:
        return  # not scored (TDT Wav5: neo lists it without samples; we give no record)
    assert r is not None, key
    assert _current(r.type) == entry["_record"]
    _compare(key, dict(r.type_json), SCORED)


def _cellexplorer(key: str, tmp_path: Path) -> None:
    entry = TRUTH[key]
    mat = FILES / key
    shutil.copy(mat, tmp_path / mat.name)
    stem = mat.name.split(".")[0]
    dat = tmp_path / f"{stem}.dat"
    with open(dat, "wb") as fh:
        fh.truncate(entry["nChannels"] * 2 * 1000)
    (r,) = _records(dat)
    assert _current(r.type) == entry["_record"]
    tj = dict(r.type_json)
    assert tj["nSamples"] == 1000
    _compare(key, tj, ("nChannels", "sr", "lsb"))
    lfp = tmp_path / f"{stem}.lfp"
    with open(lfp, "wb") as fh:
        fh.truncate(entry["nChannels"] * 2 * 10)
    (r,) = _records(lfp)
    assert r.type_json["sr"] == entry["_detail"]["lfpSampleRate"]


# --- against neo read directly -------------------------------------------------------------

_DIRECT = {
    "blackrock/ResetCorrect/reset.ns2": ("BlackrockRawIO", {"nsx_to_load": 2,
                                                             "load_nev": False}),
    "spike2/File_spike2_1.smr": ("Spike2RawIO", {}),
    "maxwell/MaxOne_data/Activity_Scan/000008/data.raw.h5": ("MaxwellRawIO", {}),
    "plexon/File_plexon_1.plx": ("PlexonRawIO", {"progress_bar": False}),
}


def _neo_streams(reader: Any) -> dict[str, dict[str, Any]]:
    reader.parse_header()
    h = reader.header
    out = {}
    for si, s in enumerate(h["signal_streams"]):
        ch = h["signal_channels"][h["signal_channels"]["stream_id"] == s["id"]]
        n = sum(reader.get_signal_size(b, seg, si) for b in range(h["nb_block"])
                for seg in range(h["nb_segment"][b]))
        out[str(s["name"])] = {"nChannels": len(ch), "sr": float(ch["sampling_rate"][0]),
                               "nSamples": int(n)}
    return out


def _check_against(neo: dict[str, dict[str, Any]], records: list[Any]) -> None:
    described = {r.part: r.type_json for r in records}
    for name, want in neo.items():
        if want["nSamples"] == 0:
            continue
        tj = described.get(part_name(name), described.get(None))
        assert tj is not None, name
        for k, v in want.items():
            assert tj[k] == pytest.approx(v, rel=1e-12), (name, k)


@pytest.mark.parametrize("key", sorted(_DIRECT))
def test_file_formats_against_neo_directly(key: str) -> None:
    import neo.rawio

    cls, kwargs = _DIRECT[key]
    reader = getattr(neo.rawio, cls)(filename=str(FILES / key), **kwargs)
    streams = _neo_streams(reader)
    records = _records(FILES / key)
    if not streams:
        assert [r.type_json["nChannels"] for r in records] == [0]
        return
    _check_against(streams, records)


def test_folder_formats_against_neo_directly() -> None:
    import neo.rawio

    tdt = FILES / "tdt/dataset_0_single_block"
    tsq = next(tdt.glob("*.tsq"))
    streams = _neo_streams(neo.rawio.TdtRawIO(dirname=str(tsq)))
    (anchor,) = discover(tdt).data
    _check_against(streams, _records(anchor))
    ao = FILES / "alphaomega/mpx_map_version4_mapfile0053"
    streams = _neo_streams(neo.rawio.AlphaOmegaRawIO(dirname=str(ao)))
    (anchor,) = discover(ao).data
    _check_against(streams, _records(anchor))


def test_neuralynx_files_against_neo_directly() -> None:
    import neo.rawio

    for ncs in sorted((FILES / "neuralynx").rglob("*.[nN]cs")):
        reader = neo.rawio.NeuralynxRawIO(dirname=str(ncs.parent), include_filenames=[ncs.name],
                                          strict_gap_mode=False)
        (want,) = _neo_streams(reader).values()
        (r,) = _records(ncs)
        for k, v in want.items():
            assert r.type_json[k] == pytest.approx(v, rel=1e-12), (ncs.name, k)


def test_tdt_empty_store_is_said_not_recorded() -> None:
    (anchor,) = discover(FILES / "tdt/dataset_0_single_block").data
    records = _records(anchor)
    assert "Wav5" not in {r.part for r in records}
    assert any("'Wav5'" in w and "no samples" in w for w in records[0].warnings)
    assert not any("'Wav5'" in w for r in records[1:] for w in r.warnings)  # said once


def test_plexon_header_reader_against_neo_walk() -> None:
    """The .plx is read from its headers (extractors/neo/plexon.py): its tallies against
    neo's walk of every data block, and the record's start time against neo's."""
    import neo.rawio

    from extractors.neo.plexon import summarize

    p = FILES / "plexon/File_plexon_1.plx"
    reader = neo.rawio.PlexonRawIO(filename=str(p), progress_bar=False)
    reader.parse_header()
    ours = summarize(p)
    assert ours is not None, "the header's counts were not trusted"
    (v,) = ours["variants"]
    assert v["n_spike_channels"] == len(reader.header["spike_channels"]) == 4
    assert v["n_event_channels"] == len(reader.header["event_channels"])
    assert len(v["streams"]) == len(reader.header["signal_streams"])
    walked = {int(c): int(sum(reader._data_blocks[1][c]["unit_id"] == 0))
              for c in reader._data_blocks[1]}
    assert walked == {1: 5376, 2: 8956, 3: 6414, 4: 3971}  # TSCounts[ch][0] of the header
    when = reader.raw_annotations["blocks"][0]["rec_datetime"]
    assert v["rec_datetime"] == when.isoformat()
    (r,) = _records(p)
    assert r.type_json["nChannels"] == 0


def test_tdt_start_time_from_the_tsq() -> None:
    """No truth.json entry states it: the .tsq read with numpy (tdt's and neo's layout) and
    the block's name (``...-181123_B24``: 23 Nov 2018) agree with the record."""
    import datetime

    import numpy as np

    tdt = FILES / "tdt/dataset_0_single_block"
    tsq = np.fromfile(next(tdt.glob("*.tsq")), dtype=[
        ("size", "<i4"), ("type", "<i4"), ("code", "S4"), ("channel", "<u2"),
        ("sort", "<u2"), ("timestamp", "<f8"), ("offset", "<u8"), ("format", "<i4"),
        ("frequency", "<f4")])
    assert tsq[1]["code"] == b"\x01"  # the start mark (EVMARK_STARTBLOCK)
    want = datetime.datetime.fromtimestamp(float(tsq[1]["timestamp"]), datetime.timezone.utc)
    (anchor,) = discover(tdt).data
    for r in _records(anchor):
        assert datetime.datetime.fromisoformat(r.start_time) == want
    assert want.date() == datetime.date(2018, 11, 23)


def test_truncated_smr_is_one_line(tmp_path: Path) -> None:
    src = (FILES / "spike2/File_spike2_1.smr").read_bytes()
    for n in (100, 3000, 100_000):
        cut = tmp_path / f"cut{n}.smr"
        cut.write_bytes(src[:n])
        with pytest.raises(Exception) as err:
            _records(cut)
        text = str(err.value)
        assert "truncated" in text and "\n" not in text and "IndexError" not in text, text
