"""Issue 25: deciding whose a file is reads at most its name, its size and a few bytes of
its head, for every family.

Every family's compliance samples (``tests/samples``: good and bad files) are written into
one tree, and every file is then grown by a hole of 4 MiB: a claim that reads a file to
its end, or to a point its header names, reads past the head of the grown file. Every file
is claimed in a fresh process, with ``open`` and ``mmap`` watched (``tests/claimprobe.py``);
the rule and its few exceptions are ``tests/claim_rules.py``. The real corpora are checked
the same way in ``tests/corpus/test_claims_corpus.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import extractors
from tests.claim_rules import HEAD, readers_imported, reads_past_the_head
from tests.claimprobe import probe
from tests.samples import sample_modules

GROWN = 4 * 2**20


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("samples")
    for name, samples in sorted(sample_modules().items()):
        samples.good(root / name / "good")
        samples.bad(root / name / "bad")
    for folder, _, files in os.walk(root):
        for f in files:
            p = Path(folder, f)
            if p.is_file() and not p.is_symlink():
                os.truncate(p, p.stat().st_size + GROWN)
    return probe(root)


def test_every_family_is_asked(report: dict[str, Any]) -> None:
    asked = {who.partition(".")[0] for who, *_ in report["reads"]} | {
        who.partition(".")[0] for who in report["imports"]}
    claimed = {name for names in report["claimed"].values() for name in names}
    # Each family claims one of its samples at least (grown, so some no longer pass).
    assert {cls.name for cls in extractors.EXTRACTORS} - claimed - asked == set()
    assert len(report["claimed"]) > 300


def test_claims_read_only_the_head_of_a_file(report: dict[str, Any]) -> None:
    assert report["reads"], "nothing was read: the probe did not watch the claims"
    past = reads_past_the_head(report)
    assert past == [], f"claims that read past the first {HEAD} bytes: {past[:10]}"


def test_claims_import_no_reader_library(report: dict[str, Any]) -> None:
    assert readers_imported(report) == {}


def test_the_probe_sees_a_claim_that_reads_a_whole_file(tmp_path: Path) -> None:
    # The check itself: a claim reading a whole grown file shows as such.
    from tests.samples.dlc import write_h5_table

    h5 = write_h5_table(tmp_path / "tracking.h5", 5)  # asked of DeepLabCut's second look
    os.truncate(h5, h5.stat().st_size + GROWN)
    found = probe(tmp_path)
    reads = [r for r in found["reads"] if r[0] == "sleap_analysis.claim_content"]
    assert reads and max(end for *_, end in reads) == h5.stat().st_size
    assert reads_past_the_head(found) == []  # the SLEAP tail probe, an allowed exception
    assert any(r[0] == "dlc.claim_content" for r in found["reads"])
