"""Intan samples: traditional .rhd/.rhs files and RHX folders (per signal type, per channel)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_intan_oe import IntanSpec, write_intan_rhx, write_intan_traditional

EXTRACTOR = "intan"


def good(tmp: Path) -> list[Path]:
    rhd = write_intan_traditional(tmp / "trad" / "rec_231117.rhd", IntanSpec(), n_blocks=2)
    rhs = write_intan_traditional(tmp / "trad" / "stim_231117.rhs",
                                  IntanSpec(kind="rhs", dc_amp_saved=True), n_blocks=1)
    old = write_intan_traditional(tmp / "trad" / "old.rhd",
                                  IntanSpec(version=(1, 1), n_temp=2, eval_board_mode=0),
                                  n_blocks=2)
    fps = write_intan_rhx(tmp / "fps", IntanSpec(), 300, "signal")
    fpc = write_intan_rhx(tmp / "fpc", IntanSpec(), 300, "channel")
    return [rhd, rhs, old, fps / "amplifier.dat", fps / "auxiliary.dat", fps / "digitalin.dat",
            fpc / "amp-A-000.dat", fpc / "aux-A-AUX1.dat"]


def bad(tmp: Path) -> list[Path]:
    out = [write_intan_traditional(tmp / "cut" / "rec.rhd", IntanSpec(), n_blocks=2,
                                   extra_bytes=100)]
    short = tmp / "short" / "rec.rhd"
    short.parent.mkdir(parents=True)
    short.write_bytes(IntanSpec().header()[:40])
    out.append(short)
    odd = write_intan_rhx(tmp / "odd", IntanSpec(), 300, "signal") / "amplifier.dat"
    with open(odd, "ab") as fh:
        fh.write(b"\x00" * 3)
    out.append(odd)
    uneven = write_intan_rhx(tmp / "uneven", IntanSpec(), 300, "channel")
    with open(uneven / "amp-B-001.dat", "ab") as fh:
        fh.write(b"\x00" * 3)
    out.append(uneven / "amp-B-001.dat")
    lonely = tmp / "lonely" / "info.rhd"
    lonely.parent.mkdir(parents=True)
    lonely.write_bytes(IntanSpec().header())
    out.append(lonely)
    return out
