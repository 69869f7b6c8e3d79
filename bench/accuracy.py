"""Counting accuracy: every labelled clip and its mirrored copy, counted as a trial is scored.

    python bench/accuracy.py [--fixtures ../shared/fixtures] [--variants] [--model full]

Prints a Markdown table: clip, true count, counted, error, count on the mirrored copy (same
hand reported as the other side), mirror agreement, count on a copy slowed 2x (frames
duplicated), and with ``--variants`` on brightness/contrast-changed and 640x360 copies of the
fixture videos. The shipped rendered demonstrations are labelled clips too (drawn from the
synthetic hand, so their counts are exact). Synthetic clips are mirrored at the landmark level
(exactly); fixture and rendered videos are flipped as images and tracked again by MediaPipe. Targets: error <= 1 on every clip, mirror
agreement on every clip, no event from a blip shorter than 120 ms (the blip clips' truth).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rehab.devices.base import TrackedFrame, other_side
from rehab.scoring.trial import score_trial
from rehab.testing.accuracy import FIXTURES, RENDERED, SYNTHETIC, Labelled, counted
from rehab.testing.transforms import TRANSFORMS, mirror_frames, slow_frames, track_transformed

ROOT = Path(__file__).resolve().parent.parent


def count(frames: list[TrackedFrame], clip: Labelled, hand: str) -> int:
    return counted(score_trial(frames, clip.task, hand).to_dict(), clip.key)


def rows(fixtures: Path, variants: bool, model: str) -> list[list[str]]:
    out = []
    tracked: dict[tuple[str, str], list[TrackedFrame]] = {}
    for clip in (*SYNTHETIC, *FIXTURES, *RENDERED):
        extra: list[str] = []
        if clip.frames is not None:
            frames = clip.frames()
            mirrored = mirror_frames(frames)
        else:
            assert clip.video is not None
            path = fixtures / clip.video  # a rendered clip's path is absolute
            if not path.is_file():
                print(f"skipped {clip.name}: {path} not found", file=sys.stderr)
                continue
            names = list(TRANSFORMS) if variants else ["original", "mirrored"]
            for name in names:
                if (clip.video, name) not in tracked:
                    tracked[clip.video, name] = track_transformed(path, TRANSFORMS[name],
                                                                  variant=model)
            frames, mirrored = tracked[clip.video, "original"], tracked[clip.video, "mirrored"]
            extra = [str(count(tracked[clip.video, n], clip, clip.hand)) for n in names[2:]]
        n = count(frames, clip, clip.hand)
        m = count(mirrored, clip, other_side(clip.hand))
        s = count(slow_frames(frames), clip, clip.hand)
        out.append([clip.name, str(clip.truth), str(n), f"{n - clip.truth:+d}", str(m),
                    "yes" if m == n else "NO", str(s), *extra])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", type=Path, default=ROOT.parent / "shared" / "fixtures")
    ap.add_argument("--variants", action="store_true",
                    help="also count brightness-changed and 640x360 copies of the videos")
    ap.add_argument("--model", default="full", choices=("full", "lite"))
    args = ap.parse_args()
    table = rows(args.fixtures, args.variants, args.model)
    head = ["clip", "truth", "counted", "error", "mirrored", "mirror agrees", "slowed 2x"]
    if args.variants:
        head += ["brightness", "640x360"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in table:
        print("| " + " | ".join(r + [""] * (len(head) - len(r))) + " |")
    errors = [abs(int(r[3])) for r in table]
    agree = sum(r[5] == "yes" for r in table)
    print(f"\n{len(table)} clips: max |error| {max(errors)}, "
          f"mirror agreement {agree}/{len(table)} ({100 * agree / len(table):.0f} %)")


if __name__ == "__main__":
    main()
