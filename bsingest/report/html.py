"""The report as one self-contained HTML page.

Everything is inline (CSS, the timeline as positioned boxes, one small script): no
request leaves the page, which a Content-Security-Policy of ``default-src 'none'`` makes
sure of, so it works from ``file://``, on a wiki and as an e-mail attachment. Light and
dark follow ``prefers-color-scheme``; severity is a word and a symbol, never colour alone;
a record whose start no file states is hatched and says so. Every text from a file or a
path is escaped, control characters shown as ``\\xNN``.

The script only measures: it writes each timeline bar's rendered width into
``data-measured-width`` (tests read it from the DOM; the page works without it, as mail
readers that drop scripts show it).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import math
import re
from collections.abc import Sequence

from bsingest import __version__
from bsingest.recordtypes import RECORD_TYPES, lookup

from .checks import CHECKS
from .model import Finding, RecordView, SessionReport, Severity, mixed_zones, visible
from .model import seconds_text as _secs

__all__ = ["render"]

_SCRIPT = ("document.querySelectorAll('[data-bar]').forEach(function(b){"
           "var r=b.getBoundingClientRect(),t=b.parentNode.getBoundingClientRect();"
           "b.setAttribute('data-measured-width',r.width.toFixed(3));"
           "b.setAttribute('data-measured-track',t.width.toFixed(3));});"
           "document.documentElement.setAttribute('data-measured','yes');")
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
CSP = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'; "
       "img-src data:; form-action 'none'; base-uri 'none'")

_SYMBOL = {Severity.ERROR: "✖", Severity.WARNING: "▲", Severity.INFO: "ℹ"}
#: Timeline groups in the record-type table's order, each in the table's colour.
_TYPE_ORDER = tuple(RECORD_TYPES)
_TYPE_CSS = "".join(f".bar.t-{name.lower()}{{background-color:{t.colour}}}"
                    for name, t in RECORD_TYPES.items())


def render(reports: Sequence[SessionReport], *, batch: bool = False) -> str:
    """The page: one session's view, or (``batch``) a row per session, each expanding."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if batch:
        title = f"bsingest batch report: {len(reports)} sessions"
        body = _batch(reports)
    else:
        title = f"bsingest report: {reports[0].name}"
        body = _session(reports[0], 1, "s0")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"color-scheme\" content=\"light dark\">\n"
        f"<meta name=\"generator\" content=\"bsingest {_e(__version__)}\">\n"
        f"<title>{_e(title)}</title>\n<style>{_CSS}{_TYPE_CSS}</style>\n</head>\n<body>\n"
        "<main>\n"
        f"{body}\n</main>\n<footer>Made by bsingest {_e(__version__)} on {_e(now)} from the "
        "files' headers and sidecars (no data read). Severity: ✖ error: the data on disk is "
        "wrong or incomplete; ▲ warning: worth a look; ℹ info: a note.</footer>\n"
        f"<script>{_SCRIPT}</script>\n</body>\n</html>\n")


# --- batch -------------------------------------------------------------------------------


def _batch(reports: Sequence[SessionReport]) -> str:
    totals = {s: sum(r.counts()[s.value] for r in reports) for s in Severity}
    n_records = sum(len(r.records) for r in reports)
    rows = []
    for i, r in enumerate(reports):
        c = r.counts()
        status = (f"{_SYMBOL[Severity.ERROR]} errors" if c["error"] else
                  f"{_SYMBOL[Severity.WARNING]} warnings" if c["warning"] else "✔ ok")
        rows.append(
            f"<details class=\"batch-row\" id=\"row{i}\"><summary><span class=\"bcell name\">"
            f"{_e(r.name)}</span><span class=\"bcell\">{len(r.records)}</span>"
            f"<span class=\"bcell\">{_e(_span_text(r))}</span>"
            f"<span class=\"bcell {_cls(c, 'error')}\">{c['error']}</span>"
            f"<span class=\"bcell {_cls(c, 'warning')}\">{c['warning']}</span>"
            f"<span class=\"bcell\">{c['info']}</span>"
            f"<span class=\"bcell status\">{_e(status)}</span></summary>\n"
            f"{_session(r, 2, f's{i}')}</details>")
    facts = _facts([("Sessions", str(len(reports))), ("Records", f"{n_records:,}"),
                    ("Findings", _counts_html({s.value: n for s, n in totals.items()}))])
    head = ("<div class=\"batch-head\"><span class=\"bcell name\">Session</span>"
            "<span class=\"bcell\">Records</span><span class=\"bcell\">Span</span>"
            "<span class=\"bcell\">Errors</span><span class=\"bcell\">Warnings</span>"
            "<span class=\"bcell\">Notes</span><span class=\"bcell status\">Status</span></div>")
    return (f"<header class=\"page-head\"><p class=\"kicker\">bsingest batch report</p>"
            f"<h1>{len(reports)} sessions</h1>{facts}</header>\n"
            f"<p class=\"hint\">Open a row for the session's findings, timeline and records.</p>"
            f"<div class=\"batch\">{head}{''.join(rows)}</div>")


def _cls(counts: dict[str, int], key: str) -> str:
    return f"sev-{key}" if counts[key] else ""


# --- one session -------------------------------------------------------------------------


def _session(r: SessionReport, level: int, sid: str) -> str:
    h = f"h{level}"
    sub = f"h{level + 1}"
    origin = r.origin()
    n_files = len({x.path for x in r.records})
    recorded = (f"{_e(_when(origin))} <span class=\"muted\">(earliest start a file states)"
                "</span>" if origin else "<span class=\"muted\">no file states its start</span>")
    facts = _facts([
        ("Recorded", recorded),
        ("Records", f"{len(r.records):,} from {n_files:,} files"
         + (f", {len(r.failed)} unreadable" if r.failed else "")),
        ("Span", _e(_span_text(r))),
        ("Findings", _counts_html(r.counts())),
    ])
    parts = [f"<section class=\"session\" id=\"{sid}\">",
             "<header class=\"page-head\">"
             + ("<p class=\"kicker\">bsingest session report</p>" if level == 1 else "")
             + f"<{h}>{_e(r.name)}</{h}><p class=\"path\">{_e(r.session)}</p>{facts}</header>"]
    if r.records:
        parts.append(f"<section><{sub}>Timeline</{sub}>{_timeline(r, sid)}</section>")
    parts.append(f"<section><{sub}>Findings</{sub}>{_findings(r)}</section>")
    if r.records:
        parts.append(f"<section><{sub}>Records</{sub}>{_records(r)}</section>")
    parts.append(f"<section><{sub}>Checks run</{sub}>{_checks(r)}</section>")
    if r.skipped:
        items = "".join(f"<li><code>{_e(p)}</code>: {_e(why)}</li>"
                        for p, why in r.skipped.items())
        parts.append(f"<details class=\"skipped\"><summary>{len(r.skipped)} files not read "
                     f"(no extractor for them)</summary><ul>{items}</ul></details>")
    parts.append("</section>")
    return "\n".join(parts)


def _facts(pairs: Sequence[tuple[str, str]]) -> str:
    """Label/value pairs; values are HTML already escaped by the caller."""
    return "<dl class=\"facts\">" + "".join(
        f"<div><dt>{_e(k)}</dt><dd>{v}</dd></div>" for k, v in pairs) + "</dl>"


def _counts_html(counts: dict[str, int]) -> str:
    words = {"error": ("error", "errors"), "warning": ("warning", "warnings"),
             "info": ("note", "notes")}
    out = []
    for s in sorted(Severity, key=lambda s: s.rank):
        n = counts.get(s.value, 0)
        word = words[s.value][n != 1]
        out.append(f"<span class=\"chip sev-{s.value}{'' if n else ' zero'}\">"
                   f"{_SYMBOL[s]} {n} {word}</span>")
    return " ".join(out)


def _findings(r: SessionReport) -> str:
    if not r.findings:
        return (f"<p class=\"ok\">✔ No findings: {len(r.checks)} checks ran and found "
                "nothing to report.</p>")
    items = [_finding(f) for f in r.findings]
    return "<ol class=\"findings\">" + "".join(items) + "</ol>"


def _finding(f: Finding) -> str:
    values = "".join(f"<tr><th scope=\"row\">{_e(k)}</th><td>{_value(v)}</td></tr>"
                     for k, v in f.values.items())
    return (f"<li class=\"finding sev-{f.severity.value}\">"
            f"<p class=\"f-head\"><span class=\"sev\">{_SYMBOL[f.severity]} "
            f"{f.severity.value.upper()}</span> <span class=\"check\">"
            f"{_e(CHECKS.get(f.check, f.check))}</span></p>"
            f"<p class=\"f-msg\">{_e(f.message)}</p>"
            + (f"<p class=\"why\"><b>Why it matters:</b> {_e(f.why)}</p>" if f.why else "")
            + (f"<details class=\"values\"><summary>Values compared</summary>"
               f"<table>{values}</table></details>" if values else "")
            + "</li>")


def _value(v: object) -> str:
    if isinstance(v, dict):
        return "; ".join(f"{_e(k)}: {_value(x)}" for k, x in v.items())
    if isinstance(v, float):
        return _e(f"{v:,.6g}")
    if isinstance(v, int) and not isinstance(v, bool):
        return _e(f"{v:,}")
    return _e(v)


# --- timeline ----------------------------------------------------------------------------


def _timeline(r: SessionReport, sid: str) -> str:
    offsets = r.offsets()
    known_any = any(o is not None for o in offsets)
    labels = _labels([x.file_name for x in r.records])
    ends = [(o or 0.0) + (x.duration or 0.0) for x, o in zip(r.records, offsets, strict=True)]
    total = max(ends, default=0.0) or 1.0
    step = _nice_step(total)
    ticks = [k * step for k in range(int(total / step + 1e-9) + 1)]
    about = [(f.records[-1], f.severity) for f in r.findings if f.records]
    marks = {x.file_name: min((s for name, s in about if name == x.file_name),
                              key=lambda s: s.rank, default=None) for x in r.records}
    counts = {x.file_name: {s: sum(1 for name, sev in about if name == x.file_name and sev is s)
                            for s in (Severity.ERROR, Severity.WARNING)} for x in r.records}
    tick_html = "".join(f"<span class=\"tick\" style=\"left:{t / total * 100:.4f}%\">"
                        f"{_e(_axis(t, step))}</span>" for t in ticks)
    groups: dict[str, list[int]] = {}
    for i, x in enumerate(r.records):  # grouped under the current name of the type
        found = lookup(x.type)
        groups.setdefault(found.name if found is not None else x.type, []).append(i)
    order = sorted(groups, key=lambda t: (_TYPE_ORDER.index(t) if t in _TYPE_ORDER else 99, t))
    rows = []
    for t in order:
        rows.append(f"<div class=\"tl-group\" role=\"rowgroup\"><div class=\"tl-gh\">{_e(t)} "
                    f"<span class=\"muted\">({len(groups[t])})</span></div>")
        for i in groups[t]:
            x, off = r.records[i], offsets[i]
            rows.append(_bar_row(x, labels[i], off, total, marks[x.file_name],
                                 counts[x.file_name], t, f"{sid}-r{i}", known_any))
        rows.append("</div>")
    zone = (" Starts without a UTC offset are taken as this computer's local time "
            f"(UTC{_e(_utc_offset())}) to place them beside those with one."
            if mixed_zones([x.start for x in r.records]) else "")
    zero = (f"0 = {_e(_when(r.origin()))}, the earliest start a file states; records whose "
            f"start no file states are hatched and aligned at 0.{zone}"
            if known_any else "No file states when it started: every record is aligned at 0, "
            "so the bars compare durations only.")
    keys = ("<span class=\"key solid\"></span> start stated "
            "<span class=\"key hatched\"></span> start unknown, aligned at 0 ") \
        if known_any and None in offsets else ""
    if not any(m is not None and m is not Severity.INFO for m in marks.values()):
        legend = f"<p class=\"legend\">{keys}</p>" if keys else ""
    else:
        legend = (f"<p class=\"legend\">{keys}"
                  f"<span class=\"key-mark\">{_SYMBOL[Severity.ERROR]}</span> error "
                  f"<span class=\"key-mark\">{_SYMBOL[Severity.WARNING]}</span> warning "
                  "on the record</p>")
    return (f"<p class=\"muted\">{zero} Axis: {_e(_secs(total))} in all.</p>{legend}"
            f"<div class=\"timeline\" role=\"table\" aria-label=\"timeline\" "
            f"style=\"--label-w:{_label_width(labels)}px;--grid:{step / total * 100:.4f}%\">"
            f"<div class=\"tl-row axis\" aria-hidden=\"true\"><div class=\"tl-label\"></div>"
            f"<div class=\"tl-track ticks\">{tick_html}</div><div class=\"tl-info\"></div></div>"
            + "".join(rows) + "</div>")


def _bar_row(x: RecordView, name: str, offset: float | None, total: float,
             mark: Severity | None, n_marks: dict[Severity, int], rtype: str, rid: str,
             known_any: bool) -> str:
    label = (f"<div class=\"tl-label\" role=\"rowheader\" title=\"{_e(x.file_name)}\">"
             f"{_e(name)}</div>")
    if x.duration is None:
        return (f"<div class=\"tl-row\" role=\"row\">{label}"
                "<div class=\"tl-track\" role=\"cell\"></div>"
                f"<div class=\"tl-info muted\" role=\"cell\">{_e(x.duration_detail)}</div></div>")
    left = (offset or 0.0) / total * 100
    width = x.duration / total * 100
    # Hatched: aligned at 0 among records placed by their stated start. With no start stated
    # anywhere, the note above the timeline says it once.
    classes = ["bar", f"t-{_slug(rtype)}", "hatched" if offset is None and known_any else "solid"]
    if width < 3:  # its mark goes beside it, before it at the axis' end
        classes.append("tiny-end" if left > 90 else "tiny")
    sym = ""
    if mark is not None and mark is not Severity.INFO:
        classes.append(f"mark-{mark.value}")
        sym = f"<span class=\"bar-mark\" aria-hidden=\"true\">{_SYMBOL[mark]}</span>"
    start = "start unknown" if offset is None else f"starts at {_secs(offset)}"
    flag = "".join(f" <span class=\"sev-{s.value}\">{_SYMBOL[s]} {n}</span>"
                   for s, n in n_marks.items() if n)
    tip = f"{x.file_name}: {_secs(x.duration)} ({x.duration_detail}), {start}"
    bar = (f"<div class=\"{' '.join(classes)}\" id=\"{rid}\" data-bar "
           f"data-record=\"{_e(x.file_name)}\" data-duration=\"{x.duration!r}\" "
           f"data-offset=\"{'' if offset is None else repr(offset)}\" "
           f"style=\"left:{left:.4f}%;width:{width:.4f}%\" title=\"{_e(tip)}\">{sym}</div>")
    info = (f"<div class=\"tl-info\" role=\"cell\">{_e(_secs(x.duration))}{flag}"
            + (" <span class=\"muted\">· start unknown</span>" if offset is None and known_any
               else "")
            + "</div>")
    return (f"<div class=\"tl-row\" role=\"row\">{label}<div class=\"tl-track\" role=\"cell\">{bar}"
            f"</div>{info}</div>")


def _labels(names: list[str]) -> list[str]:
    """Row labels: a long path shows the parts that tell the records apart (``…`` for the rest).

    Folders every record shares at the same depth say nothing (``Record Node 101/``,
    ``recording1/``, ``continuous/``); what is left is cut in the middle past 44 characters.
    """
    split = [n.split("/") for n in names]
    by_depth: dict[int, list[list[str]]] = {}
    for parts in split:
        by_depth.setdefault(len(parts), []).append(parts)
    out = []
    for parts in split:
        if len("/".join(parts)) <= 44:
            out.append("/".join(parts))
            continue
        same = by_depth[len(parts)]
        kept: list[str] = []
        for i, part in enumerate(parts):
            shared = len(same) > 1 and all(p[i] == part for p in same)
            if shared and i < len(parts) - 1:
                if not kept or kept[-1] != "…":
                    kept.append("…")
            else:
                kept.append(part)
        label = "/".join(kept)
        out.append(label if len(label) <= 44 else f"{label[:14]}…{label[-29:]}")
    return out


def _label_width(labels: list[str]) -> int:
    """Pixels for the label column: the longest label in 13 px monospace (~7.9 px a
    character), the same for every row so that the tracks share one axis."""
    return max(96, min(360, 8 * max((len(x) for x in labels), default=0) + 8))


def _utc_offset() -> str:
    z = datetime.datetime.now().astimezone().strftime("%z")
    return f"{z[:3]}:{z[3:]}"


def _nice_step(total: float) -> float:
    raw = total / 6
    if raw >= 60:
        for s in (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400):
            if s >= raw:
                return float(s)
        return 86400.0 * math.ceil(raw / 86400)
    exp = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * 10**exp >= raw:
            return float(m * 10**exp)
    return float(10 ** (exp + 1))


def _axis(t: float, step: float) -> str:
    if step >= 60:
        h, m = divmod(round(t / 60), 60)
        return f"{h} h {m:02d}" if h else f"{m} min"
    if step >= 0.1 or t >= 1:
        return f"{round(t, 6):g} s"
    return f"{round(t * 1000, 6):g} ms"


# --- records -----------------------------------------------------------------------------


def _records(r: SessionReport) -> str:
    rows = []
    for x in r.records:
        warn = "".join(f"<li>▲ {_e(w)}</li>" for w in x.warnings)
        prov = "".join(
            f"<tr><th scope=\"row\">{_e(k)}</th><td>{_e(_short(_prov_value(x, k)))}</td>"
            f"<td>{_e(p.get('source', ''))}</td><td>{_e(p.get('detail', ''))}</td></tr>"
            for k, p in x.provenance.items())
        rate_unit = "fps" if x.count_key == "nFrames" else "Hz"
        rows.append(
            f"<tr><td class=\"file\"><code title=\"{_e(x.path)}\">{_e(x.file_name)}</code>"
            + (f"<ul class=\"warnings\">{warn}</ul>" if warn else "")
            + f"<details><summary>provenance</summary><table class=\"prov\"><tr><th>key</th>"
            f"<th>value</th><th>source</th><th>where</th></tr>{prov}</table></details></td>"
            f"<td>{_e(x.type)}</td><td>{_e(x.format)}</td>"
            f"<td class=\"num\">{_e('' if x.n_channels is None else f'{x.n_channels:,}')}</td>"
            f"<td class=\"num\">{_e('' if x.rate is None else f'{x.rate:,.6g} {rate_unit}')}</td>"
            f"<td class=\"num\">{_e('' if x.count is None else f'{x.count:,}')}</td>"
            f"<td class=\"num\" title=\"{_e(x.duration_detail)}\">"
            f"{_e('—' if x.duration is None else _secs(x.duration))}</td>"
            f"<td title=\"{_e(x.start_detail)}\">{_e(_when_text(x.start_time))}</td></tr>")
    failed = "".join(f"<tr class=\"failed\"><td class=\"file\"><code>{_e(p)}</code></td>"
                     f"<td colspan=\"7\">✖ not read: {_e(msg)}</td></tr>"
                     for p, msg in r.failed.items())
    return ("<div class=\"scroll\"><table class=\"records\"><thead><tr><th>File</th><th>Type</th>"
            "<th>Format</th><th>Channels</th><th>Rate</th><th>Samples / frames</th>"
            "<th>Duration</th><th title=\"as the file states it\">Start</th></tr></thead><tbody>"
            + "".join(rows) + failed + "</tbody></table></div>")


def _prov_value(x: RecordView, key: str) -> object:
    return x.start_time if key == "startTime" else x.type_json.get(key, "")


def _short(v: object) -> str:
    text = str(v)
    return text if len(text) <= 120 else text[:117] + "..."


def _checks(r: SessionReport) -> str:
    if not r.checks:
        return "<p class=\"muted\">No checks ran (no records).</p>"
    rows = "".join(
        f"<tr><td>{_e(CHECKS.get(c.check, c.check))}</td><td>{_e(c.subject)}</td>"
        f"<td>{'✔ ok' if not c.findings else _e(f'{c.findings} finding' + 's' * (c.findings != 1))}"
        f"</td></tr>" for c in r.checks)
    s = r.settings
    return (f"<details><summary>{len(r.checks)} checks; durations may differ by "
            f"{s.duration_tolerance:g} s or {s.duration_tolerance_fraction * 100:g}% "
            "(whichever is larger)</summary><div class=\"scroll\"><table class=\"checks\">"
            "<tr><th>Check</th><th>On</th><th>Outcome</th></tr>"
            f"{rows}</table></div></details>")


# --- text --------------------------------------------------------------------------------


def _e(value: object) -> str:
    """Escaped text, with control and invisible characters shown as escapes."""
    return html.escape(visible(value), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower())


def _when(t: datetime.datetime | None) -> str:
    if t is None:
        return ""
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    if t.microsecond:
        text += f".{t.microsecond // 1000:03d}"
    return text + (f" {t.strftime('%z')[:3]}:{t.strftime('%z')[3:]}" if t.tzinfo else "")


def _when_text(iso: str | None) -> str:
    if not iso:
        return "—"
    try:
        return _when(datetime.datetime.fromisoformat(iso))
    except ValueError:
        return iso


def _span_text(r: SessionReport) -> str:
    offsets = r.offsets()
    ends = [(o or 0.0) + x.duration for x, o in zip(r.records, offsets, strict=True)
            if x.duration is not None]
    return _secs(max(ends)) if ends else "—"


_CSS = """
:root{--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;--track:#eef1f4;
--err:#b42318;--err-bg:#fdecea;--warn:#8a5a00;--warn-bg:#fff4d6;--info:#0b5cad;--info-bg:#e8f1fb;
--ok:#1a7f37;--t1:#2f6fbf;--t2:#bf3989;--t3:#bc4c00;--t4:#8250df;--t5:#1a7f37;--t6:#6e7781;
--hatch:rgba(255,255,255,.55);color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;
--card:#161b22;--track:#1c232c;--err:#ff8a80;--err-bg:#3b1614;--warn:#e3b341;--warn-bg:#33290f;
--info:#79b8ff;--info-bg:#10253d;--ok:#56d364;--t1:#6ea8fe;--t2:#ff9bce;--t3:#ffa657;--t4:#c297ff;
--t5:#56d364;--t6:#9198a1;--hatch:rgba(13,17,23,.6)}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 24px 8px}
footer{max-width:1200px;margin:0 auto;padding:12px 24px 32px;color:var(--muted);font-size:13px}
h1,h2,h3,h4{line-height:1.25;margin:0}
h1{font-size:30px}section>h2,section>h3{font-size:20px;margin:28px 0 10px;
border-bottom:1px solid var(--line);padding-bottom:4px}
.batch section>h3,.batch section>h4{font-size:18px;margin:22px 0 8px;
border-bottom:1px solid var(--line)}
.batch .page-head h2{font-size:24px}
code{font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.kicker{margin:0 0 4px;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;
font-size:12px;font-weight:600}
.path{margin:4px 0 0;color:var(--muted);font:13px ui-monospace,Menlo,Consolas,monospace;
overflow-wrap:anywhere}
.muted{color:var(--muted)}
.facts{display:flex;flex-wrap:wrap;gap:10px 28px;margin:16px 0 0;padding:12px 16px;
background:var(--card);border:1px solid var(--line);border-radius:8px}
.facts div{min-width:9em}.facts dt{font-size:12px;color:var(--muted);text-transform:uppercase;
letter-spacing:.05em}.facts dd{margin:0;font-weight:600}
.chip{display:inline-block;padding:0 8px;border-radius:10px;font-size:14px;font-weight:600;
border:1px solid currentColor;margin:2px 4px 2px 0}
.chip.zero{color:var(--muted);border-color:var(--line);font-weight:400}
.sev-error{color:var(--err)}.sev-warning{color:var(--warn)}.sev-info{color:var(--info)}
.ok{color:var(--ok);font-weight:600}
.findings{list-style:none;padding:0;margin:0;display:grid;gap:10px}
.finding{border:1px solid var(--line);border-left-width:6px;border-radius:6px;padding:10px 14px;
background:var(--card);color:var(--fg)}
.finding.sev-error{border-left-color:var(--err);border-left-style:solid}
.finding.sev-warning{border-left-color:var(--warn)}
.finding.sev-info{border-left-color:var(--info)}
.finding p{margin:0 0 4px}.f-head .sev{font-weight:700;letter-spacing:.03em}
.finding.sev-error .sev{color:var(--err)}.finding.sev-warning .sev{color:var(--warn)}
.finding.sev-info .sev{color:var(--info)}
.f-head .check{font-weight:600}.f-msg{overflow-wrap:anywhere}.why{font-size:14px;color:var(--muted)}
details summary{cursor:pointer;color:var(--muted);font-size:14px}
details table{margin-top:6px}
table{border-collapse:collapse;font-size:14px}
th,td{text-align:left;vertical-align:top;padding:5px 10px;border-bottom:1px solid var(--line)}
th{font-weight:600}
.values th{color:var(--muted);font-weight:500}
.scroll{overflow-x:auto}
.records{width:100%}.records thead th{background:var(--card);position:sticky;top:0}
.records td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.records .file{min-width:16em}.records .warnings{margin:4px 0;padding-left:0;list-style:none;
color:var(--warn);font-size:13px}
.records tr.failed td{color:var(--err)}
.prov td,.prov th{font-size:12px;padding:3px 6px}
.legend{font-size:13px;color:var(--muted);margin:0 0 8px}
.key{display:inline-block;width:28px;height:12px;vertical-align:middle;border-radius:2px;
background:var(--t1);margin:0 4px 0 10px}.key:first-child{margin-left:0}
.key-mark{font-weight:700;color:var(--fg);margin-left:10px}
.hatched,.key.hatched{background-image:repeating-linear-gradient(135deg,var(--hatch) 0 4px,
transparent 4px 8px)}
.timeline{border:1px solid var(--line);border-radius:8px;padding:6px 12px 10px;
background:var(--card)}
.tl-row{display:grid;grid-template-columns:var(--label-w,15em) 1fr 11em;gap:12px;align-items:center;
min-height:26px}
.tl-label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font:13px ui-monospace,Menlo,
Consolas,monospace}
.tl-track{position:relative;height:18px;background:var(--track);border-radius:3px}
.tl-info{font-size:13px;white-space:nowrap;font-variant-numeric:tabular-nums}
.axis .tl-track{background:none;height:20px}
.tick{position:absolute;top:0;transform:translateX(-50%);font-size:12px;color:var(--muted);
white-space:nowrap}
.tick:first-child{transform:none}.tick:last-child:not(:first-child){transform:translateX(-100%)}
.tl-row:not(.axis) .tl-track{background-image:linear-gradient(to right,var(--line) 0 1px,
transparent 1px);background-size:var(--grid,100%) 100%}
.tl-gh{font-weight:600;font-size:14px;margin:10px 0 2px;padding-top:4px;
border-top:1px solid var(--line)}
.tl-group:first-of-type .tl-gh{border-top:0}
.bar{position:absolute;top:2px;bottom:2px;min-width:2px;border-radius:3px;background-color:var(--t6)}
@media (prefers-color-scheme:dark){.bar{filter:brightness(1.45) saturate(.85)}}
.bar.hatched{border:1px dashed var(--fg)}
.bar.mark-error{outline:2px solid var(--err);outline-offset:1px}
.bar.mark-warning{outline:2px dashed var(--warn);outline-offset:1px}
.bar-mark{position:absolute;right:2px;top:0;bottom:0;display:flex;align-items:center;
font-size:11px;font-weight:700;line-height:1;color:var(--fg);background:var(--bg);
border-radius:2px;padding:0 3px;margin:1px 0}
.bar.tiny .bar-mark{right:auto;left:100%;margin-left:3px}
.bar.tiny-end .bar-mark{right:100%;margin-right:3px}
.mark-error .bar-mark{color:var(--err)}.mark-warning .bar-mark{color:var(--warn)}
.hint{color:var(--muted);font-size:14px}
.batch{border:1px solid var(--line);border-radius:8px;overflow:hidden}
.batch-head,.batch-row>summary{display:grid;grid-template-columns:minmax(10em,2fr) repeat(5,1fr)
minmax(7em,1fr);gap:8px;padding:8px 12px;align-items:center}
.batch-head{background:var(--card);font-weight:600;font-size:14px;
border-bottom:1px solid var(--line)}
.batch-row{border-bottom:1px solid var(--line)}.batch-row:last-child{border-bottom:0}
.batch-row>summary{color:var(--fg);font-size:15px;list-style:none}
.batch-row>summary::-webkit-details-marker{display:none}
.batch-row>summary .name::before{content:"▸ ";color:var(--muted)}
.batch-row[open]>summary .name::before{content:"▾ "}
.batch-row[open]>summary{background:var(--card)}
.batch-row>.session{padding:0 16px 16px}
.bcell{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.bcell.name{font-weight:600}
.skipped{margin-top:18px}
@media (max-width:720px){.tl-row{grid-template-columns:7em 1fr;}.tl-info{grid-column:2}
main{padding:16px}}
@media print{.bar,.key{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""
