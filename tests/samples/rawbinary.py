"""Raw binary ephys samples: Neuroscope sessions and stated-parameter files."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures import write_dat, write_neuroscope_xml
from tests.fixtures_cellexplorer import write_session_mat, write_sessioninfo_v73

EXTRACTOR = "rawbinary"


def good(tmp: Path) -> list[Path]:
    dat = write_dat(tmp / "a" / "rec.dat", n_channels=4, n_samples=100)
    write_neuroscope_xml(tmp / "a" / "rec.xml", n_channels=4, groups=[[0, 1], [2, 3]], skip={3})
    lfp = write_dat(tmp / "a" / "rec.lfp", n_channels=4, n_samples=10)
    # CellExplorer / buzcode sessions: the .mat beside the binary, no XML
    ce = write_dat(tmp / "ce" / "s1.dat", n_channels=8, n_samples=50)
    write_session_mat(tmp / "ce" / "s1.session.mat", n_channels=8)
    bz = write_dat(tmp / "bz" / "s2.lfp", n_channels=4, n_samples=20)
    write_sessioninfo_v73(tmp / "bz" / "s2.sessionInfo.mat", n_channels=4)
    return [dat, lfp, ce, bz]


def bad(tmp: Path) -> list[Path]:
    out = []
    empty = tmp / "empty" / "rec.dat"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    write_neuroscope_xml(empty.with_suffix(".xml"), n_channels=4)
    out.append(empty)
    odd = write_dat(tmp / "odd" / "rec.dat", n_channels=4, n_samples=10, extra_bytes=3)
    write_neuroscope_xml(odd.with_suffix(".xml"), n_channels=4)
    out.append(odd)
    nox = write_dat(tmp / "noxml" / "rec.dat", n_channels=4, n_samples=10)
    out.append(nox)
    broken = write_dat(tmp / "broken" / "rec.dat", n_channels=4, n_samples=10)
    broken.with_suffix(".xml").write_text("<parameters><acquisitionSystem><nChannels>4</nCh")
    out.append(broken)
    bomb = write_dat(tmp / "bomb" / "rec.dat", n_channels=4, n_samples=10)
    bomb.with_suffix(".xml").write_text(BILLION_LAUGHS)
    out.append(bomb)
    zero = write_dat(tmp / "zero" / "rec.dat", n_channels=4, n_samples=10)
    write_neuroscope_xml(zero.with_suffix(".xml"), n_channels=0)
    out.append(zero)
    mat = write_dat(tmp / "badmat" / "s.dat", n_channels=4, n_samples=10)
    (tmp / "badmat" / "s.session.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\xff" * 200)
    out.append(mat)
    return out


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<parameters><acquisitionSystem><nChannels>&lol9;</nChannels></acquisitionSystem></parameters>
"""
