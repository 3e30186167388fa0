"""``bsingest watch`` as a rig runs it: a real watcher process, a real writer process, the
local server over HTTP; both file events and polling. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import wave
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bsingest.server import Faults, LocalServer
from bsingest.watch import WatchOptions, check_match, needs_polling, session_of, signature
from tests.fixtures import bsingest_cmd

SESSION = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: rat01-2024-03-01
SESSION_NAME = "rat01-2024-03-01"
PROCEDURE = "087b71c4-6785-437c-b8ef-e35a82a8463e"
SETTLE = 1.5
MODES = {"events": [], "polling": ["--poll", "0.3"]}

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kill -9 and SIGTERM: POSIX")


def write_wav(path: Path, seconds: float = 0.2, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(seconds * rate))


#: Grows a session: each step writes half a WAV file, waits, writes the rest, waits.
WRITER = textwrap.dedent("""
    import sys, time, wave
    from pathlib import Path
    folder, steps, pause = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(steps):
        path = folder / f"part{i}.wav"
        w = wave.open(str(path), "wb")
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
        w.writeframes(b"\\x01\\x00" * 800)
        w._file.flush()
        time.sleep(pause)
        w.writeframes(b"\\x01\\x00" * 800)
        w.close()
        time.sleep(pause)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def records(srv_url: str, token: str) -> list[str]:
    """The fileNames of the seed session's Data Acquisition records, read without bsingest."""
    resp = httpx.get(f"{srv_url}/api/private/modules/dataacquisition/",
                     params={"limit": "100", "filter{session}": SESSION},
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    rows = body.get("data_acquisitions", body.get("dataacquisition"))
    return [r.get("details", {}).get("fileName") or r.get("fileName") for r in rows]


def ours(names: list[str]) -> list[str]:
    return sorted(n for n in names if n and n.endswith(".wav") and n.startswith("part"))


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


class Rig:
    """A root folder, a watcher process and its environment."""

    def __init__(self, tmp: Path, url: str, token: str, mode: str) -> None:
        self.tmp, self.url, self.token, self.mode = tmp, url, token, mode
        self.root = tmp / "rig"
        self.root.mkdir(exist_ok=True)
        self.session = self.root / SESSION_NAME
        self.log = tmp / "watch.log"
        self.env = {**os.environ, "BRAINSTEM_SERVER": url, "BRAINSTEM_TOKEN": token,
                    "BSINGEST_JOURNAL": str(tmp / "journal" / "j.sqlite"),
                    "XDG_CONFIG_HOME": str(tmp / "config"),
                    "XDG_DATA_HOME": str(tmp / "data")}
        self.proc: subprocess.Popen[str] | None = None

    def start(self, ids: tuple[str, ...] = ("--session-by-name", "--procedure", PROCEDURE)
              ) -> None:
        cmd = bsingest_cmd("watch", str(self.root), *ids, "--settle", str(SETTLE),
                           "--retry-max", "1", "--log", str(self.log), *MODES[self.mode])
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        wait_for(lambda: self.log.is_file() and "watching" in self.log.read_text(), 20,
                 "the watcher started")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        assert self.proc is not None
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err

    def records(self) -> list[str]:
        return ours(records(self.url, self.token))


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Rig, LocalServer]]:
    with LocalServer(db_path=tmp_path / "s.sqlite3") as srv:
        r = Rig(tmp_path, srv.url, srv.pat, getattr(request, "param", "events"))
        yield r, srv
        if r.proc is not None and r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait(timeout=10)


@pytest.mark.parametrize("rig", list(MODES), indirect=True)
def test_a_growing_session_is_ingested_once_settled_and_later_files_once(rig: Any) -> None:
    r, _ = rig
    r.start()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(r.session), "4", "0.4"])
    while writer.poll() is None:  # the recording is running: nothing may be ingested yet
        assert r.records() == []
        time.sleep(0.1)
    writer.wait(timeout=30)
    ended = time.monotonic()
    last_write = max(p.stat().st_mtime for p in r.session.iterdir())
    seen = r.records()
    if time.monotonic() - ended < SETTLE * 0.5 and time.time() - last_write < SETTLE * 0.5:
        assert seen == []  # not settled yet
    wait_for(lambda: len(r.records()) == 4, 30, "the 4 files as records")
    assert r.records() == [f"part{i}.wav" for i in range(4)]
    write_wav(r.session / "part9.wav")  # added to a session already ingested
    wait_for(lambda: len(r.records()) == 5, 30, "the added file as one record")
    time.sleep(SETTLE + 0.5)  # time for a (wrong) second ingest to show
    assert r.records() == [*(f"part{i}.wav" for i in range(4)), "part9.wav"]
    code, out, err = r.stop()
    assert code == 0
    log = r.log.read_text()
    assert "stopped" in log and "rat01-2024-03-01: settled" in log
    assert out == "" and "bsingest.watch" not in err  # --log: only to the file


@pytest.mark.parametrize("rig", ["events"], indirect=True)
def test_kill_9_mid_upload_and_restart_give_every_record_once(rig: Any) -> None:
    r, srv = rig
    r.session.mkdir()
    names = [f"part{i:02}.wav" for i in range(30)]
    for name in names:
        write_wav(r.session / name)
    srv.set_faults(Faults(latency=0.5))  # slow enough to be killed in the middle
    r.start()
    wait_for(lambda: len(r.records()) >= 1, 30, "a first record")
    code, _, _ = r.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert len(r.records()) < len(names)  # killed mid-way
    srv.set_faults(Faults())
    r.start()  # catches up: the folder is there, unchanged, half uploaded
    wait_for(lambda: len(r.records()) >= len(names), 30, "every record")
    assert Counter(records(r.url, r.token)) == Counter(
        {n: 1 for n in records(r.url, r.token)})  # nothing twice on the server
    assert r.records() == names
    assert r.stop()[0] == 0


@pytest.mark.parametrize("rig", ["polling"], indirect=True)
def test_a_restart_ingests_what_arrived_while_none_ran_and_redoes_nothing(rig: Any) -> None:
    r, srv = rig
    r.session.mkdir()
    write_wav(r.session / "part0.wav")
    r.start()
    wait_for(lambda: r.records() == ["part0.wav"], 30, "the first record")
    assert r.stop()[0] == 0
    write_wav(r.session / "part1.wav")  # while no watcher runs
    posts = sum(h.method == "POST" for h in srv.hits)
    r.start()
    wait_for(lambda: r.records() == ["part0.wav", "part1.wav"], 30, "the file added meanwhile")
    assert r.stop()[0] == 0
    assert sum(h.method == "POST" for h in srv.hits) == posts + 1


def test_server_down_then_up_everything_arrives_without_a_restart(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "s.sqlite3"
    with LocalServer(db_path=db, port=port) as srv:  # seeds the database, tells the tokens
        url, token = srv.url, srv.pat
    r = Rig(tmp_path, url, token, "polling")
    try:
        r.session.mkdir()
        write_wav(r.session / "part0.wav")
        r.start()  # the server is down
        wait_for(lambda: "unreachable" in r.log.read_text(), 30, "the watcher saw it down")
        time.sleep(1.0)
        with LocalServer(db_path=db, port=port):
            wait_for(lambda: r.records() == ["part0.wav"], 30, "the record after the server "
                     "came back")
            write_wav(r.session / "part1.wav")
            wait_for(lambda: r.records() == ["part0.wav", "part1.wav"], 30, "the second")
            assert r.stop()[0] == 0
        cpu = r.log.read_text().count("retrying in")
        assert 1 <= cpu < 30  # backed off, no busy loop
    finally:
        if r.proc is not None and r.proc.poll() is None:
            r.proc.kill()


def test_server_goes_down_after_staging_and_queued_records_are_pushed(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "s.sqlite3"
    srv = LocalServer(db_path=db, port=port).__enter__()
    r = Rig(tmp_path, srv.url, srv.pat, "events")
    try:
        r.start(("--api", "2026"))  # IDs from the session's bsingest.toml: staged, then sent
        r.session.mkdir()
        (r.session / "bsingest.toml").write_text(f'session = "{SESSION}"\n'
                                                 f'procedures = ["{PROCEDURE}"]\n')
        srv.__exit__(None, None, None)  # down before the session settles
        for i in range(3):
            write_wav(r.session / f"part{i}.wav")
        wait_for(lambda: "queued" in r.log.read_text() or "unreachable" in r.log.read_text(),
                 30, "the records queued")
        with LocalServer(db_path=db, port=port):
            wait_for(lambda: r.records() == ["part0.wav", "part1.wav", "part2.wav"], 30,
                     "the queued records")
            assert r.stop()[0] == 0
    finally:
        if r.proc is not None and r.proc.poll() is None:
            r.proc.kill()


# -- the parts, without processes ------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_due_after_the_settle_time_or_soon_after_its_marker(tmp_path: Path
                                                                          ) -> None:
    from bsingest.watch import MARKER_SETTLE, Watcher

    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "rec.dat").write_bytes(b"1")
    clock = Clock()
    ingested: list[str] = []

    def fake_ingest(folder: Path) -> Any:
        ingested.append(folder.name)
        return None

    w = Watcher(WatchOptions(root, settle=60.0, markers=("*.done",)), clock=clock,
                ingest_session=fake_ingest, push=lambda: [], state_dir=tmp_path / "state")
    w.scan()
    clock.now += 59
    assert w.due() == []
    (root / "a" / "rec.dat").write_bytes(b"12")  # still recording: the wait starts again
    w.scan()
    clock.now += 59
    assert w.due() == []
    clock.now += 1.5
    assert w.due() == ["a"]
    w.ingest("a")
    assert ingested == ["a"] and not w.pending
    (root / "b").mkdir()
    (root / "b" / "rec.dat").write_bytes(b"1")
    (root / "b" / "rec.done").write_bytes(b"")
    w.scan()
    clock.now += MARKER_SETTLE
    assert w.due() == ["b"]  # the marker: no minute's wait
    w.scan()  # nothing changed: nothing to do again
    assert w.due() == ["b"] and "a" not in w.pending
    (root / "c").mkdir()  # its own marker, in its bsingest.toml
    (root / "c" / "bsingest.toml").write_text('[watch]\nmarkers = ["*.finished"]\n')
    (root / "c" / "rec.dat").write_bytes(b"1")
    w.scan()
    clock.now += MARKER_SETTLE
    assert "c" not in w.due()
    (root / "c" / "run.finished").write_bytes(b"")
    w.scan()
    clock.now += MARKER_SETTLE
    assert "c" in w.due()
    from bsingest.sessionconfig import load_options

    assert load_options(root / "c").container is None  # ingest reads the file too, [watch] aside
    w2 = Watcher(WatchOptions(root, settle=60.0), clock=clock, ingest_session=fake_ingest,
                 push=lambda: [], state_dir=tmp_path / "state")
    w2.scan()  # a restart: 'a' was done, unchanged
    assert set(w2.pending) == {"b", "c"}


def test_signature_changes_with_any_file_and_knows_spikeglx_marks(tmp_path: Path) -> None:
    opts = WatchOptions(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "run_g0_t0.imec0.ap.bin").write_bytes(b"\0" * 10)
    first = signature(tmp_path, opts)
    assert first is not None and first.files == 1 and not first.marked
    (tmp_path / "a" / "run_g0_t0.imec0.ap.meta").write_text("fileSizeBytes=10\n")
    second = signature(tmp_path, opts)
    assert second is not None and second.marked and second.digest != first.digest
    assert signature(tmp_path, WatchOptions(tmp_path, spikeglx=False)).marked is False  # type: ignore[union-attr]
    (tmp_path / "done.flag").write_text("")
    assert signature(tmp_path, WatchOptions(tmp_path, spikeglx=False,
                                            markers=("*.flag",))).marked is True  # type: ignore[union-attr]
    assert signature(tmp_path / "gone", opts) is None


def test_events_map_to_their_session_folder(tmp_path: Path) -> None:
    steps = check_match("rat*/2024-*")
    assert session_of(tmp_path, steps, tmp_path / "rat1" / "2024-01" / "x" / "a.dat") == \
        tmp_path / "rat1" / "2024-01"
    assert session_of(tmp_path, steps, tmp_path / "rat1") is None
    assert session_of(tmp_path, steps, tmp_path / "mouse" / "2024-01" / "a.dat") is None
    assert session_of(tmp_path, steps, tmp_path.parent / "elsewhere") is None
    for bad in ("**", "../x", "/abs"):
        with pytest.raises(Exception, match="--match"):
            check_match(bad)


def test_network_file_systems_are_polled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nnas:/rigs {tmp_path}/nfs nfs4 rw 0 0\n"
                      f"//nas/rig2 {tmp_path}/smb cifs rw 0 0\n")
    real_open = open

    def fake_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        return real_open(mounts if path == "/proc/mounts" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    for sub in ("nfs", "smb", "local"):
        (tmp_path / sub).mkdir()
    assert "nfs4" in (needs_polling(tmp_path / "nfs") or "")
    assert "cifs" in (needs_polling(tmp_path / "smb") or "")
    assert needs_polling(tmp_path / "local") is None


def test_bad_match_and_options_are_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "BRAINSTEM_SERVER": "http://127.0.0.1:9"}
    for args, needle in ((["--match", "**"], "--match"),
                         (["--session-by-name", "--dataset-by-name"], "give one"),
                         (["--create-session"], "--create-session")):
        proc = subprocess.run(bsingest_cmd("watch", str(tmp_path), *args), env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert needle in proc.stderr and "Traceback" not in proc.stderr
