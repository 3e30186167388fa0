"""The README's first command and the examples run offline, as they are."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.fixtures import bsingest_cmd

REPO = Path(__file__).resolve().parents[1]
SESSION = REPO / "examples" / "session"


def _env(tmp_path: Path) -> dict[str, str]:
    """A fresh user: no server configured, data and config in tmp_path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BRAINSTEM", "BSINGEST"))}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               HOME=str(tmp_path / "home"))
    return env


def _bsingest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(bsingest_cmd(*args), env=env,
                          capture_output=True, text=True, timeout=120)


def test_readme_main_job_creates_then_changes_nothing(tmp_path: Path) -> None:
    env = _env(tmp_path)
    first = _bsingest("ingest", str(SESSION), "--json", env=env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    data_files = sorted(p.name for p in SESSION.iterdir()
                        if p.suffix in (".dat", ".wav", ".mp4"))
    assert report["server"] == "local"
    assert sorted(f["path"] for f in report["files"]) == data_files
    assert {f["outcome"] for f in report["files"]} == {"created"}
    second = _bsingest("ingest", str(SESSION), env=env)
    assert second.returncode == 0, second.stderr
    assert f"summary: {len(data_files)} unchanged" in second.stderr
    assert "To upload to brainstem.org instead" in second.stderr
    assert (tmp_path / "data" / "bsingest" / "local-server.sqlite3").is_file()


def test_extract_on_the_example_session_shows_all_three_types(tmp_path: Path) -> None:
    out = _bsingest("extract", "--json", str(SESSION), env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert sorted(e["type"] for e in json.loads(out.stdout)) == \
        ["Audio", "BehavioralTracking", "ExtracellularEphys"]


def test_python_example_runs_offline(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(REPO / "examples" / "python_example.py")],
                         env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "exit code for a script: 0" in out.stdout


def test_rig_hook_ingests_a_session(tmp_path: Path) -> None:
    session = tmp_path / "session"
    shutil.copytree(SESSION, session)
    env = _env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["BSINGEST_HOOK_LOG"] = str(tmp_path / "hook.log")
    env["BSINGEST_SETTLE"] = "0.2"
    hook = subprocess.run(["bash", str(REPO / "examples" / "rig_hook.sh"), str(session)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert hook.returncode == 0, hook.stdout + hook.stderr
    assert f"bsingest: {session} ingested" in hook.stdout
    assert "ingest" in (tmp_path / "hook.log").read_text()


def test_dry_run_on_the_local_demo_writes_nothing_anywhere(tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = _bsingest("ingest", str(SESSION), "--dry-run", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert {f["outcome"] for f in json.loads(out.stdout)["files"]} == {"would-create"}
    assert not (tmp_path / "data").exists()  # no demo database, no journal, no lock
    _bsingest("ingest", str(SESSION), env=env)
    db = tmp_path / "data" / "bsingest" / "local-server.sqlite3"
    before = db.read_bytes()
    again = _bsingest("ingest", str(SESSION), "--dry-run", "--json", env=env)
    assert {f["outcome"] for f in json.loads(again.stdout)["files"]} == {"unchanged"}
    assert db.read_bytes() == before
