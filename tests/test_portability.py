"""Windows rigs: bsingest runs where POSIX-only modules do not exist.

We cannot run Windows here, so every test below runs bsingest in a subprocess whose
``sitecustomize`` makes ``fcntl``, ``resource``, ``pwd``, ``grp`` and ``termios``
unimportable (as they are on Windows), in that process and in every process it spawns
(batch's extraction workers). ``.github/workflows/ci.yml`` runs the whole suite on a
Windows runner once the project is hosted.
"""

from __future__ import annotations

import ast
import collections
import os
import pkgutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import bsingest
import extractors
from bsingest.client import BrainstemClient, RetryPolicy
from bsingest.server import LocalServer
from tests.fixtures import bsingest_cmd, write_dat, write_neuroscope_xml

POSIX_ONLY = ("fcntl", "resource", "pwd", "grp", "termios")
DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # seed: alice's
DATASET_2 = "a2987175-c93b-47a6-9a35-6aa48c3e2640"
ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"

_PRELUDE = f"""\
import sys
import warnings

for _name in {POSIX_ONLY!r}:
    sys.modules[_name] = None  # import raises ImportError, as on Windows
# filelock says once that it falls back to its soft lock (no flock without fcntl).
warnings.filterwarnings("ignore", message="only soft file lock")
"""


def windowsish_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a process without POSIX-only modules (its children too)."""
    prelude = tmp_path / "prelude"
    prelude.mkdir(exist_ok=True)
    (prelude / "sitecustomize.py").write_text(_PRELUDE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRAINSTEM", "BSINGEST"))}
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([str(prelude), root])
    env.update(XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"),
               BSINGEST_JOURNAL=str(tmp_path / "journal.sqlite"), **extra)
    return env


def session(folder: Path, prefix: str, n: int) -> list[str]:
    folder.mkdir(parents=True)
    for i in range(n):
        write_dat(folder / f"{prefix}{i}.dat", n_channels=2, n_samples=4 + i)
    write_neuroscope_xml(folder / "session.xml", 2)
    return [f"{prefix}{i}.dat" for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(bsingest_cmd(*args), env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_prelude_takes_the_posix_only_modules_away(tmp_path: Path) -> None:
    code = (f"import importlib\nfor m in {POSIX_ONLY!r}:\n    try:\n"
            "        importlib.import_module(m)\n        print(m, 'importable')\n"
            "    except ImportError:\n        pass\n")
    done = subprocess.run([sys.executable, "-c", code], env=windowsish_env(tmp_path),
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_every_module_imports_without_posix_only_modules(tmp_path: Path) -> None:
    names = [m.name for pkg in (bsingest, extractors)
             for m in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + ".")
             if not m.name.endswith("__main__")]
    assert "bsingest.locks" in names and "extractors.rawbinary" in names
    code = ("import importlib, sys\nbad = []\nfor m in sys.argv[1:]:\n    try:\n"
            "        importlib.import_module(m)\n    except Exception as exc:\n"
            "        bad.append(f'{m}: {type(exc).__name__}: {exc}')\nprint('\\n'.join(bad))\n")
    done = subprocess.run([sys.executable, "-c", code, *names], env=windowsish_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_ingest_push_batch_and_server_run_without_posix_only_modules(tmp_path: Path) -> None:
    db = tmp_path / "server.sqlite3"
    with LocalServer(db_path=db) as seeded:  # seeds the database; its token for the runs
        token = seeded.token
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = windowsish_env(tmp_path, BRAINSTEM_SERVER=url, BRAINSTEM_TOKEN=token)
    first = session(tmp_path / "first", "a", 3)

    # Nothing listens yet: the records wait in the journal (exit 3), under the locks.
    queued = run(env, "ingest", "--api", "2023", str(tmp_path / "first"), "--dataset", DATASET,
                 "--action", ACTION)
    assert queued.returncode == 3, queued.stderr
    assert "Traceback" not in queued.stderr

    server = subprocess.Popen(bsingest_cmd("server", "--port", str(port), "--db", str(db)),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        assert server.stderr is not None
        assert server.stderr.readline().startswith("BrainSTEM-compatible server on")
        _wait_for(port)
        pushed = run(env, "push", "--api", "2023")
        assert pushed.returncode == 0, pushed.stderr

        second = session(tmp_path / "second", "b", 2)
        third = session(tmp_path / "third", "c", 2)
        (tmp_path / "m.csv").write_text(
            "session,dataset,actions,hardware_device,description\n"
            f"second,{DATASET},{ACTION},,\nthird,{DATASET_2},{ACTION},,\n")
        batched = run(env, "batch", "--api", "2023", str(tmp_path / "m.csv"), "--jobs", "2")
        assert batched.returncode == 0, batched.stderr
        again = run(env, "ingest", "--api", "2023", str(tmp_path / "first"), "--dataset", DATASET,
                    "--action", ACTION, "--json")
        assert again.returncode == 0, again.stderr
        assert '"unchanged": 3' in again.stdout

        with BrainstemClient(api="2023", server=url, token=token,
                             retry=RetryPolicy(wait=False)) as c:
            on_server = collections.Counter(
                r["type_json"]["fileName"] for d in (DATASET, DATASET_2)
                for r in c.experiment_data(d))
        assert {n: on_server[n] for n in first + second + third} == dict.fromkeys(
            first + second + third, 1)
    finally:
        server.terminate()
        server.communicate(timeout=60)


def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


# -- Windows paths in manifests and bsingest.toml -------------------------------------------


def test_a_manifest_written_on_windows_finds_its_sessions(tmp_path: Path) -> None:
    from bsingest.batch import read_manifest

    (tmp_path / "rat01" / "day3").mkdir(parents=True)
    (tmp_path / "m.csv").write_text("session,dataset,actions,hardware_device,description\r\n"
                                    f"rat01\\day3,{DATASET},{ACTION},,\r\n")
    (tmp_path / "m.toml").write_text(
        f"[[session]]\nsession = 'rat01\\day3'\ndataset = '{DATASET}'\n"
        "[[session.files]]\nmatch = 'raw\\*.bin'\nn_channels = 4\n")
    (csv_job,) = read_manifest(tmp_path / "m.csv")
    (toml_job,) = read_manifest(tmp_path / "m.toml")
    assert csv_job.session == toml_job.session == tmp_path / "rat01" / "day3"
    assert csv_job.session.is_dir()
    (rule,) = toml_job.given["rules"]
    assert rule.match == "raw/*.bin" and rule.matches("raw/probe0.bin")


@pytest.mark.skipif(os.name == "nt", reason="there, a drive letter is a path like any other")
@pytest.mark.parametrize("value", ["D:\\data\\rat01", "D:/data/rat01", "\\\\nas\\lab\\rat01"])
def test_an_absolute_windows_path_elsewhere_is_a_one_line_error(tmp_path: Path,
                                                                 value: str) -> None:
    from bsingest.batch import read_manifest
    from bsingest.errors import UsageError

    (tmp_path / "m.csv").write_text("session,dataset,actions,hardware_device,description\n"
                                    f"{value},{DATASET},{ACTION},,\n")
    with pytest.raises(UsageError) as exc:
        read_manifest(tmp_path / "m.csv")
    assert str(exc.value) == (
        f"{tmp_path / 'm.csv'}: session: {value!r} is a Windows path (drive or network "
        "share); on this computer, give the path it mounts that folder at")


def test_session_file_globs_and_journal_written_on_windows(tmp_path: Path) -> None:
    from bsingest.sessionconfig import load_options

    (tmp_path / "bsingest.toml").write_text(
        "journal = 'out\\journal.sqlite'\n[[files]]\nmatch = 'lfp\\*.lfp'\n"
        "type = 'GeneralTimeSeries'\n")
    options = load_options(tmp_path)
    assert options.journal == os.path.join("out", "journal.sqlite")
    assert options.for_file("lfp/a.lfp").record_type == "GeneralTimeSeries"
    assert options.for_file("b.lfp").record_type is None


# -- what `pip install .` brings ------------------------------------------------------------


def test_opencv_and_soundfile_are_test_dependencies_only() -> None:
    import importlib.metadata
    import re

    requires = importlib.metadata.requires("bsingest") or []
    base = {re.split(r"[ <>=;\[]", r, maxsplit=1)[0].lower() for r in requires
            if "extra ==" not in r}
    test = {re.split(r"[ <>=;\[]", r, maxsplit=1)[0].lower() for r in requires
            if re.search(r"extra == .test.", r)}
    assert "filelock" in base
    assert not base & {"opencv-python-headless", "opencv-python", "soundfile"}, base
    assert {"opencv-python-headless", "soundfile"} <= test
    # ... because the program never imports them (the tests do, as second readers); and
    # modules that exist only on POSIX are imported only where an ImportError is caught,
    # so that the program runs on a Windows rig.
    root = Path(bsingest.__file__).parent.parent
    imported: set[str] = set()
    unguarded: set[str] = set()
    for package in ("bsingest", "extractors"):
        for path in (root / package).rglob("*.py"):
            for name, guarded in _imports(ast.parse(path.read_text("utf-8"))):
                imported.add(name)
                if not guarded:
                    unguarded.add(name)
    assert not imported & {"cv2", "soundfile"}
    assert not unguarded & {"fcntl", "resource", "pwd", "grp", "termios"}


def _imports(tree: ast.AST, guarded: bool = False) -> Iterator[tuple[str, bool]]:
    """Each absolute import under ``tree``: its top-level module, and whether it sits in a
    ``try`` whose handlers catch ImportError."""
    if isinstance(tree, ast.Import):
        yield from ((a.name.split(".")[0], guarded) for a in tree.names)
    elif isinstance(tree, ast.ImportFrom) and tree.module and not tree.level:
        yield tree.module.split(".")[0], guarded
    elif isinstance(tree, ast.Try):
        caught = {n.id for h in tree.handlers for n in ast.walk(h.type) if h.type
                  and isinstance(n, ast.Name)}
        safe = guarded or bool(caught & {"ImportError", "ModuleNotFoundError", "Exception"})
        for node in tree.body:
            yield from _imports(node, safe)
        for node in (*tree.handlers, *tree.orelse, *tree.finalbody):
            yield from _imports(node, guarded)
        return
    for node in ast.iter_child_nodes(tree):
        yield from _imports(node, guarded)
