"""Everything bsingest reads from the user, fed malformed values of every kind (generated).

What the user writes (``bsingest.toml``, the user config file, token files, command-line
options, the Python API's keywords, IDs and stated values) is checked as a class: values
of each wrong TOML/JSON kind (a number for a string, a table for a list, NaN and infinity,
integers of hundreds of digits, empty strings, text that is not UTF-8, a BOM, duplicate
and unknown keys, paths that are folders), and the contract a user sees is asserted:

- the command line exits with the usage code (``exitcodes.USAGE``, 2) before any request
  reaches the server (a real local server on loopback counts them: ``LocalServer.hits``),
  printing one line that names the file and the field, never a traceback nor the token;
- the Python API raises a :class:`~bsingest.errors.BsingestError`, never a TypeError,
  an AttributeError or an OverflowError;
- a stated quantity reaches a record only in the schema's unit (nm, mW, µm), converted
  exactly; a percentage is not a power.

The commands run in-process (click's ``CliRunner``), as ``test_usage_before_network.py``
does; hypothesis's examples are few (each is a command run) and have no deadline.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bsingest import exitcodes
from bsingest.cli.main import cli
from bsingest.errors import BsingestError, RecordInvalid, UsageError
from bsingest.recordtypes import type_names
from bsingest.server import LocalServer
from tests.fixtures import write_dat, write_neuroscope_xml

UUID = "1f7f103b-e949-405a-9b01-ddda3b2f10cf"
TOKEN_MARK = "SECRETTOKEN"  # in every token a test makes up: output must never hold it
FEW = settings(max_examples=60, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])


# -- the server, the session folder, running a command ------------------------------------

@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """One local server for the module: each case counts the requests it made."""
    with LocalServer(db_path=tmp_path_factory.mktemp("srv") / "s.sqlite3") as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user config folder, journal and data folder of this test's own; no server or
    token from the environment the tests run in."""
    for name in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN", "BRAINSTEM_SERVER",
                 "BRAINSTEM_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("BSINGEST_JOURNAL", str(tmp_path / "journal.sqlite"))
    monkeypatch.setenv("BRAINSTEM_TOKEN_FILE", str(tmp_path / "brainstem" / "token"))
    return tmp_path


def _config_file(home: Path) -> Path:
    path = home / "config" / "bsingest" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _session(root: Path, toml: str | bytes | None = None) -> Path:
    """A session folder with one Neuroscope recording and, if given, its bsingest.toml."""
    folder = Path(tempfile.mkdtemp(dir=root)) / "day1"
    write_dat(folder / "rec.dat", n_channels=2, n_samples=10)
    write_neuroscope_xml(folder / "rec.xml", 2)
    if toml is not None:
        data = toml.encode("utf-8") if isinstance(toml, str) else toml
        (folder / "bsingest.toml").write_bytes(data)
    return folder


def _run(srv: LocalServer, args: list[str], *, token: str | None = None,
         stdin: str | bytes | None = None) -> tuple[Result, int]:
    """The command's result and how many requests it sent to ``srv``."""
    before = len(srv.hits)
    env = {"BRAINSTEM_TOKEN": token} if token is not None else {}
    result = CliRunner(env=env).invoke(cli, args, input=stdin)
    return result, len(srv.hits) - before


def assert_usage(result: Result, sent: int, *words: str, secret: str = TOKEN_MARK) -> str:
    """Exit 2 before any request, one line naming ``words``, no traceback, no token.

    bsingest's own errors are one line (``bsingest: error: ...``); click's for a bad
    option value are its usage text with one ``Error: ...`` line, which is the one read.
    """
    text = result.stderr
    assert "Traceback" not in result.output and "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    assert result.exit_code == exitcodes.USAGE, (result.exit_code, text, result.stdout)
    assert sent == 0, f"{sent} requests before the usage error: {text}"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if lines and lines[0].startswith("Usage:"):  # click's own, for an option's value
        lines = [line for line in lines if line.startswith("Error:")]
    assert len(lines) == 1, text
    line = lines[0]
    for word in words:
        assert word in line, (word, line)
    assert secret not in result.output and secret not in text
    return line


# -- TOML values of every kind, written out by hand (no TOML writer in the test extra) ----

def toml_value(value: Any) -> str:
    """``value`` as TOML: strings as JSON strings (JSON's escapes are TOML's), NaN and
    the infinities by their TOML names, lists and dicts inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_string(k)} = {toml_value(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(value)


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes, with characters beyond the BMP kept as they
    are (JSON's surrogate pairs are no TOML escape) and DEL escaped (TOML wants it)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_text(table: dict[str, Any], rules: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
    lines = [f"{key} = {toml_value(value)}" for key, value in table.items()]
    for rule in rules:
        lines.append("[[files]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in rule.items()]
    return "\n".join(lines) + "\n"


# Text TOML can hold: no lone surrogates (a file is UTF-8), anything else.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
HUGE = st.integers(min_value=10**309, max_value=10**400)  # no float holds these
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
SCALAR_NOT_TEXT = st.one_of(st.integers(-2**63, 2**63 - 1), HUGE, st.floats(), st.booleans())
NESTED = st.one_of(st.lists(SCALAR_NOT_TEXT, max_size=3),
                   st.dictionaries(st.sampled_from(["a", "value", "x y"]), SCALAR_NOT_TEXT,
                                   max_size=2),
                   st.lists(st.lists(TEXT, max_size=2), min_size=1, max_size=2))
NOT_TEXT = st.one_of(SCALAR_NOT_TEXT, NESTED)
NOT_A_UUID = TEXT.filter(lambda s: not re.fullmatch(
    r"\s*[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\s*", s) and s.strip() != "")
NOT_A_NUMBER = st.one_of(TEXT, st.booleans(), NESTED)
BAD_COUNT = st.one_of(NOT_A_NUMBER, st.integers(max_value=0), HUGE,
                      st.integers(min_value=2**53 + 1, max_value=2**63 - 1),
                      st.floats(allow_nan=True, allow_infinity=True))
BAD_RATE = st.one_of(NOT_A_NUMBER, st.floats(max_value=0), NON_FINITE, HUGE,
                     st.integers(max_value=0))
BAD_WAIT = st.one_of(NOT_A_NUMBER, st.floats(max_value=-1e-9), NON_FINITE, HUGE,
                     st.floats(min_value=86400.5, allow_infinity=False), st.integers(max_value=-1))

#: A top-level key of bsingest.toml -> values of it that must be refused, as said in
#: docs/settings.md (IDs are UUIDs, lists of them, a policy one of three words...).
TOP_BAD: dict[str, st.SearchStrategy[Any]] = {
    "session": st.one_of(NOT_TEXT, NOT_A_UUID),
    "project": st.one_of(NOT_TEXT, NOT_A_UUID),
    "procedures": st.one_of(SCALAR_NOT_TEXT, st.lists(NOT_TEXT, min_size=1, max_size=2),
                            st.lists(NOT_A_UUID, min_size=1, max_size=2)),
    "equipment": st.one_of(SCALAR_NOT_TEXT, st.lists(NOT_TEXT, min_size=1, max_size=2),
                           st.lists(NOT_A_UUID, min_size=1, max_size=2)),
    "notes": st.one_of(NOT_TEXT, st.text(min_size=501, max_size=520)),
    "session_name": NOT_TEXT,
    "existing": st.one_of(NOT_TEXT, TEXT.filter(lambda s: s not in ("skip", "update",
                                                                     "error"))),
    "portal": st.one_of(NOT_TEXT, TEXT.filter(lambda s: s not in ("private", "public",
                                                                  "super"))),
    "api": st.one_of(NOT_TEXT, TEXT.filter(lambda s: s not in ("2023", "2026"))),
    "server": st.one_of(NOT_TEXT, st.sampled_from(["ftp://x", "http://[::1",
                                                   "https://127.0.0.1:99999", "https://",
                                                   "brainstem.org"])),
    "settle": BAD_WAIT,
    "journal": st.one_of(NOT_TEXT, st.just("")),
    "create_session": st.one_of(TEXT, st.integers(), st.floats(), NESTED),
    "files": st.one_of(SCALAR_NOT_TEXT, TEXT, st.lists(SCALAR_NOT_TEXT, min_size=1,
                                                       max_size=2)),
}


def _procedure(srv: LocalServer) -> str:
    """A procedure the local server was seeded with (a session's links need one)."""
    return next(iter(srv.seed.procedures.values()))


def _the_key(key: str, line: str) -> None:
    """The line names the key: as itself, or as the option of the same name."""
    assert key in line or key.replace("_", "-") in line, (key, line)


@FEW
@given(data=st.data())
def test_a_bad_top_level_value_in_bsingest_toml_is_one_line_naming_file_and_key(
        srv: LocalServer, home: Path, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(TOP_BAD)), label="key")
    bad = data.draw(TOP_BAD[key], label="value")
    table: dict[str, Any] = {"session": srv.seed.session,
                             "procedures": [_procedure(srv)]}
    if key == "project":
        table = {"create_session": True, "procedures": table["procedures"]}
    table[key] = bad
    folder = _session(home, toml_text(table))
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--dry-run"],
                        token=srv.pat)
    line = assert_usage(result, sent, str(folder / "bsingest.toml"))
    _the_key(key, line)


#: A key of a [[files]] rule -> values of it that must be refused: a dtype no reader
#: reads, counts and rates that are no positive finite numbers (or that no float holds),
#: quantities without a unit, of another quantity, or in percent.
RULE_BAD: dict[str, st.SearchStrategy[Any]] = {
    "match": NOT_TEXT,
    "type": st.one_of(NOT_TEXT, st.sampled_from(["Nope", "", "extracellular ephys"])),
    "n_channels": BAD_COUNT,
    "sr": BAD_RATE,
    "lsb": BAD_RATE,
    "dtype": st.one_of(NOT_TEXT, st.sampled_from(["complex", "int64", "<i2", "", "INT16"])),
    "equipment": st.one_of(SCALAR_NOT_TEXT, st.lists(NOT_A_UUID, min_size=1, max_size=2)),
    "notes": st.one_of(NOT_TEXT, st.text(min_size=501, max_size=520)),
    "laser_power": st.one_of(
        NOT_TEXT, st.builds(lambda n, u: f"{n}{u}", st.integers(1, 10**6),
                            st.sampled_from(["", " %", "%", " nm", " Hz", " furlong",
                                             " mW/cm2", " m W"]))),
    "excitation_wavelength": st.one_of(
        NOT_TEXT, st.builds(lambda n, u: f"{n}{u}", st.integers(1, 10**6),
                            st.sampled_from(["", " mW", " %", " s", " nmm"])),
        st.sampled_from(["1e999 nm", "-920 nm", "0 nm", "nan nm", "inf nm", "nm"])),
    "imaging_depth": st.one_of(
        NOT_TEXT, st.sampled_from(["250", "-1 um", "1e400 um", "250 W", "50 %", "um"])),
    "bogus_key": st.just(1),
}


@FEW
@given(data=st.data())
def test_a_bad_value_in_a_files_rule_is_one_line_naming_file_rule_and_key(
        srv: LocalServer, home: Path, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(RULE_BAD)), label="key")
    bad = data.draw(RULE_BAD[key], label="value")
    rule: dict[str, Any] = {"match": "*.dat", key: bad}
    table = {"session": srv.seed.session,
             "procedures": [_procedure(srv)]}
    folder = _session(home, toml_text(table, [rule]))
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--dry-run"],
                        token=srv.pat)
    line = assert_usage(result, sent, str(folder / "bsingest.toml"))
    assert "files[0]" in line or "[[files]]" in line, line
    _the_key(key, line)


@FEW
@given(ids=st.lists(NOT_A_UUID, min_size=1, max_size=3))
def test_a_bad_equipment_id_in_a_files_rule_is_refused_before_any_request(
        srv: LocalServer, home: Path, ids: list[str]) -> None:
    """It was checked once the server's generation was known: after the probe."""
    table = {"session": srv.seed.session,
             "procedures": [_procedure(srv)]}
    folder = _session(home, toml_text(table, [{"match": "*.dat", "equipment": ids}]))
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--dry-run"],
                        token=srv.pat)
    assert_usage(result, sent, str(folder / "bsingest.toml"), "[[files]]", "equipment")


@FEW
@given(key=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda k: k not in {"dataset", "actions", "hardware_device", "description", "existing",
                        "files", "server", "portal", "journal", "settle", "api", "session",
                        "procedures", "equipment", "notes", "project", "create_session",
                        "session_name", "report", "watch"}))
def test_an_unknown_key_in_bsingest_toml_is_named(srv: LocalServer, home: Path,
                                                  key: str) -> None:
    folder = _session(home, f"session = {json.dumps(srv.seed.session)}\n{key} = 1\n")
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--dry-run"],
                        token=srv.pat)
    assert_usage(result, sent, str(folder / "bsingest.toml"), "unknown keys", key)


#: Whole files that are not TOML a parser takes, or that no parser should.
MALFORMED: dict[str, bytes] = {
    "not UTF-8": b'session = "\xff\xfe"\n',
    "UTF-16": '\ufeffsession = "x"\n'.encode("utf-16"),
    "duplicate key": f'session = "{UUID}"\nsession = "{UUID}"\n'.encode(),
    "duplicate table": b"[report]\n[report]\n",
    "a 5,000-digit integer": b"settle = 1" + b"0" * 5000 + b"\n",
    "arrays nested 5,000 deep": b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "NUL byte": b'session = "a\x00b"\n',
    "cut in a string": b'session = "1f7f',
    "a key alone": b"session\n",
}


@pytest.mark.parametrize("what", sorted(MALFORMED))
def test_a_bsingest_toml_no_parser_takes_is_one_line_naming_it(
        srv: LocalServer, home: Path, what: str) -> None:
    folder = _session(home, MALFORMED[what])
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--dry-run"],
                        token=srv.pat)
    assert_usage(result, sent, str(folder / "bsingest.toml"))


@pytest.mark.parametrize("what", sorted(MALFORMED))
def test_a_config_file_no_parser_takes_is_one_line_naming_it(
        srv: LocalServer, home: Path, what: str) -> None:
    config = _config_file(home)
    config.write_bytes(MALFORMED[what])
    folder = _session(home)
    for args in (["ingest", str(folder), "--server", srv.url, "--session", srv.seed.session],
                 ["records", "list", "--server", srv.url]):
        result, sent = _run(srv, args, token=srv.pat)
        assert_usage(result, sent, str(config))


def test_a_bom_as_notepad_writes_it_is_read(srv: LocalServer, home: Path) -> None:
    """A bsingest.toml saved by Notepad on a Windows rig starts with a BOM: it said
    'not valid TOML: Invalid statement (at line 1, column 1)'."""
    from bsingest.sessionconfig import load_options

    folder = _session(home, b"\xef\xbb\xbf" + f'session = "{UUID}"\n'.encode())
    config = _config_file(home)
    config.write_bytes(b'\xef\xbb\xbfportal = "public"\n')
    options = load_options(folder).for_api("2026")
    assert (options.container, options.portal) == (UUID, "public")


@pytest.mark.parametrize("kind", ["link loop", "folder", "link to nowhere"])
@pytest.mark.parametrize("which", ["bsingest.toml", "config file"])
def test_a_settings_file_that_cannot_be_read_is_one_line(srv: LocalServer, home: Path,
                                                         kind: str, which: str) -> None:
    """A bsingest.toml (or config file) no one can read, root included (a rig's service
    often runs as an administrator): it was silently ignored (``is_file()`` is False for
    each of these), so a session's settings were not applied and nothing said why."""
    folder = _session(home)
    path = folder / "bsingest.toml" if which == "bsingest.toml" else _config_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "link loop":
        path.symlink_to(path.name)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(path.parent / "gone.toml")
    with pytest.raises(OSError):
        path.read_bytes()  # unreadable for this process, whoever runs it
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url], token=srv.pat)
    assert_usage(result, sent, str(path), "cannot read")


@pytest.mark.parametrize("layout", ["csv", "toml", "bsingest.toml journal"])
def test_a_path_with_a_nul_character_in_a_file_is_one_line(srv: LocalServer, home: Path,
                                                           layout: str) -> None:
    """A manifest's folder (or a journal) with a NUL: "ValueError: embedded null byte"."""
    folder = _session(home)
    procedure = _procedure(srv)
    if layout == "bsingest.toml journal":
        toml = folder / "bsingest.toml"
        toml.write_text(f'session = "{srv.seed.session}"\nprocedures = ["{procedure}"]\n'
                        'journal = "j\\u0000.sqlite"\n')
        args, where = ["ingest", str(folder)], str(toml)
    elif layout == "csv":
        manifest = folder.parent / "m.csv"
        manifest.write_text(f'folder,session,procedures\n"day1\x00",{srv.seed.session},'
                            f"{procedure}\n")
        args, where = ["batch", str(manifest)], str(manifest)
    else:
        manifest = folder.parent / "m.toml"
        manifest.write_text(f'[[session]]\nfolder = "day1\\u0000"\nsession = '
                            f'"{srv.seed.session}"\nprocedures = ["{procedure}"]\n')
        args, where = ["batch", str(manifest)], str(manifest)
    result, sent = _run(srv, [*args, "--server", srv.url, "--dry-run"], token=srv.pat)
    assert_usage(result, sent, where, "NUL")


# -- the user config file: bsingest's own keys there, and values of the wrong kind --------

def test_the_servers_table_bsingest_writes_in_the_config_file_does_not_stop_ingest(
        srv: LocalServer, home: Path) -> None:
    """remember_api writes [servers."URL"] api = ... after a probe; every later ingest
    then ended with 'config.toml: unknown keys servers' (exit 2)."""
    from bsingest.settings import remember_api

    _config_file(home)
    assert remember_api("https://brainstem.lab.example", "2026") is not None
    folder = _session(home)
    result, _ = _run(srv, ["ingest", str(folder), "--server", srv.url, "--session",
                           srv.seed.session, "--procedure",
                           _procedure(srv), "--dry-run"],
                     token=srv.pat)
    assert result.exit_code == 0, result.output


def test_an_api_stated_for_one_server_is_not_applied_to_another(
        srv: LocalServer, home: Path) -> None:
    """config.toml's api goes with its server: it was applied to every server, and a
    session's --session refused as 'api = "2023" in <session>/bsingest.toml' (no such
    file)."""
    _config_file(home).write_text('server = "https://brainstem.lab.example"\napi = "2023"\n')
    folder = _session(home)
    result, _ = _run(srv, ["ingest", str(folder), "--server", srv.url, "--session",
                           srv.seed.session, "--procedure",
                           _procedure(srv), "--dry-run", "--json"],
                     token=srv.pat)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["api"] == "2026"


def test_api_as_a_number_in_the_config_file_is_taken_by_every_command(
        srv: LocalServer, home: Path) -> None:
    """check_api takes api = 2026 (a TOML integer); ingest refused it as 'api must be a
    string' while records took it."""
    _config_file(home).write_text(f'server = "{srv.url}"\napi = 2026\n')
    folder = _session(home)
    for args in (["records", "list"],
                 ["ingest", str(folder), "--session", srv.seed.session, "--procedure",
                  _procedure(srv), "--dry-run"]):
        result, _ = _run(srv, args, token=srv.pat)
        assert result.exit_code == 0, (args[0], result.output)


CONFIG_BAD: dict[str, st.SearchStrategy[Any]] = {
    "server": st.one_of(NOT_TEXT, st.sampled_from(["ftp://x", "http://[::1", "not a url",
                                                   "https://127.0.0.1:99999"])),
    "api": st.one_of(st.integers(-5, 5), st.floats(), st.booleans(), NESTED,
                     TEXT.filter(lambda s: s not in ("2023", "2026"))),
    "servers": st.one_of(SCALAR_NOT_TEXT, TEXT, st.lists(TEXT, max_size=2)),
    "portal": st.one_of(NOT_TEXT, st.just("nope")),
    "existing": st.one_of(NOT_TEXT, st.just("always")),
    "settle": BAD_WAIT,
    "session": st.one_of(NOT_TEXT, NOT_A_UUID),
}


@FEW
@given(data=st.data())
def test_a_bad_value_in_the_config_file_is_one_line_naming_it(
        srv: LocalServer, home: Path, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(CONFIG_BAD)), label="key")
    bad = data.draw(CONFIG_BAD[key], label="value")
    config = _config_file(home)
    table: dict[str, Any] = {key: bad}
    if key == "api":
        table = {"server": srv.url, "api": bad}
    config.write_text(toml_text(table))
    folder = _session(home)
    args = ["ingest", str(folder)]
    if key not in ("server", "api"):
        args += ["--server", srv.url]
    if key == "servers":  # read where a server's generation is looked up
        args = ["records", "list", "--server", "https://brainstem.lab.example"]
    result, sent = _run(srv, args, token=srv.pat)
    line = assert_usage(result, sent)
    assert str(config) in line or (key == "server" and "server" in line), line
    _the_key(key, line)


# -- command-line options ------------------------------------------------------------------

#: Text a shell may pass for a number: words, NaN and infinity, signs, huge exponents.
NUMBER_TEXT_BAD = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1", "0x10", "",
                     " ", "1,5", "30kHz", "1e400"]),
    st.text("abcxyz%+-_. ", min_size=1, max_size=6).filter(lambda s: not _is_number(s)))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@FEW
@given(option=st.sampled_from(["--sr", "--lsb", "--settle", "--lock-timeout",
                               "--n-channels"]),
       value=st.one_of(NUMBER_TEXT_BAD,
                       st.sampled_from(["0", "-0.5", "99999999999999999999999", "1e308"])))
def test_a_bad_number_on_the_command_line_is_a_usage_error(
        srv: LocalServer, home: Path, option: str, value: str) -> None:
    if value in ("1e308",) and option in ("--sr", "--lsb", "--lock-timeout"):
        return  # finite and positive: the extractor's plausibility bounds judge a rate
    if value == "99999999999999999999999" and option in ("--sr", "--lsb", "--lock-timeout"):
        return
    if value == "0" and option in ("--settle", "--lock-timeout"):
        return  # 0 s is a wait of none
    folder = _session(home)
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--session",
                              srv.seed.session, option, value], token=srv.pat)
    line = assert_usage(result, sent)
    assert option in line or option.lstrip("-").replace("-", "_") in line, line


@FEW
@given(option=st.sampled_from(["--settle", "--poll", "--retry-max"]),
       value=st.sampled_from(["nan", "inf", "-inf", "1e308", "-1", "x"]))
def test_watch_waits_are_finite(srv: LocalServer, home: Path, option: str,
                                value: str) -> None:
    """click's FloatRange took 'nan' and 'inf' for watch's waits (a session that never
    settles; time.sleep(1e308) is an OverflowError)."""
    result, sent = _run(srv, ["watch", str(home), "--server", srv.url, option, value],
                        token=srv.pat)
    assert_usage(result, sent, option)


@FEW
@given(option=st.sampled_from(["--laser-power", "--excitation-wavelength",
                               "--imaging-depth"]),
       value=st.one_of(st.sampled_from(["30", "30 %", "30%", "920 Hz", "nan nm", "1e999 mW",
                                        "-5 um", "", "mW", "30 W m"]),
                       st.text("abc%/ ", max_size=5)))
def test_a_quantity_that_is_not_one_is_a_usage_error(
        srv: LocalServer, home: Path, option: str, value: str) -> None:
    folder = _session(home)
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--session",
                              srv.seed.session, option, value], token=srv.pat)
    assert_usage(result, sent, option)


@pytest.mark.parametrize("option", ["--journal", "--log", "--report-html"])
def test_a_folder_where_a_file_is_expected_is_a_usage_error(
        srv: LocalServer, home: Path, option: str) -> None:
    folder = _session(home)
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--session",
                              srv.seed.session, option, str(home)], token=srv.pat)
    assert_usage(result, sent, option)


def test_a_journal_that_cannot_be_opened_is_said_before_any_request(
        srv: LocalServer, home: Path) -> None:
    """--journal under a regular file: no folder can be made there, for root too. It was
    found after the server had been asked which API it speaks (a request, then exit 1)."""
    folder = _session(home)
    blocker = home / "a-file"
    blocker.write_text("")
    journal = blocker / "journal.sqlite"
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--session",
                              srv.seed.session, "--journal", str(journal)], token=srv.pat)
    assert sent == 0, result.stderr
    assert "Traceback" not in result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(journal) in lines[0] and "cannot open" in lines[0], lines
    # The journal's own error (exit 1, as a full disk gives): a local fault, not an option
    # the user got wrong; what changed is that it comes before the server is asked.
    assert result.exit_code == exitcodes.FAILED


@pytest.mark.parametrize("given_as", ["missing", "a file"])
def test_a_session_folder_that_is_none_is_a_usage_error(
        srv: LocalServer, home: Path, given_as: str) -> None:
    path = home / "nowhere" if given_as == "missing" else _session(home) / "rec.dat"
    result, sent = _run(srv, ["ingest", str(path), "--server", srv.url], token=srv.pat)
    assert_usage(result, sent, "SESSION_DIR")


@FEW
@given(option=st.sampled_from(["--notes", "--description"]),
       text=st.one_of(st.text(min_size=501, max_size=600),
                      st.builds(lambda a, b: a + "\udcff" + b, TEXT, TEXT)))
def test_notes_a_record_cannot_hold_are_refused_before_any_request(
        srv: LocalServer, home: Path, option: str, text: str) -> None:
    """Over 500 characters, or bytes that were not UTF-8 (a lone surrogate in argv): the
    look-ups went out first and every record then failed, the surrogate one as if its
    file's name were not UTF-8 ('rename the file'), exit 1."""
    folder = _session(home)
    links = (["--session", srv.seed.session, "--procedure",
              _procedure(srv)] if option == "--notes"
             else ["--dataset", UUID, "--action", UUID])
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, *links,
                              option, text], token=srv.pat)
    assert_usage(result, sent, option)


def test_a_session_name_that_is_not_utf8_is_one_line(srv: LocalServer, home: Path) -> None:
    """--session-name (or a folder's name) from bytes that are not UTF-8: the session's
    POST body raised a UnicodeEncodeError traceback."""
    folder = _session(home)
    result, sent = _run(srv, ["ingest", str(folder), "--server", srv.url, "--create-session",
                              "--project", UUID, "--procedure",
                              _procedure(srv),
                              "--session-name", "day\udcff1"], token=srv.pat)
    assert_usage(result, sent, "--session-name", "UTF-8")


# -- tokens: never echoed, refused before the server is asked -------------------------------

#: Tokens a header cannot carry: spaces, control characters, non-ASCII, in the middle
#: (at either end, whitespace is stripped off, as from a pasted line). No NUL: an
#: environment variable cannot hold one.
BAD_TOKEN = st.builds(lambda a, junk, b: TOKEN_MARK + a + junk + b,
                      st.text("abc123", max_size=4),
                      st.sampled_from([" ", "\t", "\x1b[31m", "é", "\u202e", "\x7f", "€",
                                       "\x1c"]),
                      st.text("abc123", min_size=1, max_size=4))


@FEW
@given(token=BAD_TOKEN)
def test_login_token_stdin_refuses_a_bad_token_before_any_request_without_echo(
        srv: LocalServer, home: Path, token: str) -> None:
    result, sent = _run(srv, ["login", "--server", srv.url, "--token-stdin"],
                        stdin=token + "\n")
    assert_usage(result, sent, "--token-stdin")


@FEW
@given(token=BAD_TOKEN)
def test_a_bad_token_in_the_environment_is_never_echoed(srv: LocalServer, home: Path,
                                                       token: str) -> None:
    result, sent = _run(srv, ["records", "list", "--server", srv.url, "--api", "2026"],
                        token=token)
    assert_usage(result, sent, "BRAINSTEM_TOKEN")


@pytest.mark.parametrize("content", [b"SECRETTOKEN\xff\xfe\n", b"SECRETTOKEN one\ntwo\n",
                                     b"\xef\xbb\xbfSECRETTOKEN\x00\n"])
def test_a_bad_token_file_is_named_and_never_echoed(srv: LocalServer, home: Path,
                                                    content: bytes) -> None:
    from bsingest.settings import server_token_file

    path = server_token_file(srv.url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    result, sent = _run(srv, ["records", "list", "--server", srv.url, "--api", "2026"])
    assert_usage(result, sent, str(path))


def test_a_token_file_that_is_a_folder_is_one_line(srv: LocalServer, home: Path) -> None:
    from bsingest.settings import server_token_file

    server_token_file(srv.url).mkdir(parents=True)
    result, sent = _run(srv, ["records", "list", "--server", srv.url, "--api", "2026"])
    assert_usage(result, sent, str(server_token_file(srv.url)))


# -- the Python API: wrong types are BsingestErrors, before any request ---------------------

#: ingest()'s keywords -> values of the wrong kind for each.
KEYWORD_BAD: dict[str, st.SearchStrategy[Any]] = {
    "session": st.one_of(st.integers(), st.lists(TEXT, max_size=2), NOT_A_UUID),
    "procedures": st.one_of(st.integers(), st.floats(),
                            st.lists(st.integers(), min_size=1, max_size=2),
                            st.lists(NOT_A_UUID, min_size=1, max_size=2)),
    "equipment": st.one_of(st.integers(), st.lists(st.integers(), min_size=1, max_size=2)),
    "notes": st.one_of(st.integers(), st.lists(TEXT, max_size=2), st.text(min_size=501,
                                                                           max_size=510)),
    "session_name": st.one_of(st.integers(), st.lists(TEXT, max_size=1)),
    "existing": st.one_of(st.integers(), TEXT.filter(lambda s: s not in ("skip", "update",
                                                                         "error"))),
    "type_map": st.one_of(st.integers(), st.lists(st.integers(), min_size=1, max_size=2),
                          st.lists(TEXT.filter(lambda s: "=" not in s), min_size=1,
                                   max_size=2)),
    "settle": st.one_of(TEXT, NON_FINITE, st.floats(max_value=-1e-9), HUGE),
    "stated": st.one_of(st.integers(), st.lists(st.tuples(TEXT, st.integers()), max_size=2),
                        st.fixed_dictionaries({"sr": BAD_RATE.filter(
                            lambda v: not isinstance(v, str))}),
                        st.fixed_dictionaries({"n_channels": st.one_of(
                            HUGE, st.integers(max_value=0))}),
                        st.fixed_dictionaries({"dtype": st.sampled_from(["complex", "i2"])}),
                        st.fixed_dictionaries({"laser_power": st.sampled_from(
                            ["30 %", "30", "30 nm"])}),
                        st.dictionaries(TEXT.filter(lambda s: s not in (
                            "n_channels", "sr", "dtype", "lsb", "excitation_wavelength",
                            "laser_power", "imaging_depth")), st.integers(), min_size=1,
                            max_size=1)),
    "record_type": st.one_of(st.integers(), TEXT.filter(lambda s: s not in type_names())),
    "server": st.one_of(st.integers(), st.sampled_from(["ftp://x", "http://[::1",
                                                        "https://127.0.0.1:99999"])),
    "project": st.one_of(st.integers(), NOT_A_UUID),
    "verify": st.one_of(TEXT, st.integers(2, 5)),
}


@FEW
@given(data=st.data())
def test_ingest_keywords_of_the_wrong_kind_raise_a_usage_error_before_any_request(
        srv: LocalServer, home: Path, data: st.DataObject) -> None:
    import bsingest

    key = data.draw(st.sampled_from(sorted(KEYWORD_BAD)), label="keyword")
    bad = data.draw(KEYWORD_BAD[key], label="value")
    keywords: dict[str, Any] = {"session": srv.seed.session,
                                "procedures": [_procedure(srv)],
                                "server": srv.url, "token": srv.pat, "dry_run": True}
    if key == "project":
        del keywords["session"]
        keywords["create_session"] = True
    keywords[key] = bad
    folder = _session(home)
    before = len(srv.hits)
    with pytest.raises(BsingestError):
        bsingest.ingest(folder, **keywords)
    assert len(srv.hits) == before


@FEW
@given(value=st.one_of(st.integers(), st.floats(), st.booleans(), st.none(),
                       st.lists(st.integers(), max_size=2), st.binary(max_size=4), TEXT,
                       st.dictionaries(TEXT, st.integers(), max_size=2)))
def test_check_id_refuses_anything_but_a_uuid_as_a_usage_error(value: Any) -> None:
    from bsingest.ids import check_id

    if isinstance(value, str) and re.fullmatch(
            r"\s*[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\s*", value):
        return
    with pytest.raises(UsageError) as info:
        check_id(value, "--session")
    message = str(info.value)
    assert message.startswith("--session ") and "\n" not in message and len(message) < 200


@FEW
@given(server=st.one_of(st.integers(), st.floats(), st.lists(TEXT, max_size=2),
                        st.sampled_from(["ftp://x", "http://[::1", "https://127.0.0.1:99999",
                                         "https://", "://", "http://a b", "https://u:p@h",
                                         "https://h/?q=1", "http://example.org"])))
def test_a_client_for_a_server_that_is_no_url_is_a_usage_error(server: Any) -> None:
    from bsingest.client import BrainstemClient

    with pytest.raises(UsageError):
        BrainstemClient(server=server, token=TOKEN_MARK, api="2026")


@FEW
@given(record=st.one_of(st.integers(), st.none(), TEXT, st.lists(st.integers(), max_size=2),
                        st.fixed_dictionaries({"type": st.just("Extracellular"),
                                               "type_json": NOT_TEXT})))
def test_validate_a_record_that_is_no_record_raises_record_invalid(record: Any) -> None:
    import bsingest

    with pytest.raises(RecordInvalid):
        bsingest.validate(record)


@FEW
@given(key=st.sampled_from(["sr", "lsb", "n_channels"]),
       value=st.one_of(HUGE, st.integers(max_value=-1), NON_FINITE))
def test_stated_numbers_no_float_holds_are_errors_not_overflows(
        tmp_path_factory: pytest.TempPathFactory, key: str, value: Any) -> None:
    """extract(sr=10**400) was 'unexpected OverflowError (a bug in bsingest)'."""
    import bsingest

    folder = tmp_path_factory.mktemp("raw")
    write_dat(folder / "a.dat", n_channels=2, n_samples=10)
    stated = {"n_channels": 2, "sr": 1000, key: value}
    with pytest.raises(BsingestError):
        bsingest.extract(folder / "a.dat", **stated)
    with pytest.raises(UsageError):  # a folder's: checked before any file is read
        bsingest.extract_folder(folder, **stated)


# -- a stated value reaches the record only in the schema's unit ----------------------------

#: Unit -> its size in the field's unit, written out here (not read from bsingest).
LENGTH_NM = {"nm": Decimal(1), "µm": Decimal(1000), "um": Decimal(1000), "μm": Decimal(1000),
             "mm": Decimal(10**6), "cm": Decimal(10**7), "m": Decimal(10**9)}
POWER_MW = {"mW": Decimal(1), "W": Decimal(1000), "µW": Decimal("0.001"),
            "uW": Decimal("0.001")}


@FEW
@given(key=st.sampled_from(["excitation_wavelength", "laser_power", "imaging_depth"]),
       digits=st.integers(1, 10**6), exponent=st.integers(-3, 3), space=st.booleans(),
       data=st.data())
def test_a_stated_quantity_is_converted_exactly_to_the_fields_unit(
        key: str, digits: int, exponent: int, space: bool, data: st.DataObject) -> None:
    from bsingest.quantities import parse

    units = POWER_MW if key == "laser_power" else LENGTH_NM
    unit = data.draw(st.sampled_from(sorted(units)), label="unit")
    number = Decimal(digits).scaleb(exponent)
    size = units[unit] if key != "imaging_depth" else units[unit] / 1000  # depth: µm
    expected = number * size
    got = parse(key, f"{number}{' ' if space else ''}{unit}")
    assert Decimal(repr(got)) == expected or math.isclose(got, float(expected),
                                                          rel_tol=1e-15)
    assert isinstance(got, int | float) and not isinstance(got, bool)


@FEW
@given(value=st.builds(lambda n, s: f"{n}{s}", st.integers(1, 100),
                       st.sampled_from(["%", " %", " percent", " % of max"])))
def test_a_percentage_is_never_a_power(value: str) -> None:
    from bsingest.quantities import QuantityError, parse

    with pytest.raises(QuantityError):
        parse("laser_power", value)
