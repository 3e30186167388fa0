"""CellExplorer session.mat and buzcode sessionInfo.mat sidecars of raw binary files:
values checked against scipy / h5py read directly and against file-size arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsingest.errors import SidecarError
from extractors import discover, extractor_for
from tests.fixtures import write_dat, write_neuroscope_xml
from tests.fixtures_cellexplorer import write_session_mat, write_sessioninfo_v73


def _extract(p: Path, **stated):
    ex = extractor_for(p)
    assert ex.name == "rawbinary"
    (r,) = ex.extract(p, **stated)
    return r


def test_cellexplorer_session_mat_against_scipy(tmp_path: Path) -> None:
    import scipy.io

    dat = write_dat(tmp_path / "s.dat", n_channels=8, n_samples=123)
    mat = write_session_mat(tmp_path / "s.session.mat", n_channels=8, sr=30000, lsb=0.195,
                            groups=((1, 2, 3, 4), (5, 6, 7, 8)), bad=(2, 7))
    r = _extract(dat)
    ex = scipy.io.loadmat(mat, squeeze_me=True, struct_as_record=False)["session"].extracellular
    tj = r.type_json
    assert tj["nChannels"] == ex.nChannels == 8
    assert tj["sr"] == ex.sr and tj["lsb"] == pytest.approx(ex.leastSignificantBit)
    assert tj["nSamples"] == dat.stat().st_size // (8 * 2) == 123
    groups = [[int(c) - 1 for c in g] for g in ex.electrodeGroups.channels]
    assert [g["channels"] for g in tj["electrodeGroups"]] == groups
    assert tj["channelTags"] == [{"tag": "Bad", "channels": [1, 6]}]
    assert "session.extracellular.nChannels" in r.provenance["nChannels"].detail
    assert discover(tmp_path).sidecars == {mat: dat}


def test_lfp_runs_at_the_lfp_rate(tmp_path: Path) -> None:
    lfp = write_dat(tmp_path / "s.lfp", n_channels=8, n_samples=10)
    write_session_mat(tmp_path / "s.session.mat", n_channels=8, sr_lfp=2500)
    assert _extract(lfp).type_json["sr"] == 2500


def test_buzcode_sessioninfo_v73_against_h5py(tmp_path: Path) -> None:
    import h5py

    dat = write_dat(tmp_path / "b.dat", n_channels=4, n_samples=40)
    mat = write_sessioninfo_v73(tmp_path / "b.sessionInfo.mat", n_channels=4, wideband=20000,
                                n_bits=16, voltage_range=20, amplification=1000)
    r = _extract(dat)
    with h5py.File(mat, "r") as f:
        s = f["sessionInfo"]
        vr, amp, bits = (float(s[k][0, 0]) for k in ("VoltageRange", "Amplification", "nBits"))
        assert r.type_json["sr"] == float(s["rates"]["wideband"][0, 0])
    assert r.type_json["lsb"] == pytest.approx(vr / 2**bits / amp * 1e6)
    assert r.type_json["nSamples"] == 40 and r.type_json["nChannels"] == 4


def test_the_xml_wins_and_stated_values_win(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "s.dat", n_channels=4, n_samples=10)
    write_session_mat(tmp_path / "s.session.mat", n_channels=8, groups=((1, 2, 3, 4),))
    assert _extract(dat, n_channels=4).type_json["nChannels"] == 4
    write_neuroscope_xml(tmp_path / "s.xml", n_channels=4)
    r = _extract(dat)
    assert "s.xml" in r.provenance["nChannels"].detail


def test_a_single_session_mat_of_another_name_serves_the_folder(tmp_path: Path) -> None:
    dat = write_dat(tmp_path / "amplifier.dat", n_channels=8, n_samples=5)
    write_session_mat(tmp_path / "mouse1_day2.session.mat", n_channels=8)
    assert _extract(dat).type_json["nChannels"] == 8


def test_damaged_and_foreign_mats_are_one_line(tmp_path: Path) -> None:
    import scipy.io

    dat = write_dat(tmp_path / "a" / "s.dat", n_channels=4, n_samples=10)
    (tmp_path / "a" / "s.session.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\0" * 10)
    with pytest.raises(SidecarError) as err:
        _extract(dat)
    assert str(err.value).startswith("s.dat: s.session.mat") and "\n" not in str(err.value)
    other = write_dat(tmp_path / "b" / "s.dat", n_channels=4, n_samples=10)
    scipy.io.savemat(str(tmp_path / "b" / "s.session.mat"), {"x": 1.0})
    with pytest.raises(SidecarError, match="no 'session' variable"):
        _extract(other)
    wrong = write_dat(tmp_path / "c" / "s.dat", n_channels=4, n_samples=10)
    write_session_mat(tmp_path / "c" / "s.session.mat", n_channels=4,
                      groups=((1, 2, 3, 9),))
    with pytest.raises(SidecarError, match="nChannels is 4"):
        _extract(wrong)


def test_buzcode_sessioninfo_v7_against_scipy(tmp_path: Path) -> None:
    import scipy.io

    from tests.fixtures_cellexplorer import write_sessioninfo_v7

    dat = write_dat(tmp_path / "z.dat", n_channels=6, n_samples=50)
    mat = write_sessioninfo_v7(tmp_path / "z.sessionInfo.mat", n_channels=6, n_bits=16,
                               voltage_range=20, amplification=400)
    s = scipy.io.loadmat(mat, squeeze_me=True, struct_as_record=False)["sessionInfo"]
    tj = _extract(dat).type_json
    assert tj["nChannels"] == s.nChannels == 6 and tj["sr"] == s.rates.wideband
    assert tj["lsb"] == pytest.approx(s.VoltageRange / 2**s.nBits / s.Amplification * 1e6)
    assert [g["channels"] for g in tj["electrodeGroups"]] == [
        [int(c) for c in g.Channels] for g in s.AnatGrps]
    skipped = sorted(int(c) for g in s.AnatGrps for c, k in zip(g.Channels, g.Skip,
                                                                 strict=True) if k == 1)
    assert tj["channelTags"] == [{"tag": "bad", "channels": skipped}] and skipped == [1, 5]


def test_session_mat_is_read_without_scipy(tmp_path: Path, monkeypatch) -> None:
    # scipy is no runtime dependency: the v5/v7 reader is extractors/_matv5.py
    import sys

    from extractors import cellexplorer

    mat = write_session_mat(tmp_path / "s.session.mat", n_channels=8, sr=30000)
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    values = cellexplorer._read(str(mat))  # the worker's function, run here
    assert values["value"]["extracellular"]["nChannels"] == 8
    assert values["value"]["extracellular"]["electrodeGroups"]["channels"] == [
        [1, 2, 3, 4], [5, 6, 7, 8]]
