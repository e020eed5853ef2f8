"""Whole-process timing for the bench/ scripts: the commands run in turn,
A B A B ..., and each one's median wall time and peak RSS (os.wait4's
ru_maxrss) is printed and returned, so the scripts can report ratios."""
import os
import statistics
import subprocess
import sys
import time


def measure(argv, check):
    start = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    if check and status != 0:
        sys.exit(f"{argv[0]} failed: status {status}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024.0


def run(title, runs, commands, check=False):
    """commands: {name: argv}. Returns {name: (median seconds, median MiB)}."""
    results = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            results[name].append(measure(argv, check))
    print(f"{title}: median of {runs} interleaved runs")
    summary = {}
    for name, samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        rss = statistics.median(s[1] for s in samples)
        summary[name] = (wall, rss)
        print(f"  {name:20s} {wall:7.3f} s   peak RSS {rss:8.1f} MiB")
    return summary
