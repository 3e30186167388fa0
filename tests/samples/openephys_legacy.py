"""Open Ephys legacy samples: .continuous channel groups of two recordings."""

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
    cut = write_continuous(tmp / "cut" / "100_CH1.continuous", 3, extra_bytes=100)
    uneven = write_continuous(tmp / "uneven" / "100_CH1.continuous", 3)
    write_continuous(tmp / "uneven" / "100_CH2.continuous", 4)
    member = write_continuous(tmp / "member" / "100_CH2.continuous", 1)
    write_continuous(tmp / "member" / "100_CH1.continuous", 1)
    short = tmp / "short" / "100_CH1.continuous"
    short.parent.mkdir(parents=True)
    short.write_bytes(write_continuous(tmp / "tmp" / "x.continuous", 0).read_bytes()[:500])
    return [cut, uneven, member, short]
