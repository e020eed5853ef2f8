#!/usr/bin/env python3
"""Turns the sections bench/run.sh collected (one JSON file per benchmark)
into bench/results/: results.json (every figure, with the run's machine and
versions), results.md (the budgets, then one table per benchmark) and
scaling.png (offline audit time and peak RSS against the input size, drawn
by gnuplot).

    bench/report.py SECTIONS_DIR OUT_DIR
"""
import json
import os
import platform
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import commit, fmt_time  # noqa: E402

ORDER = ["cold_start", "probecheck_offline", "probecheck_scaling", "probecheck_cluster", "canary_promote",
         "canary_detect", "rollback_plan"]


def fmt_measured(b):
    unit = b["unit"].strip()
    if unit == "x":
        return f"{b['measured']:.3g}×"
    if unit == "s":
        return fmt_time(b["measured"])
    return f"{b['measured']:g}"


def fmt_limit(b):
    op = "≥" if b["better"] == "higher" else "≤"
    unit = b["unit"].strip()
    if unit == "x":
        return f"{op} {b['limit']:g}×"
    if unit == "s":
        return f"{op} {fmt_time(b['limit'])}"
    return f"{op} {b['limit']:g}"


def machine():
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem, 1), "kernel": platform.release()}


def commands_table(commands):
    rows = ["| command | median | min – max | IQR | peak RSS (median) | requests |", "|---|---:|---:|---:|---:|---:|"]
    for name, c in commands.items():
        t, m = c["time"], c["rss"]
        rows.append(f"| `{name}` | {fmt_time(t['median'])} | {fmt_time(t['min'])} – {fmt_time(t['max'])} | "
                    f"{fmt_time(t['q1'])} – {fmt_time(t['q3'])} | {m['median']:.1f} MiB | "
                    f"{c.get('requests', '')} |")
    return rows


def instructions_table(instructions):
    rows = ["| command | instructions | where they go (self cost) |", "|---|---:|---|"]
    for name, c in instructions.items():
        if not c:
            continue
        top = ", ".join(f"{f['function']} {f['percent']:.0f}%" for f in c["top"][:5])
        rows.append(f"| `{' '.join(c['argv'][:2])}…` ({name}) | {c['instructions']:,} | {top} |")
    return rows if len(rows) > 2 else []


def scaling_rows(section):
    rows = ["| Deployments | objects | input | tool | median time | time per 1,000 objects | peak RSS |",
            "|---:|---:|---:|---|---:|---:|---:|"]
    for p in section["points"]:
        for name, c in p["commands"].items():
            t = c["time"]["median"]
            rows.append(f"| {p['deployments']:,} | {p['objects']:,} | {p['bytes'] / 2**20:.1f} MiB | `{name}` | "
                        f"{fmt_time(t)} | {fmt_time(t * 1000 / p['objects'])} | {c['rss']['median']:.1f} MiB |")
    return rows


def plot(section, out_dir):
    """scaling.png: two log-log panels, time and peak RSS against objects."""
    tools = []
    for p in section["points"]:
        for name in p["commands"]:
            if name not in tools:
                tools.append(name)
    data = os.path.join(out_dir, "scaling.dat")
    with open(data, "w") as f:
        for i, name in enumerate(tools):
            f.write(f"# {name}\n")
            for p in section["points"]:
                c = p["commands"].get(name)
                if c:
                    f.write(f"{p['objects']} {c['time']['median']} {c['rss']['median']}\n")
            f.write("\n\n")
    titles = ", ".join(f"'{data}' index {i} using 1:COL with linespoints lw 2 pt 7 title '{name}'"
                       for i, name in enumerate(tools))
    script = f"""
set terminal png size 1200,520 font ',11'
set output '{os.path.join(out_dir, 'scaling.png')}'
set multiplot layout 1,2 title 'Offline audit (-f): cost against input size (log-log)'
set logscale xy
set grid
set key top left
set xlabel 'objects in the input'
set ylabel 'wall time (s, median)'
plot {titles.replace('COL', '2')}
set ylabel 'peak RSS (MiB)'
plot {titles.replace('COL', '3')}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.unlink(data)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py SECTIONS_DIR OUT_DIR")
    sections_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    sections = {}
    for name in sorted(os.listdir(sections_dir)):
        if name.endswith(".json"):
            s = json.load(open(os.path.join(sections_dir, name)))
            sections[s["section"]] = s
    versions = {}
    versions_file = os.path.join(sections_dir, "versions.txt")
    if os.path.exists(versions_file):
        for line in open(versions_file):
            if ":" in line:
                k, v = line.split(":", 1)
                versions[k.strip()] = v.strip()
    meta = {"date": os.environ.get("BENCH_DATE", ""), "commit": commit(), "machine": machine(), "versions": versions}
    budgets = [b for key in ORDER if key in sections for b in sections[key].get("budgets", [])]
    results = {"run": meta, "budgets": budgets, "sections": [sections[k] for k in ORDER if k in sections]}
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")

    md = ["# Benchmark results", "",
          f"Made by `bench/run.sh` on {meta['date'] or 'an unrecorded date'} at commit `{meta['commit']}`: "
          f"{meta['machine']['cpu']}, {meta['machine']['cores']} cores, {meta['machine']['memory_gib']} GiB. "
          "Every pair ran in this one run on this one machine. Wall time: hyperfine's median over the "
          "repetitions after warm-up runs; memory: peak RSS (GNU time's maximum resident set size); "
          "requests: request lines at -v=6; instructions: valgrind --tool=callgrind, which repeats "
          "exactly where wall time on a shared 2-core machine does not. All figures are in results.json.", ""]
    if versions:
        md += ["Versions: " + "; ".join(f"{k} {v}" for k, v in versions.items()) + ".", ""]
    held = sum(1 for b in budgets if b["holds"])
    md += [f"## Budgets (SPEC §7): {held} of {len(budgets)} hold", "",
           "| budget | measured | limit | holds |", "|---|---:|---:|:---:|"]
    for b in budgets:
        detail = f" ({b['detail']})" if b.get("detail") else ""
        md.append(f"| {b['budget']}{detail} | {fmt_measured(b)} | {fmt_limit(b)} | "
                  f"{'yes' if b['holds'] else '**NO**'} |")
    md.append("")
    for key in ORDER:
        s = sections.get(key)
        if not s:
            continue
        md += [f"## {s['title']}", ""]
        if s.get("commit") and s["commit"] != meta["commit"]:
            md += [f"(measured at commit `{s['commit']}`)", ""]
        if key == "probecheck_scaling":
            md += scaling_rows(s) + ["", "![offline audit cost against input size](scaling.png)", ""]
            plot(s, out_dir)
            continue
        if key == "probecheck_offline":
            md += [f"{s['objects']:,} objects in one file; rollguard's report covered {s['workloads_audited']:,} "
                   "workloads." + (f" Not built here: {', '.join(s['peers_missing'])}." if s["peers_missing"] else ""),
                   ""]
        if "commands" in s:
            md += commands_table(s["commands"]) + [""]
        if key == "canary_promote":
            md += ["| rung | median time | requests (min – max) |", "|---|---:|---:|"]
            for rung, r in s["rungs"].items():
                md.append(f"| {rung} | {fmt_time(r['time']['median'])} | "
                          f"{r['requests']['min']:g} – {r['requests']['max']:g} |")
            md += ["", f"{s['trials']} Deployments of 20 replicas, each taken up the whole ladder.", ""]
        if key == "canary_detect":
            lat = s["latency"]
            md += [f"Over {lat['n']} trials: median {fmt_time(lat['median'])}, max {fmt_time(lat['max'])} from the "
                   "pod status write to the run's GateFailed decision (an upper bound: it includes the writer's "
                   "own request).", ""]
        if key == "rollback_plan":
            md += [f"History read as metadata only: {'yes' if s.get('history_metadata_only') else '**no**'}.", ""]
        if s.get("instructions"):
            md += instructions_table(s["instructions"]) + [""]
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(md))
    print(f"report: {os.path.join(out_dir, 'results.md')}: {held} of {len(budgets)} budgets hold")


if __name__ == "__main__":
    main()
