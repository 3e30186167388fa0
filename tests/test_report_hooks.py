"""``--report-html`` on ``ingest`` and ``batch``: the page of ``bsingest report`` beside the run.

Run against the local server (a real HTTP server on loopback, the current API), the
sessions generated as in ``test_report``.
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from bsingest.cli.main import cli
from bsingest.server import LocalServer
from tests.test_report import make_session

SESSION = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: rat01-2024-03-01
OTHER_SESSION = "a2987175-c93b-47a6-9a35-6aa48c3e2640"  # seed: rat01-2024-03-02
PROCEDURE = "087b71c4-6785-437c-b8ef-e35a82a8463e"


def _env(srv: LocalServer, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM")}
    env.update(BRAINSTEM_SERVER=srv.url, BRAINSTEM_TOKEN=srv.pat,
               BSINGEST_JOURNAL=str(tmp_path / "j.sqlite"), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_DATA_HOME=str(tmp_path / "data"))
    return env


def test_ingest_writes_the_sessions_page(tmp_path: Path, brainstem_server: LocalServer) -> None:
    session = make_session(tmp_path / "s", lfp_missing=100)
    (session / "bsingest.toml").write_text("[report]\nduration_tolerance = 5\n")  # ingest too
    page = tmp_path / "report.html"
    result = CliRunner(env=_env(brainstem_server, tmp_path)).invoke(
        cli, ["ingest", str(session), "--session", SESSION, "--procedure", PROCEDURE,
              "--report-html", str(page)])
    assert result.exit_code == 0, result.output  # a finding is not a failed upload
    text = page.read_text("utf-8")
    assert text.count(" data-bar ") == 7
    assert "Neuroscope .dat and its .lfp/.eeg" in text and "✖ 1 error" in text
    assert "durations may differ by 5 s or 1%" in text
    assert not list(session.glob("*.html"))  # nothing written into the session


def test_batch_writes_one_page_with_a_row_per_session(tmp_path: Path,
                                                      brainstem_server: LocalServer) -> None:
    make_session(tmp_path / "a")
    make_session(tmp_path / "b", video_seconds=6)
    manifest = tmp_path / "sessions.csv"
    manifest.write_text("folder,session,procedures,equipment,notes\n"
                        f"a,{SESSION},{PROCEDURE},,\nb,{OTHER_SESSION},{PROCEDURE},,\n")
    page = tmp_path / "batch.html"
    result = CliRunner(env=_env(brainstem_server, tmp_path)).invoke(
        cli, ["batch", str(manifest), "--report-html", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text("utf-8")
    assert text.count('<details class="batch-row"') == 2
    assert text.count(" data-bar ") == 14
    assert "behavior.mp4 lasts 6 s, 4 s less than" in text
