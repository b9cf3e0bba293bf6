"""Feature-extraction throughput: recordings per second of the speech front end (read, resample, features).

Reads FSDD recordings (or any folder of WAV files) and runs ``ernn.data.wav.extract_all`` with 1 and with
``--workers`` processes, side by side in one run, for log-mel (+Δ) and MFCC (+Δ+ΔΔ); prints a table and
writes JSON.

    .venv/bin/python bench/bench_features.py --root ../shared/data/fsdd/recordings --out build/bench/features.json
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from ernn.data import features, wav
from ernn.files import atomic


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--root", default=str(Path(__file__).resolve().parents[2] / "shared/data/fsdd/recordings")
    )
    ap.add_argument("--pattern", default=wav.FSDD_PATTERN)
    ap.add_argument("--limit", type=int, default=500, help="recordings to process (0 = all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="build/bench/features.json")
    args = ap.parse_args()
    recordings = wav.scan_pattern(Path(args.root), args.pattern)
    if args.limit:
        recordings = recordings[: args.limit]
    seconds_of_audio = 0.0
    import soundfile

    for r in recordings:
        seconds_of_audio += soundfile.info(r.path).duration
    configs = {
        "logmel40+d": features.FeatureConfig(),
        "mfcc13+d+dd": features.FeatureConfig(kind="mfcc", deltas=2),
    }
    rows = []
    for name, cfg in configs.items():
        for workers in sorted({1, args.workers}):
            wav.extract_all(recordings[:8], cfg, workers=1)  # warm-up: imports, librosa's caches
            t0 = time.perf_counter()
            wav.extract_all(recordings, cfg, workers=workers)
            wall = time.perf_counter() - t0
            rows.append({"features": name, "workers": workers, "recordings": len(recordings),
                         "seconds": wall, "recordings_per_s": len(recordings) / wall,
                         "audio_seconds_per_s": seconds_of_audio / wall})  # fmt: skip
    print(f"{len(recordings)} recordings, {seconds_of_audio:.1f} s of audio, {platform.processor() or 'cpu'}")
    print(f"{'features':<14}{'workers':>8}{'rec/s':>10}{'audio s/s':>12}")
    for r in rows:
        print(
            f"{r['features']:<14}{r['workers']:>8}{r['recordings_per_s']:>10.1f}{r['audio_seconds_per_s']:>12.1f}"
        )
    atomic.write_json(
        args.out, {"rows": rows, "root": args.root, "audio_seconds": seconds_of_audio}, force=True
    )


if __name__ == "__main__":
    main()
