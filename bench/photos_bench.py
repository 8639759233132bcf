"""What one completion's photos cost a worker: the time and the peak memory of checking, decoding,
resizing and re-encoding them (`workorders.photos.prepare`, the CPU part of the request), for the
heaviest requests the limits let through and for the issue's request, each in a fresh child
process (so its peak resident set, VmHWM, is that scenario's; the peak before it, after the
imports, is given beside it). Linux only. `--before` runs the code this replaced (verify,
decode in full, copy, resize) on the same files for comparison. No database, no HTTP.

    python bench/photos_bench.py            # every scenario, 3 runs each (the median is reported)
    python bench/photos_bench.py --before   # the same with the previous decoding
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _png(size: tuple[int, int], mode: str, seed: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, seed % 255 if mode != "RGB" else (seed % 255, 200, 30)).save(out, "PNG")
    return out.getvalue()


def _jpeg(size: tuple[int, int], quality: int, seed: int) -> bytes:
    """A photo-like JPEG (noise at a quarter scale, enlarged: detail a camera's file has)."""
    from PIL import Image

    small = Image.effect_noise((size[0] // 4, size[1] // 4), 40 + seed).convert("RGB")
    out = io.BytesIO()
    small.resize(size).save(out, "JPEG", quality=quality)
    return out.getvalue()


# name → (what it is, how many files, how to make file i)
SCENARIOS = {
    "issue": ("the issue's request: 120 PNGs of 7000 × 7100, 1-bit", 120, lambda i: _png((7000, 7100), "1", i)),
    "png-49": ("the issue's single PNG: 7000 × 7100, RGB (49.7 MP)", 1, lambda i: _png((7000, 7100), "RGB", i)),
    "png": ("10 PNGs of 4000 × 3000 (12 MP, the PNG limit), RGB", 10, lambda i: _png((4000, 3000), "RGB", i)),
    "jpeg-40": ("10 JPEGs of 7300 × 5475 (40 MP, the limit), ~9 MB", 10, lambda i: _jpeg((7300, 5475), 85, i)),
    "jpeg-phone": ("10 phone JPEGs of 4000 × 3000 (12 MP), ~4 MB", 10, lambda i: _jpeg((4000, 3000), 92, i)),
}


def _before(files: list[tuple[str, io.BytesIO]]) -> None:
    """The decoding this replaced (one file after another, each written before the next)."""
    from PIL import Image, ImageOps

    for _name, stream in files:
        data = stream.read()  # then written, and its row committed, before the next file
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
        image = ImageOps.exif_transpose(image)
        image.thumbnail((1600, 1600))
        image.convert("RGB").save(io.BytesIO(), "JPEG", quality=80, optimize=True)


def _peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(name: str, folder: Path, before: bool) -> None:
    """Check and re-encode the scenario's files, opened from disk as Werkzeug spools an upload."""
    from fieldsvc.errors import InvalidInput
    from fieldsvc.workorders import photos

    paths = sorted(folder.iterdir())
    rss_before = _peak_rss_kb()
    files = [(path.name, path.open("rb")) for path in paths]
    start = time.perf_counter()
    outcome = "kept"
    try:
        if before:
            _before(files)
        else:
            photos.prepare(files)
    except InvalidInput as error:
        outcome = f"refused: {error.message}"
    elapsed = time.perf_counter() - start
    peak = _peak_rss_kb()
    print(json.dumps({"seconds": elapsed, "start_mb": rss_before / 1024, "peak_mb": peak / 1024, "outcome": outcome}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", action="store_true", help="run the previous decoding instead")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("SCENARIO", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.before)
        return
    print("| scenario | sent | code | seconds (median) | peak RSS (before it) | outcome |\n|---|---|---|---|---|---|")
    for name, (what, count, make) in SCENARIOS.items():
        with tempfile.TemporaryDirectory() as folder:
            for i in range(count):
                (Path(folder) / f"{i:03d}.img").write_bytes(make(i))
            sent = sum(path.stat().st_size for path in Path(folder).iterdir()) / 1e6
            runs = []
            for _ in range(args.runs):
                command = [sys.executable, __file__, "--child", name, folder] + (["--before"] if args.before else [])
                runs.append(json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout))
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mb"] for r in runs)
        start = statistics.median(r["start_mb"] for r in runs)
        print(f"| {what} | {sent:.1f} MB | {'before' if args.before else 'now'} | {seconds:.2f} s "
              f"| {peak:.0f} MB ({start:.0f} MB) | {runs[0]['outcome']} |", flush=True)


if __name__ == "__main__":
    main()
