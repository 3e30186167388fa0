"""A Neuralynx ``.ncs`` cut inside its header, or a header without records: refused in one
line, not a record of 0 channels "of spikes only" (found in the issue 22 acceptance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsingest.errors import ExtractionError
from extractors.neo import NeoExtractor
from tests.samples.neo import NCS_HEADER, NCS_RECORD, write_ncs


@pytest.mark.parametrize("keep", [5011, NCS_HEADER, NCS_HEADER + NCS_RECORD - 1])
def test_an_ncs_without_a_whole_record_is_refused(tmp_path: Path, keep: int) -> None:
    p = write_ncs(tmp_path / "CSC1.ncs")
    p.write_bytes(p.read_bytes()[:keep])
    with pytest.raises(ExtractionError) as err:
        NeoExtractor().extract(p)
    text = str(err.value)
    assert text.startswith("CSC1.ncs: ") and "\n" not in text
    if keep < NCS_HEADER:
        assert text == (f"CSC1.ncs: truncated: {keep} bytes, cut inside the {NCS_HEADER}-byte "
                        "text header of a .ncs file")
    elif keep == NCS_HEADER:
        assert "a header and no data records" in text
    # a partial record: neo's own one line (its memory map does not fit the file)


def test_an_ncs_with_records_is_still_described(tmp_path: Path) -> None:
    p = write_ncs(tmp_path / "CSC2.ncs", valid=(512, 100))
    (r,) = NeoExtractor().extract(p)
    assert (r.type_json["nChannels"], r.type_json["nSamples"]) == (1, 612)
