"""One bad part never sinks its file (``Extractor.extract``, ``PartFailure``): the rule in
the base, for every family whose files hold several records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bsingest.errors import ExtractionError
from extractors.base import Extraction, Extractor, Fields, PartFailure


class _Parts(Extractor):
    """A family whose file holds a part per (name, sr) it is given; None: a refused part."""

    name = "parts"
    suffixes = (".parts",)
    record_types = ("GeneralTimeSeries",)

    def __init__(self, parts: list[tuple[str | None, float | None]]) -> None:
        self.parts = parts

    def _extract(self, path: Path, stated: Mapping[str, Any]
                 ) -> list[Extraction | PartFailure]:
        out: list[Extraction | PartFailure] = []
        for part, sr in self.parts:
            def build(part: str | None = part, sr: float | None = sr) -> Extraction:
                if sr is None:
                    raise ExtractionError(path, "its header is damaged")
                f = Fields()
                f.header("sr", sr, f"header of {part}")
                f.header("nSamples", 10, "header")
                return self.result(path, "GeneralTimeSeries", f, part=part)
            out.append(self.part(part or path.name, build))
        return out


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "rec.parts"
    p.write_bytes(b"x")
    return p


def test_implausible_and_refused_parts_are_one_line_each_on_the_others(path: Path) -> None:
    records = _Parts([("a", 1000.0), ("b", 1e-7), ("c", None), ("d", 30.0)]).extract(path)
    assert [r.part for r in records] == ["a", "d"]
    for r in records:
        lines = [w for w in r.warnings if "not described" in w]
        assert lines == [
            "c not described: its header is damaged",
            "b not described: sr 1e-07 Hz is outside the plausible 0.001 to 1e+07 Hz of "
            "GeneralTimeSeries (header: header of b)"]
        json.dumps(r.to_json())


def test_a_file_without_a_good_part_is_still_an_error(path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"^rec\.parts: none of its 2 parts can be "
                                              r"described: b: its header is damaged; a: sr "):
        _Parts([("a", 1e-9), ("b", None)]).extract(path)
    with pytest.raises(ExtractionError, match=r"^rec\.parts: a: sr 1e-09 Hz is outside"):
        _Parts([("a", 1e-9)]).extract(path)


def test_a_file_that_is_one_record_keeps_its_message(path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"^rec\.parts: sr 1e-09 Hz is outside the "
                                              r"plausible .* \(header: header of None\)$"):
        _Parts([(None, 1e-9)]).extract(path)


def test_the_report_shows_a_dropped_part_as_a_warning() -> None:
    from bsingest.report.checks import DATA_SIGNS

    line = PartFailure("acquisition/pos", "sr 1.1e-06 Hz is outside ...").warning()
    assert any(s in line.lower() for s in DATA_SIGNS)


def test_a_refused_file_named_as_its_own_part_is_not_named_twice(path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"^rec\.parts: its header is damaged$"):
        _Parts([(None, None)]).extract(path)
