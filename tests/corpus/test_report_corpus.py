"""``bsingest report`` over the corpus: each dataset folder taken as a session.

No folder may get an error finding it does not deserve. The one that does:

- ``spikeglx/meta_only_ibl``: ``sample3A_g0_t0.imec.ap.meta`` and ``.imec.lf.meta`` name one
  run and one probe, but describe different recordings (fileCreateTime 2019-05-07 and
  2018-10-10; fileTimeSecs 1568.5 and 3601.1, which truth.json repeats): LF is not AP/12.

Warnings they get, deserved: the SpikeGLX stubs whose ``.bin`` the neo maintainers cut
(truth.json's first ambiguity) carry the extractor's truncation warning, and where a run's
nidq was left whole its imec stream is shorter (Noise4Sam_g0, NP2_with_sync); folders of
unrelated files (nwb, video, wav/*, openephys_legacy's multiple starts) differ in duration.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bsingest.report import Severity, build_report

pytestmark = pytest.mark.corpus

# Families whose folder holds unrelated files side by side: the folder is the session.
FLAT = ("abf", "nwb", "video", "winwcp")
EXPECTED_ERRORS = {
    "spikeglx/meta_only_ibl": [
        ("spikeglx", ("sample3A_g0_t0.imec.ap.bin", "sample3A_g0_t0.imec.lf.bin"))],
}
TRUNCATED_STUBS = {  # folder -> records with the extractor's fileSizeBytes warning
    "spikeglx/NP2_with_sync": {"all_chan_g0_imec0/all_chan_g0_t0.imec0.ap.bin",
                               "all_chan_g0_t0.nidq.bin"},
    "spikeglx/Noise4Sam_g0": {"Noise4Sam_g0_imec0/Noise4Sam_g0_t0.imec0.ap.bin"},
    "spikeglx/NP2_no_sync": {"all_chan_g0_t0.exported.imec0.ap.bin"},
    "spikeglx/TEST_20210920_0_g0": {"TEST_20210920_0_g0_t0.imec0.ap.bin"},
}


def _folders(corpus: Path) -> list[str]:
    out = []
    for family in sorted(p for p in corpus.iterdir() if p.is_dir()):
        if family.name in FLAT:
            out.append(family.name)
        else:
            out += [f"{family.name}/{d.name}" for d in sorted(family.iterdir()) if d.is_dir()]
    return out


def test_no_folder_gets_an_error_it_does_not_deserve(corpus: Path) -> None:
    folders = _folders(corpus)
    assert len(folders) > 20
    got = {}
    for folder in folders:
        report = build_report(corpus / folder)
        assert report.error is None, folder
        assert report.records, folder
        errors = [(f.check, f.records) for f in report.findings
                  if f.severity is Severity.ERROR]
        if errors:
            got[folder] = errors
        if folder in TRUNCATED_STUBS:
            warned = {f.records[-1] for f in report.findings
                      if f.check == "extractor" and "fileSizeBytes" in f.message}
            assert warned == TRUNCATED_STUBS[folder], folder
    assert got == EXPECTED_ERRORS


def test_streams_of_real_recordings_agree(corpus: Path) -> None:
    """Intan RHX folders, Open Ephys multi-stream recordings, SpikeGLX AP/LF/nidq of one
    run (the IBL sample3B metas, 824 s): each check ran and found nothing.

    The Open Ephys folder holds three experiments, 17 and 33 minutes apart: their start
    warnings are deserved; the streams within each recording agree."""
    for folder, check in [("intan/intan_fps_test_231117_052500", "intan"),
                          ("intan/intan_fpc_test_231117_052630", "intan"),
                          ("openephys_binary/v0.6.x_neuropixels_multiexp_multistream",
                           "openephys")]:
        report = build_report(corpus / folder)
        runs = [c for c in report.checks if c.check == check]
        assert runs and all(c.findings == 0 for c in runs), folder
        assert {f.check for f in report.findings if f.severity is not Severity.INFO} <= \
            {"starts"}, folder
    ibl = build_report(corpus / "spikeglx/meta_only_ibl")
    sample3b = [c for c in ibl.checks if c.check == "spikeglx" and "sample3B_g0_t0" in c.subject]
    assert len(sample3b) == 1 and sample3b[0].findings == 0
