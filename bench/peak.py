"""`python -m bench.peak ARGS...`: run `hfsnap ARGS` in this process, then print its own peak RSS to stderr.

The peak is VmHWM of /proc/self/status: this process's memory since exec. A child's ru_maxrss (wait4) is not:
Linux carries the parent's high-water mark across fork and exec, so a bench process that grew to 900 MB
running refreshes in-process would report 900 MB for every child it starts.
"""

from __future__ import annotations

import sys

from etl.cli import main as hfsnap

MARK = "bench-peak-rss-kb:"


def peak_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    try:
        code = hfsnap(sys.argv[1:])
    finally:
        print(MARK, peak_kb(), file=sys.stderr, flush=True)
    sys.exit(code)
