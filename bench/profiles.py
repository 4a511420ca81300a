"""Summaries of py-spy ``--format raw`` profiles (collapsed stacks: ``f1;f2;…;leaf count``)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    """``func (…/site-packages/pkg/mod.py:12)`` -> ``pkg/mod.py:func``."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    if path.startswith(".") and "/" in path:  # /lib/python3.11/x.py -> x.py
        path = path.split("/", 1)[1]
    return f"{path}:{m['func']}"


def summarize(path: Path, top: int = 12) -> dict:
    """Samples per thread, the hottest leaf frames (self) and hyperville functions (inclusive)."""
    threads: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames and not _FRAME.match(frames[0].strip()):  # --threads: the thread comes first
            threads[re.sub(r" \(0x[0-9a-f]+\)", "", frames[0]).strip()] += count
            frames = frames[1:]
        if not frames:
            continue
        total += count
        leaf[_short(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            if name.startswith("hyperville/"):
                inclusive[name] += count

    def pct(counter: Counter[str]) -> list[list]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "threads": pct(threads),
        "self": pct(leaf),
        "hyperville_inclusive": pct(inclusive),
    }


if __name__ == "__main__":  # python bench/profiles.py FILE
    import json
    import sys

    print(json.dumps(summarize(Path(sys.argv[1])), indent=2))
