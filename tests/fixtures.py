"""Writers for the small files tests need. Every fixture is generated, never checked in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


def write_dat(path: Path, n_channels: int, n_samples: int, dtype: str = "<i2",
              extra_bytes: int = 0) -> Path:
    """An interleaved binary file of ``n_samples`` frames, plus ``extra_bytes`` of tail."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (np.arange(n_samples * n_channels) % 1000).astype(dtype)
    with open(path, "wb") as fh:
        fh.write(data.tobytes())
        fh.write(b"\x01" * extra_bytes)
    return path


def write_neuroscope_xml(path: Path, n_channels: int, *, n_bits: int = 16,
                         sampling_rate: float = 20000, lfp_rate: float | None = 1250,
                         voltage_range: float = 20, amplification: float = 1000,
                         groups: Sequence[Sequence[int]] | None = None,
                         skip: Iterable[int] = (), labels: Sequence[str] | None = None,
                         offset: int = 0) -> Path:
    """A Neuroscope session XML as ndManager writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    skip = set(skip)
    group_xml = ""
    for i, g in enumerate(groups or []):
        label = f' label="{labels[i]}"' if labels else ""
        chans = "".join(f'<channel skip="{int(c in skip)}">{c}</channel>' for c in g)
        group_xml += f"<group{label}>{chans}</group>"
    lfp = f"<fieldPotentials><lfpSamplingRate>{lfp_rate}</lfpSamplingRate></fieldPotentials>" \
        if lfp_rate is not None else ""
    path.write_text(
        "<?xml version='1.0'?>\n<parameters creator=\"ndManager\" version=\"1.0\">"
        f"<acquisitionSystem><nBits>{n_bits}</nBits><nChannels>{n_channels}</nChannels>"
        f"<samplingRate>{sampling_rate}</samplingRate><voltageRange>{voltage_range}</voltageRange>"
        f"<amplification>{amplification}</amplification><offset>{offset}</offset></acquisitionSystem>"
        f"{lfp}<anatomicalDescription><channelGroups>{group_xml}</channelGroups>"
        "</anatomicalDescription></parameters>\n"
    )
    return path


def bsingest_cmd(*args: str) -> list[str]:
    """The command line that runs bsingest with this interpreter."""
    import sys

    return [sys.executable, "-m", "bsingest.cli.main", *args]


def signal_mid_run(cmd: list[str], env: dict[str, str], server: object, requests: int,
                   sig: int, *, method: str | None = None) -> tuple[int, str]:
    """Run ``cmd``; once ``server`` has seen ``requests`` requests (of ``method``, if given),
    send it ``sig``. Returns its exit status (negative: killed by a signal) and stderr."""
    import subprocess
    import time

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)

    def seen() -> int:
        return sum(method is None or h.method == method for h in server.hits)  # type: ignore[attr-defined]

    while seen() < requests and proc.poll() is None:
        time.sleep(0.001)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err
