"""Blackrock NSx 2.2/2.3 cut short: the samples on disk, not the packet header's count
(neo 0.14.6 takes the header's; found in the issue 22 acceptance)."""

from __future__ import annotations

from pathlib import Path

from extractors.neo import NeoExtractor
from tests.samples.neo import write_nsx22


def test_nsx22_cut_short_counts_the_samples_on_disk(tmp_path: Path) -> None:
    p = write_nsx22(tmp_path / "cut.ns5", n_channels=3, segments=(40, 25), timestamps=(0, 300))
    whole = p.read_bytes()
    headers = 314 + 66 * 3
    second = headers + 9 + 40 * 3 * 2  # where the second packet starts
    p.write_bytes(whole[:second + 9 + 10 * 3 * 2 + 4])  # 10 frames and 4 bytes of it
    (r,) = NeoExtractor().extract(p)
    assert r.type_json["nSamples"] == 40 + 10  # file-size arithmetic, not neo's 65
    assert any(w.startswith("truncated: a data packet promises 25 samples but the file "
                            "holds 10") for w in r.warnings)
    intact = write_nsx22(tmp_path / "whole.ns5", n_channels=3, segments=(40, 25),
                         timestamps=(0, 300))
    (r,) = NeoExtractor().extract(intact)
    assert r.type_json["nSamples"] == 65
    assert not any(w.startswith("truncated") for w in r.warnings)
