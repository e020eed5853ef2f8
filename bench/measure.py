"""Measurement helpers shared by the bench/ scripts.

- time: hyperfine (Debian's package) runs each command with warm-up runs
  and repetitions, no shell in between (-N), and exports every run's wall
  time; the median, the spread (min, max, standard deviation, interquartile
  range) and the ratios come from that export.
- memory: peak RSS of the whole process (ru_maxrss as GNU time reports
  it; for a command that starts another and waits for it, the largest of
  the tree), over interleaved runs A B A B ..., so a busy moment hits both.
- requests: a command run once at -v=6, its request log lines counted
  (rollguard's and kubectl's formats).
- instructions: valgrind --tool=callgrind, the total instruction count and
  the functions that cost most (inclusive), which unlike wall time repeats
  exactly on a noisy machine.

A script that runs under bench/run.sh finds BENCH_SECTIONS set and saves its
figures there as one JSON file (save()); bench/report.py turns the files
into the tables. Run alone, a script only prints.
"""
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def _quartiles(values):
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def spread(values):
    """median, min, max, stddev and the interquartile range of values."""
    q1, q3 = _quartiles(values)
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "stddev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "q1": q1,
        "q3": q3,
        "n": len(values),
    }


def hyperfine(commands, runs, warmup=2, env=None, check=True):
    """commands: {name: argv}. Every run's wall time in seconds, by name."""
    if not shutil.which("hyperfine"):
        sys.exit("hyperfine is not installed (apt-get install hyperfine; bench/run.sh does it)")
    with tempfile.NamedTemporaryFile(suffix=".json") as export:
        argv = ["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs),
                "--export-json", export.name]
        if not check:
            argv.append("--ignore-failure")
        for name, command in commands.items():
            argv += ["-n", name, shlex.join(command)]
        done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            sys.exit(f"hyperfine failed:\n{done.stderr}")
        results = json.load(open(export.name))["results"]
    return {r["command"]: r["times"] for r in results}


def _rss_once(argv, env, check):
    # GNU time starts the command and reports its ru_maxrss. Not os.wait4
    # on a child of this Python: a forked (or vforked) child's peak counts
    # the parent's pages it held until exec, ~14 MiB of interpreter.
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        p = subprocess.run(["/usr/bin/time", "-q", "-f", "%M %x", "-o", out.name, *argv], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kib, code = out.read().split()[-2:]
    if check and (p.returncode != 0 or code != "0"):
        sys.exit(f"{shlex.join(argv)} exited {code}")
    return int(kib) / 1024.0


def peak_rss(commands, runs, env=None, check=True):
    """commands: {name: argv}. Peak RSS in MiB of each run, interleaved."""
    samples = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(_rss_once(argv, env, check))
    return samples


def compare(title, commands, runs, warmup=2, rss_runs=None, env=None, check=True):
    """Times and peak RSS of each command; prints a table and returns
    {name: {"argv", "time": spread (s), "rss": spread (MiB)}}."""
    times = hyperfine(commands, runs, warmup, env, check)
    rss = peak_rss(commands, rss_runs or min(runs, 5), env, check)
    print(f"{title}: {runs} runs each after {warmup} warm-up (hyperfine), peak RSS over {rss_runs or min(runs, 5)}")
    out = {}
    for name, argv in commands.items():
        t, m = spread(times[name]), spread(rss[name])
        out[name] = {"argv": [os.path.basename(argv[0])] + argv[1:], "time": t, "rss": m}
        print(f"  {name:34s} {fmt_time(t['median']):>9s}  [{fmt_time(t['min'])} .. {fmt_time(t['max'])}]"
              f"  peak RSS {m['median']:8.1f} MiB")
    return out


def fmt_time(seconds):
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


# rollguard at -v=6: "I1124 08:45:51.447218 5477 request] GET URL 200 OK in 8 milliseconds"
# kubectl at -v=6:   '... "Response" verb="GET" url="https://..." status="200 OK" milliseconds=9'
#                    or, older: "GET https://... 200 OK in 9 milliseconds"
_REQUEST = re.compile(r'(\] (GET|POST|PUT|PATCH|DELETE|HEAD) https?://)|(verb="[A-Z]+" url=")')


def count_requests(stderr):
    return sum(1 for line in stderr.splitlines() if _REQUEST.search(line))


def requests(argv, env=None, check=True):
    """Runs argv once (it must already carry -v=6); its request count."""
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if check and done.returncode != 0:
        sys.exit(f"{shlex.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return count_requests(done.stderr)


def callgrind(argv, env=None, top=8):
    """Instruction count of one run under callgrind, and the functions with
    the highest self cost (where the instructions are spent). None when
    valgrind is missing."""
    if not shutil.which("valgrind"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if not os.path.exists(out):
            sys.exit(f"callgrind produced nothing for {shlex.join(argv)}:\n{done.stderr[-2000:]}")
        total = None
        for line in open(out):
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
        annotate = subprocess.run(["callgrind_annotate", out], capture_output=True, text=True)
    functions = []
    for line in annotate.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(?:\S*:)?(\S+)", line)
        if m and len(functions) < top:
            name = m.group(3)
            if name in ("???", "PROGRAM") or name.startswith(("0x", "(below")):
                continue
            functions.append({"function": name, "ir": int(m.group(1).replace(",", "")),
                              "percent": float(m.group(2))})
    return {"argv": [os.path.basename(argv[0])] + list(argv[1:]), "instructions": total, "top": functions,
            "exit": done.returncode}


def kubectl(ns, *args, input=None):
    """kubectl -n NS ARGS (input on its stdin); its stdout, or CalledProcessError."""
    return subprocess.run(["kubectl", "-n", ns, *args], input=input, capture_output=True, text=True,
                          check=True).stdout


def budget(name, measured, limit, better, unit, detail=""):
    """One SPEC §7 budget: better is "higher" (a speed-up) or "lower"."""
    holds = measured >= limit if better == "higher" else measured <= limit
    return {"budget": name, "measured": measured, "limit": limit, "better": better, "unit": unit, "holds": holds,
            "detail": detail}


def print_budgets(budgets):
    for b in budgets:
        op = ">=" if b["better"] == "higher" else "<="
        verdict = "holds" if b["holds"] else "MISSED"
        print(f"  {b['budget']}: {b['measured']:.3g}{b['unit']} ({op} {b['limit']:g}{b['unit']}) {verdict}")


def commit():
    """The checkout's `git describe --always --dirty` when the run began
    (BENCH_COMMIT, set by bench/run.sh before any section writes its
    results into the tree), else now, or "unknown"."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    here = os.path.dirname(os.path.abspath(__file__))
    described = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty"], capture_output=True, text=True)
    return described.stdout.strip() or "unknown"


def save(section, data):
    """Writes the section's figures for bench/report.py when run under bench/run.sh."""
    where = os.environ.get("BENCH_SECTIONS")
    if not where:
        return
    os.makedirs(where, exist_ok=True)
    data = dict(data, section=section, finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                commit=commit())
    with open(os.path.join(where, f"{section}.json"), "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
