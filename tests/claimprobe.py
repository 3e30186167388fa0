"""What deciding whose a file is reads: every file's claims, in a fresh process, with
``open`` and ``mmap`` watched.

Run as ``python -m tests.claimprobe ROOT...``: every file under the roots is claimed as a
folder listing claims it (:func:`extractors._ask`: each family whose endings fit the name,
then the content families when none knows it), and the report (JSON on stdout) says, per
family and kind of claim (``claim``, ``claim_content``), which byte ranges of which files
under the roots it read, and which top-level modules it imported. :func:`probe` runs it.

A fresh process, so that a library some test imported earlier cannot hide an import.
"""

from __future__ import annotations

import builtins
import io
import json
import mmap
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def probe(*roots: Path) -> dict[str, Any]:
    """The report of ``python -m tests.claimprobe roots...`` (see the module docstring):
    ``{"reads": [[asker, file, start, end], ...], "imports": {asker: [module, ...]},
    "claimed": {file: [family, ...]}}``; ``asker`` is ``"<family>.claim"`` or
    ``"<family>.claim_content"``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), *sys.path]))
    out = subprocess.run([sys.executable, "-m", "tests.claimprobe", *map(str, roots)],
                         capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


class _Watched:
    """A file object that notes the byte ranges read through it."""

    def __init__(self, fh: Any, note: Any) -> None:
        self._fh, self._note = fh, note

    def _read(self, how: str, *args: Any) -> Any:
        start = self._fh.tell()
        data = getattr(self._fh, how)(*args)
        self._note(start, self._fh.tell())
        return data

    def read(self, *args: Any) -> Any:
        return self._read("read", *args)

    def read1(self, *args: Any) -> Any:
        return self._read("read1", *args)

    def readline(self, *args: Any) -> Any:
        return self._read("readline", *args)

    def readlines(self, *args: Any) -> Any:
        return self._read("readlines", *args)

    def readinto(self, *args: Any) -> Any:
        return self._read("readinto", *args)

    def __iter__(self) -> Any:
        while line := self.readline():
            yield line

    def __enter__(self) -> _Watched:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def _main(roots: list[str]) -> None:
    import extractors
    from extractors import _ask, _walk

    top = [os.path.realpath(r) for r in roots]
    asker = [""]
    reads: list[list[Any]] = []
    imports: dict[str, set[str]] = {}

    def ours(file: object) -> str | None:
        if not isinstance(file, str | os.PathLike) or not asker[0]:
            return None
        real = os.path.realpath(os.fspath(file))
        return real if any(real == t or real.startswith(t + os.sep) for t in top) else None

    real_open = io.open

    def watched_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real_open(file, mode, *args, **kwargs)
        real = ours(file)
        if real is None or "r" not in mode:
            return fh
        who = asker[0]
        return _Watched(fh, lambda start, end: reads.append([who, real, start, end]))

    real_mmap = mmap.mmap

    class WatchedMmap(real_mmap):  # type: ignore[misc,valid-type]
        # A mapping can read any byte: counted as reading all it maps.
        def __new__(cls, fileno: int, length: int, *args: Any, **kwargs: Any) -> Any:
            m = real_mmap.__new__(cls, fileno, length, *args, **kwargs)
            real = ours(os.readlink(f"/proc/self/fd/{fileno}")) \
                if os.path.exists(f"/proc/self/fd/{fileno}") else None
            if real is not None:
                reads.append([asker[0], real, 0, len(m)])
            return m

    builtins.open = io.open = watched_open  # type: ignore[assignment]
    mmap.mmap = WatchedMmap  # type: ignore[misc]

    def watch(cls: Any, how: str) -> None:
        original = getattr(cls, how)

        def asked(path: Path) -> Any:
            outer, asker[0] = asker[0], f"{cls.name}.{how}"
            before = set(sys.modules)
            try:
                return original(path)
            finally:
                asker[0] = outer
                new = {m.partition(".")[0] for m in set(sys.modules) - before}
                imports.setdefault(f"{cls.name}.{how}", set()).update(new)

        setattr(cls, how, staticmethod(asked))

    for cls in extractors.EXTRACTORS:
        watch(cls, "claim")
        watch(cls, "claim_content")
    claimed = {}
    for root in roots:
        for p in _walk(Path(root)):
            claimed[str(p)] = [cls.name for cls in _ask(p)[1]]
    json.dump({"reads": reads, "claimed": claimed,
               "imports": {k: sorted(v) for k, v in imports.items() if v}}, sys.stdout)


if __name__ == "__main__":
    _main(sys.argv[1:])
