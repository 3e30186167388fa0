"""Open Ephys legacy samples: .continuous channel files of two recordings."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_intan_oe import write_continuous

EXTRACTOR = "openephys_legacy"


def good(tmp: Path) -> list[Path]:
    ch0 = write_continuous(tmp / "s" / "100_CH1.continuous", 3)
    write_continuous(tmp / "s" / "100_CH2.continuous", 3, channel="CH2")
    second = write_continuous(tmp / "s" / "100_CH1_2.continuous", 2)
    aux = write_continuous(tmp / "s" / "100_AUX1.continuous", 3, bit_volts=0.0000374,
                           channel="AUX1")
    lone = write_continuous(tmp / "s" / "odd name.continuous", 1)
    return [ch0, second, aux, lone]


def bad(tmp: Path) -> list[Path]:
    short = tmp / "short" / "100_CH1.continuous"
    short.parent.mkdir(parents=True)
    short.write_bytes(write_continuous(tmp / "tmp" / "x.continuous", 0).read_bytes()[:500])
    norate = write_continuous(tmp / "norate" / "100_CH1.continuous", 1)
    norate.write_bytes(norate.read_bytes().replace(b"sampleRate = 30000;", b"sampleRate = inf  ;"))
    badcount = write_continuous(tmp / "count" / "100_CH1.continuous", 1)
    raw = bytearray(badcount.read_bytes())
    raw[1024 + 8:1024 + 10] = (7).to_bytes(2, "little")
    badcount.write_bytes(bytes(raw))
    return [short, norate, badcount]
