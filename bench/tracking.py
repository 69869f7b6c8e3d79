"""Benchmark: the plainest MediaPipe loop vs rehab's tracker + scoring pipeline, same run.

(a) naive:    cv2 read -> BGR->RGB -> mp.Image -> HandLandmarker.detect_for_video, one thread.
(b) pipeline: FileCamera (fast) decoding on its own thread -> MediaPipeTracker (anatomical
              sides, numpy landmarks, handedness smoothing) -> score_trial on the result.

Both use the same .task bundle and VIDEO mode, and look for up to two hands (the pipeline
follows a lone hand with a one-hand landmarker and scans for a second every 10 frames); model loading and imports are outside the timed
part, each detector is warmed up on a few frames first, and (a)/(b) alternate over the rounds
so machine load hits both alike. Prints frames/s of each (wall clock, and CPU seconds per
frame of the whole process, which shared-machine load disturbs less), the ratio b/a (target
>= 1.0), and per-frame latency median and p95: the time from starting on a decoded frame to
its hand result (naive: colour conversion + detect; pipeline: MediaPipeTracker.track). For the
pipeline the wait of a decoded frame in the read-ahead queue is printed separately.

    python bench/tracking.py [--clip PATH] [--model full|lite] [--rounds 3] [--naive-hands 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIP = ROOT.parent / "shared" / "fixtures" / "hand_reach_open.mp4"
WARMUP_FRAMES = 5


def _naive_landmarker(model_path: Path, num_hands: int):
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.HandLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)),
        running_mode=vision.RunningMode.VIDEO,
        num_hands=num_hands,
    )
    return vision.HandLandmarker.create_from_options(options)


def run_naive(clip: Path, model_path: Path, num_hands: int = 2) -> dict:
    """Frames, wall and CPU seconds, per-frame latencies of the plainest possible loop."""
    import mediapipe as mp

    landmarker = _naive_landmarker(model_path, num_hands)
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    for i in range(WARMUP_FRAMES):  # warm-up on the first frames, then rewind
        ok, bgr = cap.read()
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), i)
    cap.release()
    cap = cv2.VideoCapture(str(clip))
    latencies, n = [], 0
    start, cpu_start = time.perf_counter(), time.process_time()
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        decoded = time.perf_counter()
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        landmarker.detect_for_video(image, 1000 + int(n * 1000 / fps))
        latencies.append(time.perf_counter() - decoded)
        n += 1
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    cap.release()
    landmarker.close()
    return {"n": n, "wall_s": wall_s, "cpu_s": cpu_s, "latency": latencies}


class _Stamped:
    """Frame source that notes when each frame finished decoding (for the queue wait)."""

    def __init__(self, frames) -> None:
        self.frames = frames
        self.decoded_at: dict[int, float] = {}

    def __iter__(self):
        for frame in self.frames:
            self.decoded_at[frame.index] = time.perf_counter()
            yield frame


class _Timed:
    """Tracker wrapper recording when each ``track`` call started and how long it took."""

    def __init__(self, tracker) -> None:
        self.tracker = tracker
        self.started: dict[int, float] = {}
        self.latency: list[float] = []

    def track(self, frame):
        t0 = time.perf_counter()
        self.started[frame.index] = t0
        out = self.tracker.track(frame)
        self.latency.append(time.perf_counter() - t0)
        return out

    def close(self) -> None:
        self.tracker.close()


def run_pipeline(clip: Path, model_path: Path, variant: str) -> dict:
    """Frames, wall and CPU seconds (including score_trial), latencies of rehab's pipeline."""
    from rehab.devices.base import Frame
    from rehab.devices.camera import FileCamera, iter_frames
    from rehab.devices.tracker import MediaPipeTracker, track_pipelined
    from rehab.scoring.trial import score_trial

    tracker = MediaPipeTracker(variant, model_path=model_path)
    with FileCamera(clip, realtime=False) as warm:
        warm.open()
        for i in range(WARMUP_FRAMES):
            # Times 1 s before the clip: the smoother forgets this hand before frame 0.
            tracker.track(Frame(warm.read().image, captured_at=-1.0 + i * 0.01, index=i))
    timed = _Timed(tracker)
    camera = FileCamera(clip, realtime=False)
    start, cpu_start = time.perf_counter(), time.process_time()
    camera.open()
    source = _Stamped(iter_frames(camera))
    tracked = list(track_pipelined(source, timed))
    sides = [h.hand for tf in tracked for h in tf.hands]
    if sides:
        score_trial(tracked, "free", max(set(sides), key=sides.count))
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    camera.close()
    timed.close()
    waits = [timed.started[i] - source.decoded_at[i] for i in timed.started]
    return {"n": len(tracked), "wall_s": wall_s, "cpu_s": cpu_s, "latency": timed.latency,
            "queue_wait": waits}


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def _line(name: str, run: dict) -> str:
    lat, n = run["latency"], run["n"]
    text = (
        f"  {name:<9} {n:4d} frames  {n / run['wall_s']:6.1f} frames/s "
        f"({1000 * run['cpu_s'] / n:5.1f} CPU ms/frame)  latency median "
        f"{1000 * statistics.median(lat):6.1f} ms  p95 {1000 * _p95(lat):6.1f} ms"
    )
    if "queue_wait" in run:
        text += f"  (read-ahead wait median {1000 * statistics.median(run['queue_wait']):.0f} ms)"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--model", choices=("full", "lite"), default="full")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--naive-hands",
        type=int,
        choices=(1, 2),
        default=2,
        help="num_hands of the naive loop (2 = the same capability as the pipeline, which "
        "tracks up to two hands; 1 = MediaPipe's default, which never finds a second hand)",
    )
    args = parser.parse_args(argv)
    if not args.clip.is_file():
        print(f"clip {args.clip} not found (needs ../shared/fixtures beside the repo)")
        return 2
    sys.path.insert(0, str(ROOT))
    from rehab.devices.handmodel import ensure_hand_model

    model_path = ensure_hand_model(args.model)
    print(
        f"clip {args.clip.name}, model {args.model}, {args.rounds} round(s), "
        f"naive num_hands={args.naive_hands}, pipeline up to 2 hands"
    )
    ratios = []
    for r in range(args.rounds):
        order = ("naive", "pipeline") if r % 2 == 0 else ("pipeline", "naive")  # alternate
        res = {}
        for name in order:
            if name == "naive":
                res[name] = run_naive(args.clip, model_path, args.naive_hands)
            else:
                res[name] = run_pipeline(args.clip, model_path, args.model)
        fps = {k: v["n"] / v["wall_s"] for k, v in res.items()}
        ratio = fps["pipeline"] / fps["naive"]
        cpu_ratio = (res["naive"]["cpu_s"] / res["naive"]["n"]) / (
            res["pipeline"]["cpu_s"] / res["pipeline"]["n"]
        )
        ratios.append(ratio)
        print(f"round {r + 1}:")
        print(_line("naive", res["naive"]))
        print(_line("pipeline", res["pipeline"]))
        print(f"  ratio pipeline/naive {ratio:.2f} frames/s, {cpu_ratio:.2f} by CPU time")
    print(f"ratio median {statistics.median(ratios):.2f} (target >= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
