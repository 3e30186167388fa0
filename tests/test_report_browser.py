"""The report page in a real browser: headless Chromium (Debian's ``chromium`` package).

What is checked is what renders, not what the HTML says: the page's own script writes each
timeline bar's measured width into the DOM, which ``--dump-dom`` returns; one bar per
record, widths in proportion to the durations. Requests: Chromium runs with a proxy that
records every connection it is asked to make; a page that loads something (the control)
shows up there, ours must not. Chromium's own background calls to Google services go
through the proxy too and are not the page's: they are set aside by host.
"""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bsingest.report import write_html
from tests.test_report import SECONDS, make_session

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")

# Chromium's own services (time, component updates, sign-in), not requests of the page.
_BROWSER_HOSTS = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com",
                  "googleusercontent.com")
WIDTH, HEIGHT = 1280, 1700


class _Recorder:
    """A 'proxy' on loopback that accepts every connection and records its first line."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(4096)
                except OSError:
                    self.lines.append("(no request line)")
                    continue
                # A connection closed without a byte asked for nothing: Chromium opens
                # spare connections to its proxy ahead of need (seen once in a CI run on
                # 2 busy cores as an empty "request").
                if data:
                    self.lines.append(data.split(b"\r\n", 1)[0].decode("latin-1"))

    def page_requests(self) -> list[str]:
        return [line for line in self.lines
                if not any(f"{h}:" in line or f"{h}/" in line for h in _BROWSER_HOSTS)]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def recorder() -> Iterator[_Recorder]:
    r = _Recorder()
    yield r
    r.close()


def _chromium(page: Path, profile: Path, proxy: _Recorder, *args: str) -> str:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", "--disable-background-networking",
           f"--user-data-dir={profile}", f"--proxy-server=http://127.0.0.1:{proxy.port}",
           "--proxy-bypass-list=<-loopback>", f"--window-size={WIDTH},{HEIGHT}",
           "--virtual-time-budget=2000", *args, page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Bars(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bars: list[dict[str, str | None]] = []
        self.root: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.root = a
        if "data-bar" in a:
            self.bars.append(a)


def test_the_rendered_timeline_has_a_bar_per_record_in_proportion(
        tmp_path: Path, recorder: _Recorder) -> None:
    session = make_session(tmp_path / "session", video_seconds=6)
    page = tmp_path / "report.html"
    (report,) = write_html(page, [session])
    dom = _chromium(page, tmp_path / "profile", recorder, "--dump-dom")
    parsed = _Bars()
    parsed.feed(dom)
    assert parsed.root.get("data-measured") == "yes"  # the script ran: the CSP allows it
    bars = {b["data-record"]: b for b in parsed.bars}
    assert len(parsed.bars) == len(report.records) == 7
    assert set(bars) == {r.file_name for r in report.records}
    durations = {"behavior.mp4": 6.0, **{r.file_name: float(SECONDS) for r in report.records
                                          if r.file_name != "behavior.mp4"}}
    for name, bar in bars.items():
        width, track = float(bar["data-measured-width"] or 0), float(
            bar["data-measured-track"] or 0)
        assert track > 400
        # The axis spans the longest record, 10 s: a bar is duration/10 s of its track.
        assert width == pytest.approx(track * durations[name] / SECONDS, abs=1.0), name
    video, dat = (float(bars[n]["data-measured-width"] or 0) for n in ("behavior.mp4", "rec.dat"))
    assert video / dat == pytest.approx(0.6, abs=0.01)
    assert recorder.page_requests() == []


def test_screenshot_and_no_request_leaves_the_page(tmp_path: Path, recorder: _Recorder) -> None:
    session = make_session(tmp_path / "session", lfp_missing=100)
    page = tmp_path / "report.html"
    write_html(page, [session])
    shot = tmp_path / "report.png"
    _chromium(page, tmp_path / "profile", recorder, f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (WIDTH, HEIGHT)
    assert len(data) > 20_000  # a page was drawn, not a blank window
    assert recorder.page_requests() == []

    # The control: a page that does load something is seen by the recorder.
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="http://report-test.invalid/x.png"></body></html>')
    _chromium(control, tmp_path / "profile2", recorder, "--dump-dom")
    assert any("report-test.invalid" in line for line in recorder.page_requests())
