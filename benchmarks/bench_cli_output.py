"""The command line's own cost at scale (issue 12): tables of many files, big manifests.

- **table vs JSON**: ``bsingest extract DIR`` on a folder of ``--files`` tiny ``.dat``
  files (one Neuroscope XML), printing the table, beside the same with ``--json``. The
  table must cost about what the JSON costs: the extraction is the same.
- **manifest dry run**: ``bsingest batch MANIFEST --dry-run`` with ``--rows`` sessions of
  one file each, against the local demo server. Must grow linearly with the rows.

Each is a whole child process (wall time and peak RSS, :func:`_timing.measure`).

    .venv/bin/python benchmarks/bench_cli_output.py [--files 20000] [--rows 1000 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import measure
from tests.fixtures import write_dat, write_neuroscope_xml

DATASET = "4b060709-9585-484b-bde0-0a47a554aaab"  # the demo seed's
ACTION = "087b71c4-6785-437c-b8ef-e35a82a8463e"


def bsingest(*args: str) -> list[str]:
    return [sys.executable, "-m", "bsingest.cli.main", *args]


def table_vs_json(tmp: Path, n_files: int, repeat: int) -> None:
    folder = tmp / "many"
    folder.mkdir()
    write_neuroscope_xml(folder / "session.xml", 2)
    for i in range(n_files):
        write_dat(folder / f"r{i:05d}.dat", n_channels=2, n_samples=4)
    table = measure(bsingest("extract", str(folder)), repeat)
    as_json = measure(bsingest("extract", str(folder), "--json"), repeat)
    print(f"extract, {n_files:,} files: table {table[0]:.1f} s ({table[1]:.0f} MiB), "
          f"--json {as_json[0]:.1f} s ({as_json[1]:.0f} MiB), "
          f"table/json {table[0] / as_json[0]:.2f}")


def manifest_dry_run(tmp: Path, rows: int, repeat: int) -> float:
    root = tmp / f"m{rows}"
    lines = ["session,dataset,actions,hardware_device,description"]
    for i in range(rows):
        folder = root / f"s{i:05d}"
        folder.mkdir(parents=True)
        write_neuroscope_xml(folder / "session.xml", 2)
        write_dat(folder / f"s{i:05d}.dat", n_channels=2, n_samples=4)
        lines.append(f"s{i:05d},{DATASET},{ACTION},,")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    seconds, mib = measure(bsingest("batch", "--api", "2023", str(manifest), "--dry-run",
                                    "--jobs", "2"),
                           repeat)
    print(f"batch --dry-run, {rows:,} rows: {seconds:.1f} s, {mib:.0f} MiB, "
          f"{1000 * seconds / rows:.1f} ms per row")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    # No server configured anywhere: the dry run uses the local demo (on a snapshot).
    for key in [k for k in os.environ if k.startswith(("BRAINSTEM", "BSINGEST"))]:
        del os.environ[key]
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "cfg")
        os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        if args.files:
            table_vs_json(Path(tmp), args.files, args.repeat)
        for rows in args.rows:
            manifest_dry_run(Path(tmp), rows, args.repeat)


if __name__ == "__main__":
    main()
