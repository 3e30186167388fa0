"""Bruker PrairieView samples: a T-series XML with its ``.ome.tif`` frames (one absent),
a multi-plane series; bad: an XML with an entity declaration, and one with no sequence."""

from __future__ import annotations

from pathlib import Path

from tests.imaging_fixtures import write_bruker

EXTRACTOR = "bruker"


def good(tmp: Path) -> list[Path]:
    return [write_bruker(tmp / "t", frames=4, write_tifs=3, wavelength=920),
            write_bruker(tmp / "z", "ZSeries-002", frames=2, planes=3, z_step=2.5)]


def bad(tmp: Path) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    entity = tmp / "TSeries-entity.xml"
    entity.write_text('<?xml version="1.0"?>\n<!DOCTYPE PVScan [<!ENTITY a "aaaaaaaaaa">]>\n'
                      '<PVScan version="5.6" date="2/20/2023 3:58:25 PM">&a;</PVScan>\n')
    empty = tmp / "TSeries-empty.xml"
    empty.write_text('<?xml version="1.0"?>\n<PVScan version="5.6" date="x">'
                     '<PVStateShard /></PVScan>\n')
    return [entity, empty]
