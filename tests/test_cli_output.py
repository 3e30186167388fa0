"""What the command line shows people: where log lines go, reasons, verbosity, escaping."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.server import LocalServer
from tests.fixtures import bsingest_cmd, write_dat, write_neuroscope_xml

DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: alice's
ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"


def make_session(folder: Path, n: int, prefix: str = "rec") -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        write_dat(folder / f"{prefix}{i}.dat", n_channels=2, n_samples=5 + i)
    write_neuroscope_xml(folder / "session.xml", 2)
    return folder


def cli_env(tmp_path: Path, srv: LocalServer | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRAINSTEM", "BSINGEST"))}
    env.update(BSINGEST_JOURNAL=str(tmp_path / "j.sqlite"), XDG_CONFIG_HOME=str(tmp_path / "c"),
               XDG_DATA_HOME=str(tmp_path / "d"))
    if srv is not None:
        env.update(BRAINSTEM_SERVER=srv.url, BRAINSTEM_TOKEN=srv.token)
    return env


def test_log_file_gets_the_lines_and_the_terminal_none_of_them(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 2)
    write_dat(session / "odd.dat", n_channels=2, n_samples=3, extra_bytes=1)
    log = tmp_path / "run.log"
    done = subprocess.run(bsingest_cmd("ingest", "--api", "2023", str(session), "--dataset",
                                       DATASET, "--action", ACTION, "--log", str(log)),
                          env=cli_env(tmp_path, brainstem_server), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    text = log.read_text()
    assert f"{session} rec0.dat: created" in text and f"{session} odd.dat: failed" in text
    # The terminal keeps the table and its summary, but no log line.
    assert "bsingest.ingest" not in done.stderr and "created" not in done.stderr.replace(
        "summary: 2 created", "")
    assert "INFO" not in done.stderr and "WARNING" not in done.stderr
    # -v after the subcommand: the lines on stderr as well.
    verbose = subprocess.run(bsingest_cmd("ingest", "--api", "2023", str(session), "--dataset",
                                          DATASET, "--action", ACTION, "--log", str(log), "-v"),
                             env=cli_env(tmp_path, brainstem_server), capture_output=True,
                             text=True, timeout=300)
    assert f"INFO bsingest.ingest: {session} rec0.dat: unchanged" in verbose.stderr


def test_an_unwritable_log_file_is_a_one_line_usage_error(tmp_path: Path) -> None:
    target = Path("/proc/version") if Path("/proc/version").exists() else tmp_path / "no/x.log"
    result = CliRunner(env=cli_env(tmp_path)).invoke(
        cli, ["ingest", "--api", "2023", str(tmp_path), "--log", str(target)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"bsingest: error: --log {target}: cannot write to it "
        f"({'Invalid argument' if target.name == 'version' else 'No such file or directory'})"]


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_and_quiet_go_before_or_after_the_subcommand(tmp_path: Path, where: str) -> None:
    make_session(tmp_path / "s", 1)
    args = ["extract", str(tmp_path / "s"), "--json"]
    for flag in ("-v", "-vv", "-q"):
        argv = [flag, *args] if where == "before" else [*args, flag]
        result = CliRunner(env=cli_env(tmp_path)).invoke(cli, argv)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)[0]["type_json"]["fileName"] == "rec0.dat"


def test_ingest_and_batch_take_stated_values_for_a_bare_dat(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    write_dat(bare / "amp.dat", n_channels=4, n_samples=50)  # 400 bytes, no XML beside it
    runner = CliRunner(env=cli_env(tmp_path, brainstem_server))
    base = ["ingest", "--api", "2023", str(bare), "--dataset", DATASET, "--action", ACTION,
            "--json"]
    unstated = runner.invoke(cli, base)
    assert unstated.exit_code == 1
    (error,) = [f["error"] for f in json.loads(unstated.stdout)["files"]]
    assert "the channel count (--n-channels) was not stated (or n_channels in a [[files]]" \
        in error
    stated = runner.invoke(cli, [*base, "--n-channels", "4", "--sr", "20000", "--dtype", "int16",
                                 "--lsb", "0.195"])
    assert stated.exit_code == 0, stated.output
    (record,) = [r for r in _records(brainstem_server) if r["type_json"]["fileName"] == "amp.dat"]
    tj = record["type_json"]
    assert (tj["nChannels"], tj["sr"], tj["nSamples"], tj["lsb"]) == (4, 20000, 50, 0.195)

    other = tmp_path / "other"
    other.mkdir()
    write_dat(other / "aux.dat", n_channels=2, n_samples=30)
    (tmp_path / "m.csv").write_text("session,dataset,actions,hardware_device,description\n"
                                    f"other,{DATASET},{ACTION},,\n")
    batched = runner.invoke(cli, ["batch", "--api", "2023", str(tmp_path / "m.csv"), "--jobs", "1",
                                  "--json", "--n-channels", "2", "--sr", "1000", "--type",
                                  "GeneralTimeSeries"])
    assert batched.exit_code == 0, batched.output
    (record,) = [r for r in _records(brainstem_server) if r["type_json"]["fileName"] == "aux.dat"]
    assert record["type"] == "GeneralTimeSeries"
    assert (record["type_json"]["nChannels"], record["type_json"]["nSamples"]) == (2, 30)


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "fast"])
def test_settle_and_rates_must_be_finite_numbers(tmp_path: Path, value: str) -> None:
    runner = CliRunner(env=cli_env(tmp_path))
    for args in (["ingest", "--api", "2023", str(tmp_path), "--settle", value],
                 ["extract", str(tmp_path), "--sr", value]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2
        assert f"{value!r} is not a" in result.stderr
        assert "Traceback" not in result.output


def _records(srv: LocalServer) -> list[dict[str, object]]:
    from bsingest.client import BrainstemClient

    with BrainstemClient(api="2023", server=srv.url, token=srv.token) as c:
        return list(c.experiment_data(DATASET))


def test_a_batch_says_each_failed_files_reason_and_a_shared_one_once(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    one = make_session(tmp_path / "one", 1)
    write_dat(one / "odd.dat", n_channels=2, n_samples=3, extra_bytes=1)
    two = make_session(tmp_path / "two", 1, "two")
    write_dat(two / "odd.dat", n_channels=2, n_samples=4, extra_bytes=3)
    make_session(tmp_path / "three", 1)
    make_session(tmp_path / "four", 1, "four")
    unknown = "00000000-0000-4000-8000-000000000000"
    (tmp_path / "m.csv").write_text(
        "session,dataset,actions,hardware_device,description\n"
        f"one,{DATASET},{ACTION},,\ntwo,{DATASET},{ACTION},,\n"
        f"three,{unknown},{ACTION},,\nfour,{unknown},{ACTION},,\n")
    result = CliRunner(env=cli_env(tmp_path, brainstem_server)).invoke(
        cli, ["batch", "--api", "2023", str(tmp_path / "m.csv"), "--jobs", "1"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, "\n".join(errors)
    # Each file's own reason, where it is; the two sessions' shared one once, counted.
    assert errors[1].startswith("error: one/odd.dat: 13 bytes is not a whole number")
    assert errors[2].startswith("error: two/odd.dat: 19 bytes is not a whole number")
    assert errors[0].startswith("error: nothing uploaded: ") and unknown in errors[0]
    assert errors[0].endswith(" (2 sessions)")


def test_a_skipped_record_names_the_fields_that_differ(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", 1)
    runner = CliRunner(env=cli_env(tmp_path, brainstem_server))
    args = ["ingest", "--api", "2023", str(session), "--dataset", DATASET, "--action", ACTION]
    assert runner.invoke(cli, args).exit_code == 0
    write_dat(session / "rec0.dat", n_channels=2, n_samples=9)  # 5 samples before
    skipped = runner.invoke(cli, [*args, "--description", "new", "--json"])
    (row,) = json.loads(skipped.stdout)["files"]
    assert row["outcome"] == "skipped"
    assert row["error"] == ("exists on the server with other values (description, "
                            "type_json.nSamples); kept (--existing update changes it)")


def test_batch_dry_run_table_has_would_columns(tmp_path: Path,
                                               brainstem_server: LocalServer) -> None:
    make_session(tmp_path / "one", 2)
    (tmp_path / "m.csv").write_text("session,dataset,actions,hardware_device,description\n"
                                    f"one,{DATASET},{ACTION},,\n")
    result = CliRunner(env=cli_env(tmp_path, brainstem_server)).invoke(
        cli, ["batch", "--api", "2023", str(tmp_path / "m.csv"), "--jobs", "1", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "dry run: what would happen"
    assert lines[1].split() == ["session", "dataset", "would-create", "would-update",
                                "unchanged", "would-skip", "failed", "error"]
    assert lines[2].split() == ["one", DATASET[:8], "2"]


@pytest.mark.skipif(os.name == "nt", reason="Windows allows no control characters in names")
def test_control_characters_in_file_names_are_shown_escaped(tmp_path: Path) -> None:
    session = make_session(tmp_path / "s", 0)
    names = ["e\x1b[31mvil.dat", "txt\u202e.dat", "two\nlines.dat"]
    for name in names:
        write_dat(session / name, n_channels=2, n_samples=4)
    (session / "notes\x1b]0;pwned\x07.txt").write_text("x")
    result = CliRunner(env=cli_env(tmp_path)).invoke(cli, ["extract", str(session)])
    assert result.exit_code == 0, result.output
    for raw in ("\x1b", "\u202e", "\x07"):
        assert raw not in result.output
    assert "e\\x1b[31mvil.dat" in result.stdout and "txt\\u202e.dat" in result.stdout
    assert "two\\x0alines.dat" in result.stdout
    assert "notes\\x1b]0;pwned\\x07.txt" in result.stderr
    odd = make_session(tmp_path / "day\x1b[2J3", 0)
    (odd / "bsingest.toml").write_text("files = 5\n")
    refused = CliRunner(env=cli_env(tmp_path)).invoke(cli, ["ingest", str(odd)])
    assert refused.exit_code == 2 and "\x1b" not in refused.stderr
    assert "day\\x1b[2J3" in refused.stderr


def test_json_is_strict_and_utf8_for_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    from bsingest.cli.output import json_text

    assert json.loads(json_text({"sr": float("nan"), "x": [float("-inf"), 1.0]}),
                      parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}")) == {
        "sr": None, "x": [None, 1.0]}
    if not os.path.supports_unicode_filenames and os.name != "nt":
        session = make_session(tmp_path / "s", 0)
        write_dat(Path(os.fsdecode(os.fsencode(session) + b"/bad\xff.dat")), 2, 4)
        done = subprocess.run(bsingest_cmd("extract", str(session), "--json"),
                              env=cli_env(tmp_path), capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout.decode("utf-8"))  # strict UTF-8: raises if not
        assert [r["type_json"]["fileName"] for r in rows] == ["bad\udcff.dat"]
        assert b"\\udcff" in done.stdout


def test_extract_on_an_empty_folder_named_like_a_file_says_it_is_a_folder(
        tmp_path: Path) -> None:
    (tmp_path / "x.dat").mkdir()
    result = CliRunner(env=cli_env(tmp_path)).invoke(cli, ["extract", str(tmp_path / "x.dat")])
    assert result.exit_code == 1
    assert "error: x.dat: is a folder, and no file in it is a recording bsingest reads" \
        in result.stderr


def test_known_companions_are_counted_in_one_line_and_listed_with_verbose(
        tmp_path: Path) -> None:
    session = make_session(tmp_path / "s", 1)
    events = session / "events" / "Neuropix-PXI-100.ProbeA" / "TTL"
    events.mkdir(parents=True)
    for name in ("states.npy", "sample_numbers.npy", "timestamps.npy", "full_words.npy"):
        (events / name).write_bytes(b"\x93NUMPY")
    for name in ("s.spk.1", "s.clu.1", "s.res.1", "s.fet.1"):
        (session / name).write_text("1\n")
    (session / "rec_DLC_resnet50_meta.pickle").write_bytes(b"\x80\x04")
    (session / "notes.txt").write_text("x")
    runner = CliRunner(env=cli_env(tmp_path))
    quiet = runner.invoke(cli, ["extract", str(session)]).stderr.splitlines()
    assert [line for line in quiet if line.startswith("skipped")] == [
        "skipped: notes.txt: no extractor reads this kind of file (.txt)",
        "skipped 9 companion files bsingest does not describe (Open Ephys events and "
        "timestamps: 4, Neuroscope/Klusters spike files: 4, DeepLabCut side files: 1; "
        "-v lists them)"]
    verbose = runner.invoke(cli, ["extract", str(session), "-v"]).stderr
    assert ("skipped: events/Neuropix-PXI-100.ProbeA/TTL/states.npy: no extractor reads this "
            "kind of file (.npy)") in verbose
    assert "companion" not in verbose


def test_status_says_which_server(tmp_path: Path) -> None:
    env = {**cli_env(tmp_path), "BRAINSTEM_SERVER": "https://brainstem.example"}
    result = CliRunner(env=env).invoke(cli, ["status"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == "server: https://brainstem.example"
    demo = CliRunner(env=cli_env(tmp_path)).invoke(cli, ["status"])
    assert demo.stderr.splitlines()[0] == "server: the local demo server (none configured)"
    # --server picks the rows of one server: the line names it, not the demo.
    picked = CliRunner(env=cli_env(tmp_path)).invoke(
        cli, ["status", "--server", "http://127.0.0.1:8000"])
    assert picked.stderr.splitlines()[0] == "server: http://127.0.0.1:8000"
    local = CliRunner(env=env).invoke(cli, ["status", "--server", "local"])
    assert local.stderr.splitlines()[0] == "server: the local demo server"


def test_progress_line_says_something_at_once_and_no_eta_while_totals_grow() -> None:
    from types import SimpleNamespace

    from bsingest.cli.progress import ProgressLine

    line = ProgressLine("batch")  # not a terminal here: the text is computed all the same
    assert line._text() == "batch: reading files, asking the server"
    line("sessions", 2)
    line("planned", 10)
    for _ in range(4):
        line("file", None)
    text = line._text()
    assert text.startswith("batch: 4/10 records (") and text.endswith("/s) - 0/2 sessions")
    assert line._eta() == ""  # one session still to be read: 10 is not the total
    line("planned", 10)
    assert line._eta().startswith("ETA ")
    line("session", SimpleNamespace(error=None, results=[1], session="s1",
                                    counts=lambda: {"created": 10}))
    line.close()


@pytest.mark.parametrize(("text", "message"), [
    ("files = 5\n", "files must be a list of tables ([[files]]), not 5"),
    ("actions = 5\n", "actions must be a string or a list of strings, not 5"),
    ("dataset = ['a', 'b']\n", "dataset must be a string, not a list"),
    ("settle = nan\n", "settle must be a finite number from 0 to 86400, not nan"),
    ("[[files]]\nmatch = 5\n", "files[0]: match must be a string, not 5"),
    ("[[files]]\nmatch = '*.dat'\nn_channels = true\n",
     "files[0]: n_channels must be a whole number from 1 to 2**53, not true"),
    ("[[files]]\nmatch = '*.dat'\nsr = inf\n",
     "files[0]: sr must be a finite number above 0, not inf"),
    ("dataset = " + "[" * 5000 + "]" * 5000 + "\n",
     "not valid TOML: arrays or tables nested too deeply"),
    ("description = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
     "not valid TOML: arrays or tables nested too deeply"),
    ("description = {a = {b = {c = 1}}}\n", "description must be a string, not a table"),
])
def test_wrong_types_in_bsingest_toml_are_one_line_usage_errors(
        tmp_path: Path, text: str, message: str) -> None:
    session = make_session(tmp_path / "s", 1)
    (session / "bsingest.toml").write_text(text)
    result = CliRunner(env=cli_env(tmp_path)).invoke(
        cli, ["ingest", "--api", "2023", str(session), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"bsingest: error: {session / 'bsingest.toml'}: {message}"]


def test_a_duplicate_manifest_row_is_reported_once_as_a_duplicate_row(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    make_session(tmp_path / "one", 2)
    (tmp_path / "m.csv").write_text("session,dataset,actions,hardware_device,description\n"
                                    f"one,{DATASET},{ACTION},,\n./one/,{DATASET},{ACTION},,\n")
    result = CliRunner(env=cli_env(tmp_path, brainstem_server)).invoke(
        cli, ["batch", "--api", "2023", str(tmp_path / "m.csv"), "--jobs", "1"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("error: ")] == [
        "error: one: m.csv:3: a duplicate row: m.csv:2 lists the same session folder"]
    assert sorted(line.split(": ", 1)[1] for line in lines if line.startswith("[")) == [
        "2 created", "failed (see below)"]


def test_batch_table_tells_apart_sessions_that_share_a_folder_name(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    make_session(tmp_path / "rat01" / "day1", 1, "a")
    make_session(tmp_path / "rat02" / "day1", 1, "b")
    (tmp_path / "m.csv").write_text("session,dataset,actions,hardware_device,description\n"
                                    f"rat01/day1,{DATASET},{ACTION},,\n"
                                    f"rat02/day1,{DATASET},{ACTION},,\n")
    result = CliRunner(env=cli_env(tmp_path, brainstem_server)).invoke(
        cli, ["batch", "--api", "2023", str(tmp_path / "m.csv"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == [
        "rat01/day1", "rat02/day1"]


def test_the_settle_timeout_says_how_long_it_waited(tmp_path: Path) -> None:
    from bsingest.errors import BsingestError
    from bsingest.ingest import wait_until_settled

    session = make_session(tmp_path / "s", 1)

    def recording(seconds: float) -> None:  # the recorder never stops writing
        with open(session / "rec0.dat", "ab") as fh:
            fh.write(b"\0\0\0\0")

    with pytest.raises(BsingestError) as exc:
        wait_until_settled(session, 5.0, max_wait=0.0, sleep=recording)
    assert str(exc.value) == (f"{session}: files still changing after 0 s of waiting for 5 s "
                              "without a change; is the recording still running?")


def test_v_shows_our_lines_not_every_http_request() -> None:
    """-v is bsingest's own INFO lines; httpx's line per request waits for -vv."""
    import logging

    from bsingest.cli.output import set_verbosity

    try:
        set_verbosity(1)
        assert logging.getLogger("bsingest.uploader").isEnabledFor(logging.INFO)
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        set_verbosity(2)
        assert logging.getLogger("httpx").isEnabledFor(logging.INFO)
    finally:
        set_verbosity(0)


def test_a_name_that_is_not_utf8_reads_the_same_in_tables_and_messages() -> None:
    from bsingest import journal
    from bsingest.cli.output import shown

    name = "mic\udcff\x1b[31m.wav"  # byte 0xff as os.fsdecode gives it, then an escape
    assert shown(name) == "mic\\xff\\x1b[31m.wav"
    assert shown(journal.shown(name)) == shown(name)  # a journal message shown in a table


def test_the_ingest_table_names_each_part_of_a_file_of_several_records(
        tmp_path: Path, brainstem_server: LocalServer) -> None:
    from tests.samples.edf import ANNOTATIONS, Signal, eeg_signals, write_edf

    session = tmp_path / "eeg"
    # 3 EEG signals of 128 samples and an ECG of 32 per 0.5 s record: 256 Hz and 64 Hz
    write_edf(session / "night.edf", [*eeg_signals(3, 128), Signal("ECG", "mV", -5, 5, -2048,
                                                                   2047, 32), ANNOTATIONS],
              duration=0.5)
    env = {**cli_env(tmp_path, brainstem_server), "BRAINSTEM_TOKEN": brainstem_server.pat}
    result = CliRunner(env=env).invoke(cli, [
        "ingest", "--api", "2026", str(session), "--session", DATASET, "--procedure", ACTION])
    assert result.exit_code == 0, result.output
    rows = [line.split()[0] for line in result.stdout.splitlines() if " created " in line]
    assert sorted(rows) == ["night.edf#256Hz", "night.edf#64Hz"]


def test_axona_tetrode_and_spike_event_files_are_counted_with_the_companions(
        tmp_path: Path) -> None:
    session = tmp_path / "trial"
    session.mkdir()
    (session / "t.set").write_text("trial_date Sunday, 4 Oct 2020\r\n")
    for n in range(1, 5):
        (session / f"t.{n}").write_bytes(b"trial_date Sunday\r\n")
    for name in ("Events.nev", "TT1.ntt", "SE1.nse", "rec.s2rx"):
        (session / name).write_bytes(b"######## Neuralynx")
    runner = CliRunner(env=cli_env(tmp_path))
    quiet = runner.invoke(cli, ["extract", str(session)]).stderr.splitlines()
    assert ("skipped 8 companion files bsingest does not describe (Neuralynx/Blackrock spike "
            "and event files: 3, Spike2 resource files: 1, Axona tetrode spike files: 4; "
            "-v lists them)") in quiet
    verbose = runner.invoke(cli, ["extract", str(session), "-v"]).stderr
    assert "skipped: t.3: an Axona tetrode spike file (spike times and waveforms" in verbose


def test_python_dash_m_bsingest_is_the_command() -> None:
    # Where the script is not on PATH (a service, an unactivated venv) the module runs it.
    import sys

    from bsingest import __version__

    done = subprocess.run([sys.executable, "-m", "bsingest", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith(f"bsingest {__version__} (Python ")
