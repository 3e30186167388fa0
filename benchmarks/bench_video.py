"""Video: counting 20,000 frames, bsingest beside OpenCV's grab() loop and ffprobe.

In-process, per file: bsingest's ``extract`` (median of ``--repeat`` calls after a
warm-up), an OpenCV ``grab()`` count (one pass: it decodes every frame), and
``ffprobe -count_packets`` (a child process, median of ``--repeat`` runs). The files are
generated once (64x48, 25 fps, libx264 with B-frames in MP4 and MKV, MJPEG in AVI) into
``--cache`` and reused. Targets (issue 3): indexed MP4/AVI at most 1/100 of the grab()
count's time; MKV at most 1.2x ffprobe's packet count.

    .venv/bin/python benchmarks/bench_video.py [--frames 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_call
from bsingest.extraction import extract
from tests.samples.video import cv2_avi, encode


def _grab_count(path: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def _ffprobe_packets(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                          "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip().strip(","))


def _files(cache: Path, frames: int) -> dict[str, Path]:
    cache.mkdir(parents=True, exist_ok=True)
    opts = {"bf": "2", "g": "250", "preset": "ultrafast", "tune": "zerolatency"}
    opts.pop("tune")  # zerolatency would turn B-frames off
    files = {"MP4": cache / f"long{frames}.mp4", "MKV": cache / f"long{frames}.mkv",
             "AVI": cache / f"long{frames}.avi"}
    for kind, path in files.items():
        if path.exists():
            continue
        tmp = path.with_name("partial-" + path.name)
        print(f"writing {path} ...", file=sys.stderr)
        if kind == "AVI":
            cv2_avi(tmp, frames, "MJPG", 25.0)
        else:
            encode(tmp, "libx264", frames, options=opts)
        tmp.rename(path)
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cache", type=Path,
                    default=Path(tempfile.gettempdir()) / "bsingest-bench-video")
    args = ap.parse_args()
    files = _files(args.cache, args.frames)
    has_ffprobe = shutil.which("ffprobe") is not None
    print(f"{'file':5} {'frames':>7} {'bsingest':>10} {'grab()':>9} {'ffprobe':>9} "
          f"{'/grab':>8} {'/ffprobe':>9}  tier")
    for kind, path in files.items():
        t_ours, res = median_call(lambda p=path: extract(p), args.repeat)
        (r,) = res  # type: ignore[misc]
        t0 = time.perf_counter()
        grabbed = _grab_count(path)
        t_grab = time.perf_counter() - t0
        t_probe, packets = (median_call(lambda p=path: _ffprobe_packets(p), args.repeat)
                            if has_ffprobe else (float("nan"), None))
        n = r.type_json["nFrames"]
        assert n == grabbed, f"{path.name}: bsingest {n}, grab() {grabbed}"
        if packets is not None:
            assert n == packets, f"{path.name}: bsingest {n}, ffprobe {packets} packets"
        tier = r.provenance["nFrames"].detail.split(":")[0]
        print(f"{kind:5} {n:7d} {t_ours * 1e3:8.1f}ms {t_grab:8.2f}s {t_probe * 1e3:7.1f}ms "
              f"{t_ours / t_grab:8.4f} {t_ours / t_probe:9.2f}  {tier}")
    print("targets: MP4 and AVI /grab <= 0.01; MKV /ffprobe <= 1.2")


if __name__ == "__main__":
    main()
