"""``bsingest report``: generated sessions that agree give no finding; each defect gives its
finding and nothing else; the page is escaped, self-contained and strict JSON is strict.

Sessions are written here: a Neuroscope ``rec.dat`` (20 kHz) with its ``rec.lfp`` (1250 Hz),
an Intan RHX folder (amplifier, auxiliary, analogin, digitalin, time.dat; 30 kHz) and a
25 fps H.264 video, all 10 s long. The expected values are worked out from what was written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.report import RecordView, ReportSettings, SessionReport, Severity, build_report
from bsingest.report.checks import run_checks
from bsingest.report.html import render
from tests.fixtures import write_dat, write_neuroscope_xml
from tests.fixtures_intan_oe import IntanSpec, write_intan_rhx
from tests.samples.video import encode

SECONDS = 10
DAT_RATE, LFP_RATE, INTAN_RATE, FPS = 20000, 1250, 30000, 25
INTAN = IntanSpec(ports={"A": 2}, n_aux_per_port=3, n_adc=1, n_dig_in=1)
N_AUX = 3


def make_session(root: Path, *, video_seconds: float = SECONDS, lfp_missing: int = 0,
                 aux_missing: int = 0) -> Path:
    """The agreeing session, with the given defect."""
    write_neuroscope_xml(root / "rec.xml", 2, sampling_rate=DAT_RATE, lfp_rate=LFP_RATE)
    write_dat(root / "rec.dat", 2, DAT_RATE * SECONDS)
    write_dat(root / "rec.lfp", 2, LFP_RATE * SECONDS - lfp_missing)
    write_intan_rhx(root / "intan", INTAN, INTAN_RATE * SECONDS, "signal")
    if aux_missing:
        aux = root / "intan" / "auxiliary.dat"
        data = aux.read_bytes()
        aux.write_bytes(data[: len(data) - aux_missing * N_AUX * 2])  # whole frames cut
    encode(root / "behavior.mp4", "libx264", round(FPS * video_seconds), rate=FPS)
    return root


@pytest.fixture(scope="module")
def agreeing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_session(tmp_path_factory.mktemp("agree") / "session")


def test_a_session_that_agrees_gives_no_finding(agreeing: Path) -> None:
    report = build_report(agreeing)
    assert report.findings == []
    assert not report.failed
    durations = {r.file_name: r.duration for r in report.records}
    assert durations == {
        "behavior.mp4": SECONDS, "intan/amplifier.dat": SECONDS, "intan/analogin.dat": SECONDS,
        "intan/auxiliary.dat": SECONDS, "intan/digitalin.dat": SECONDS, "rec.dat": SECONDS,
        "rec.lfp": SECONDS}
    ran = {c.check for c in report.checks}
    assert {"neuroscope", "intan", "durations", "rates", "video"} <= ran


def _only(findings: list, check: str) -> None:  # type: ignore[type-arg]
    assert [f.check for f in findings] == [check], [f.message for f in findings]


def test_a_shortened_video_is_one_duration_warning(tmp_path: Path) -> None:
    report = build_report(make_session(tmp_path / "s", video_seconds=6))
    _only(report.findings, "durations")
    f = report.findings[0]
    assert f.severity is Severity.WARNING
    assert f.records[1] == "behavior.mp4"
    assert f.values["difference (s)"] == pytest.approx(SECONDS - 6)
    assert f.values["allowed (s)"] == pytest.approx(2.0)  # the default: 2 s or 1% of 10 s
    assert "behavior.mp4 lasts 6 s, 4 s less than" in f.message


def test_an_lfp_cut_short_is_one_error_naming_both_files(tmp_path: Path) -> None:
    report = build_report(make_session(tmp_path / "s", lfp_missing=100))
    _only(report.findings, "neuroscope")
    f = report.findings[0]
    assert f.severity is Severity.ERROR
    assert f.records == ("rec.dat", "rec.lfp")
    assert f.values["expected nSamples"] == DAT_RATE * SECONDS * LFP_RATE / DAT_RATE
    assert f.values["rec.lfp"]["nSamples"] == LFP_RATE * SECONDS - 100
    assert "100 samples (0.08 s) missing" in f.message


def test_an_lfp_one_sample_short_is_within_what_downsamplers_do(tmp_path: Path) -> None:
    assert build_report(make_session(tmp_path / "s", lfp_missing=2)).findings == []


def test_a_truncated_intan_aux_file_is_an_error_and_the_extractors_warning(
        tmp_path: Path) -> None:
    report = build_report(make_session(tmp_path / "s", aux_missing=3000))
    assert [(f.severity, f.check) for f in report.findings] == [
        (Severity.ERROR, "intan"), (Severity.WARNING, "extractor")]
    error, warning = report.findings
    assert error.records == ("intan/amplifier.dat", "intan/auxiliary.dat")
    assert error.values["intan/auxiliary.dat"]["nSamples"] == INTAN_RATE * SECONDS - 3000
    assert error.values["allowed difference (samples)"] == 0
    assert warning.records == ("intan/auxiliary.dat",)
    assert "truncated" in warning.message


def test_the_tolerance_comes_from_bsingest_toml(tmp_path: Path) -> None:
    session = make_session(tmp_path / "s", video_seconds=8.4)  # 1.6 s short: within 2 s
    assert build_report(session).findings == []
    (session / "bsingest.toml").write_text("[report]\nduration_tolerance = 1\n")
    report = build_report(session)
    _only(report.findings, "durations")
    assert report.findings[0].values["allowed (s)"] == pytest.approx(1.0)
    (session / "bsingest.toml").write_text("[report]\nduration_tolerance = 'a lot'\n")
    result = CliRunner().invoke(cli, ["report", str(session)])
    assert result.exit_code == 2
    assert "bsingest.toml: [report] duration_tolerance = 'a lot': expected a number" in \
        result.output
    assert "Traceback" not in result.output


def test_an_intan_rate_the_system_cannot_produce_is_an_error(tmp_path: Path) -> None:
    spec = IntanSpec(ports={"A": 1}, n_aux_per_port=0, n_adc=0, n_dig_in=0, sample_rate=24000)
    write_intan_rhx(tmp_path / "s", spec, 24000, "signal")
    report = build_report(tmp_path / "s")
    _only(report.findings, "rates")
    assert report.findings[0].severity is Severity.ERROR
    assert "24,000 Hz" in report.findings[0].message


def test_gaps_in_a_variable_rate_video_are_dropped_frames(tmp_path: Path) -> None:
    from fractions import Fraction

    # 25 fps declared, every fifth frame missing: 80 frames whose timestamps span ~3.96 s.
    pts = [i * 40 for i in range(100) if i % 5 != 4]
    encode(tmp_path / "s" / "cam.mkv", "libx264", len(pts), rate=FPS, pts=pts,
           time_base=Fraction(1, 1000))
    report = build_report(tmp_path / "s")
    _only(report.findings, "video")
    f = report.findings[0]
    assert f.severity is Severity.WARNING
    assert f.values["frames"] == 80
    assert f.values["expected frames"] == pytest.approx(99, abs=0.5)  # 25 fps x ~3.96 s
    assert "about 19 frames dropped" in f.message


# --- start times: set directly on the records, as extractors that read them will ----------


def _record(name: str, seconds: float, start: str | None, rtype: str = "Extracellular",
            extractor: str = "rawbinary") -> RecordView:
    return RecordView(
        file_name=name, path=name, type=rtype, format="DAT", extractor=extractor, n_channels=1,
        rate=1000.0, count=int(seconds * 1000), count_key="nSamples", duration=seconds,
        duration_detail="", start_time=start, start_detail="header: test" if start else "",
        warnings=(), provenance={}, type_json={})


def test_a_modality_that_started_late_is_a_start_warning() -> None:
    records = [_record("a.dat", 600, "2024-03-01T10:00:00"),
               _record("cam.mp4", 600, "2024-03-01T10:00:30", "BehavioralTracking", "video"),
               _record("mic.wav", 600, None, "Audio", "audio")]
    findings, _ = run_checks(records, {}, ReportSettings())
    assert [(f.check, f.records) for f in findings] == [("starts", ("a.dat", "cam.mp4"))]
    assert findings[0].values["difference (s)"] == 30
    report = SessionReport("s", records, findings)
    assert report.offsets() == [0.0, 30.0, None]
    page = render([report])
    # the record with no stated start is hatched (aligned at 0, and marked so)
    assert re.search(r'class="bar t-audio hatched"[^>]*data-record="mic.wav"', page)
    assert re.search(r'class="bar t-extracellularephys solid"[^>]*data-record="a.dat"', page)
    assert "0 = 2024-03-01 10:00:00" in page


def test_a_start_without_utc_offset_is_placed_in_local_time_but_not_compared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        records = [_record("a.dat", 60, "2024-03-01T10:00:00+01:00"),  # 09:00 UTC
                   _record("b.dat", 60, "2024-03-01T10:00:01")]  # local time here: UTC
        report = SessionReport("s", records)
        assert report.offsets() == [0.0, 3601.0]
        findings, _ = run_checks(records, {}, ReportSettings())
        assert findings == []  # the rig's time zone is a guess: no warning on it
        assert "taken as this computer's local time (UTC+00:00)" in render([report])
    finally:
        monkeypatch.undo()
        time.tzset()


# --- output ------------------------------------------------------------------------------

NASTY = "<script>alert(1)<\\script>\x1b[31m\u202e.wav"


def test_the_page_escapes_file_names_and_loads_nothing(tmp_path: Path) -> None:
    session = tmp_path / "s"
    write_neuroscope_xml(session / "rec.xml", 2)
    write_dat(session / "rec.dat", 2, 2000)
    (session / NASTY).write_bytes(b"not audio")  # unreadable: an error finding naming it
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", str(session), "-o", str(out), "--strict"])
    assert result.exit_code == 1
    page = out.read_text("utf-8")
    assert "<script>alert" not in page and "\x1b" not in page and "\u202e" not in page
    assert "&lt;script&gt;alert(1)&lt;\\script&gt;\\x1b[31m\\u202e.wav" in page
    assert page.count("<script") == 1  # our own measuring script, allowed by its hash
    assert "default-src &#x27;none&#x27;" in page or "default-src 'none'" in page
    assert not re.search(r"\s(?:src|href|action|srcset|poster)=", page)
    assert "url(" not in page and "@import" not in page and "//" not in _tags_only(page)


def _tags_only(page: str) -> str:
    """The page without text content and without the CSS/JS bodies: attributes only."""
    page = re.sub(r"<(style|script)>.*?</\1>", "", page, flags=re.S)
    return " ".join(re.findall(r"<[^>]*>", page))


def test_json_is_strict_and_strict_exits_1_only_on_errors(agreeing: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["report", str(agreeing), "--json", "--strict"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert data["findings"] == [] and len(data["records"]) == 7
    assert {r["fileName"]: r["duration"] for r in data["records"]}["rec.lfp"] == SECONDS

    bad = make_session(tmp_path / "bad", lfp_missing=100)
    result = runner.invoke(cli, ["report", str(bad), "--json"])
    assert result.exit_code == 0  # findings are not failures, unless --strict
    data = json.loads(result.stdout)
    assert [(f["severity"], f["check"]) for f in data["findings"]] == [("error", "neuroscope")]
    assert runner.invoke(cli, ["report", str(bad), "--strict"]).exit_code == 1


def test_batch_page_has_a_row_per_session_each_expanding(agreeing: Path, tmp_path: Path) -> None:
    from bsingest.report import write_html

    bad = make_session(tmp_path / "bad", lfp_missing=100)
    out = tmp_path / "batch.html"
    reports = write_html(out, [agreeing, bad, tmp_path / "gone"])
    page = out.read_text("utf-8")
    assert page.count('<details class="batch-row"') == 3
    assert [r.counts()["error"] for r in reports] == [0, 1, 1]
    assert reports[2].error == f"{tmp_path / 'gone'}: not a folder"
    assert page.count("data-bar ") == 14  # the two sessions' 7 records each


# --- Open Ephys: a probe's AP and LFP streams, and a NI-DAQ on its own clock ---------------


def _oe_session(root: Path, *, lfp: int = 100, daq: int = 1200) -> Path:
    from tests.fixtures_intan_oe import OebStream, write_oebin_recording

    rec = root / "Record Node 101" / "experiment1" / "recording1"
    streams = [OebStream("Neuropix-PXI-100.ProbeA-AP", 30000.0, n_neural=4),
               OebStream("Neuropix-PXI-100.ProbeA-LFP", 2500.0, n_neural=4),
               OebStream("NI-DAQmx-101.PXIe-6341", 30000.0, n_neural=0, n_adc=2,
                         adc_prefix="AI")]
    _, lf, ni = write_oebin_recording(rec, streams, 1200)  # 40 ms at 30 kHz
    for dat, n, n_channels, rate in ((lf, lfp, 4, 2500.0), (ni, daq, 2, 30000.0)):
        dat.write_bytes(dat.read_bytes()[: n * n_channels * 2])  # the LFP is AP/12: 100
        np.save(dat.parent / "sample_numbers.npy", np.arange(n, dtype=np.int64))
        np.save(dat.parent / "timestamps.npy", np.arange(n, dtype=np.float64) / rate)
    return root


def test_open_ephys_streams_of_one_recording(tmp_path: Path) -> None:
    assert build_report(_oe_session(tmp_path / "ok")).findings == []

    short_lfp = build_report(_oe_session(tmp_path / "lfp", lfp=90)).findings
    _only(short_lfp, "openephys")
    assert short_lfp[0].severity is Severity.ERROR  # one probe clock: guaranteed
    assert short_lfp[0].records[-1].endswith("ProbeA-LFP/continuous.dat")
    assert short_lfp[0].values["expected nSamples"] == 100

    short_daq = build_report(_oe_session(tmp_path / "daq", daq=1100)).findings
    _only(short_daq, "openephys")
    assert short_daq[0].severity is Severity.WARNING  # its own clock: not guaranteed
    assert short_daq[0].values["difference (s)"] == pytest.approx(100 / 30000)


# --- SpikeGLX: AP and LF of one probe, and the NI-DAQ of the same run ----------------------


def _sglx_session(root: Path, *, lf: int = 100, ap_rate: float = 30000.0) -> Path:
    from tests.samples.spikeglx import write_spikeglx

    probe = root / "r_g0" / "r_g0_imec0"
    write_spikeglx(probe / "r_g0_t0.imec0.ap.bin", n_samples=1200, rate=ap_rate)  # 40 ms
    write_spikeglx(probe / "r_g0_t0.imec0.lf.bin", n_samples=lf, kind="lf", rate=2500.0)
    write_spikeglx(root / "r_g0" / "r_g0_t0.nidq.bin", n_samples=1000, probe="nidq",
                   rate=25000.0)
    return root


def test_spikeglx_streams_of_one_run(tmp_path: Path) -> None:
    assert build_report(_sglx_session(tmp_path / "ok")).findings == []

    short_lf = build_report(_sglx_session(tmp_path / "lf", lf=97)).findings
    _only(short_lf, "spikeglx")
    assert short_lf[0].severity is Severity.ERROR
    assert short_lf[0].records == ("r_g0/r_g0_imec0/r_g0_t0.imec0.ap.bin",
                                   "r_g0/r_g0_imec0/r_g0_t0.imec0.lf.bin")
    assert short_lf[0].values["expected nSamples"] == 100
    assert build_report(_sglx_session(tmp_path / "lf2", lf=98)).findings == []  # 2 samples

    slow = build_report(_sglx_session(tmp_path / "rate", ap_rate=25000.0)).findings
    assert [(f.severity, f.check) for f in slow] == [
        (Severity.ERROR, "rates"), (Severity.ERROR, "spikeglx"), (Severity.WARNING, "spikeglx")]


def test_a_page_that_cannot_be_written_is_one_line(agreeing: Path, tmp_path: Path) -> None:
    target = tmp_path / "no such folder" / "r.html"
    result = CliRunner().invoke(cli, ["report", str(agreeing), "-o", str(target)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"bsingest: error: {target}: cannot write the report: No such file or directory")


def test_intan_files_saved_one_after_another_are_one_modality(tmp_path: Path) -> None:
    """Intan starts a new file every few minutes; the name stamps say where each begins."""
    import wave

    from tests.fixtures_intan_oe import write_intan_traditional

    spec = IntanSpec(ports={"A": 1}, n_aux_per_port=0, n_adc=0, n_dig_in=0, sample_rate=1000)
    write_intan_traditional(tmp_path / "s" / "rec_231117_052500.rhd", spec, 500)  # 64 s
    write_intan_traditional(tmp_path / "s" / "rec_231117_052604.rhd", spec, 250)  # 32 s
    with wave.open(str(tmp_path / "s" / "mic.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000 * 96)
    report = build_report(tmp_path / "s")
    assert report.findings == []
    assert [c.subject for c in report.checks if c.check == "durations"] == ["2 modalities"]

    (tmp_path / "s" / "rec_231117_052604.rhd").rename(tmp_path / "s" / "rec_231117_052704.rhd")
    late = build_report(tmp_path / "s").findings  # a minute's gap: two recordings
    assert {(f.check, f.records[-1]) for f in late} == {
        ("durations", "rec_231117_052500.rhd#amplifier"),
        ("durations", "rec_231117_052704.rhd#amplifier"),
        ("starts", "rec_231117_052704.rhd#amplifier")}


def test_a_session_settings_file_that_cannot_be_read_is_said_not_skipped(tmp_path: Path) -> None:
    """A bsingest.toml that is a folder (or a link to nowhere): its [report] thresholds
    were silently dropped; the report names the file in one line, as ingest does."""
    from bsingest.errors import UsageError
    from bsingest.report import report_settings

    session = tmp_path / "day1"
    (session / "bsingest.toml").mkdir(parents=True)
    with pytest.raises(UsageError, match=r"bsingest\.toml: cannot read"):
        report_settings(session)
