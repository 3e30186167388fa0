"""Issue 25 on the real corpora: deciding whose each file is reads at most its name, its
size and a few bytes of its head, and imports no reader library (the rule and its
exceptions: ``tests/claim_rules.py``; the same check over every family's samples, grown:
``tests/test_claims_read_heads.py``)."""

from __future__ import annotations

from pathlib import Path

from tests.claim_rules import readers_imported, reads_past_the_head
from tests.claimprobe import probe


def test_claims_of_the_corpus_read_heads_only(corpus: Path) -> None:
    report = probe(corpus)
    assert len(report["claimed"]) > 300
    assert reads_past_the_head(report) == []
    assert readers_imported(report) == {}


def test_claims_of_corpus3_read_heads_only(corpus3: Path) -> None:
    report = probe(corpus3)
    assert len(report["claimed"]) > 100
    assert reads_past_the_head(report) == []
    assert readers_imported(report) == {}
