"""ThorImage samples: ``Experiment.xml`` with a ``.raw`` file; bad: a ``.raw`` whose size
is not a whole number of frames, and an ``Experiment.xml`` with an entity."""

from __future__ import annotations

from pathlib import Path

from tests.imaging_fixtures import write_thorimage

EXTRACTOR = "thorimage"


def good(tmp: Path) -> list[Path]:
    return [write_thorimage(tmp / "raw", raw_frames=6, timepoints=3, zsteps=2),
            write_thorimage(tmp / "xml_only", timepoints=4)]


def bad(tmp: Path) -> list[Path]:
    odd = write_thorimage(tmp / "odd", raw_frames=6, extra_bytes=100)
    entity = tmp / "entity" / "Experiment.xml"
    entity.parent.mkdir(parents=True, exist_ok=True)
    entity.write_text('<?xml version="1.0"?>\n<!DOCTYPE ThorImageExperiment '
                      '[<!ENTITY a "aaaa">]>\n<ThorImageExperiment>&a;</ThorImageExperiment>\n')
    return [odd, entity]
