#!/usr/bin/env python3
"""Runs pkio-bench as a user would: a small case list, its JSON, and bad input."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import check, expected_address_layout, finish  # noqa: E402

BENCH = sys.argv[1]


with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "b.json")
    r = subprocess.run([BENCH, "--", "--sizes", "64,256", "--bursts", "4,32", "--reps", "2", "--seconds", "0.1",
                        "--json", out], capture_output=True, text=True, timeout=120)
    check("small run exits 0", r.returncode == 0, r.stderr)
    results = json.load(open(out))
    paths = {c["path"] for c in results}
    check("every path measured", paths == {"raw", "inline", "cross_thread"}, str(paths))
    check("2 sizes x 2 bursts x 3 paths", len(results) == 12, str(len(results)))
    for c in results:
        for key in ("name", "frame_size", "burst", "mpps", "cycles_per_packet", "ratio_to_raw"):
            if key not in c:
                check("case has " + key, False, str(c))
        if c["path"] == "raw":
            check("raw ratio is 1 (%s)" % c["name"], abs(c["ratio_to_raw"] - 1.0) < 1e-9)
        check("positive rate and cost (%s)" % c["name"], c["mpps"] > 0 and c["cycles_per_packet"] > 0, str(c))
        check("median within spread (%s)" % c["name"], c["mpps_min"] <= c["mpps"] <= c["mpps_max"])
    check("table printed", "vs raw" in r.stdout)
    # Randomisation off by default (the app re-executes itself), on with --aslr.
    layout = expected_address_layout()
    check("addresses %s by default" % layout, all(c.get("address_layout") == layout for c in results)
          and layout + " addresses" in r.stdout, r.stdout[:300])
    r = subprocess.run([BENCH, "--", "--sizes", "64", "--bursts", "32", "--paths", "raw", "--reps", "1", "--seconds",
                        "0.05", "--aslr", "--json", out], capture_output=True, text=True, timeout=120)
    kept = json.load(open(out)) if r.returncode == 0 else []
    check("--aslr keeps randomisation", kept and all(c["address_layout"] == "randomised" for c in kept), r.stderr)

    # One EAL lcore: cross_thread's worker would share the sender's CPU, so it is skipped.
    r = subprocess.run([BENCH, "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "--vdev=net_null0", "-l", "0",
                        "--", "--sizes", "64", "--bursts", "32", "--reps", "1", "--seconds", "0.05", "--json", out],
                       capture_output=True, text=True, timeout=120)
    one = json.load(open(out)) if r.returncode == 0 else []
    check("-l 0: cross_thread skipped with a reason, the others measured", r.returncode == 0
          and "skipped: needs two EAL lcores" in r.stdout and {c["path"] for c in one} == {"raw", "inline"},
          r.stdout[-400:] + r.stderr[-300:])

    # Both threads of cross_thread on one CPU (EAL lcore 1 mapped onto CPU 0): detected from
    # CPU time against wall time, and the case is marked not valid instead of given a ratio.
    r = subprocess.run([BENCH, "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "--vdev=net_null0", "--lcores",
                        "0@0,1@0", "--", "--sizes", "64", "--bursts", "32", "--paths", "raw,cross_thread", "--reps", "2",
                        "--seconds", "0.2", "--json", out], capture_output=True, text=True, timeout=120)
    shared = json.load(open(out)) if r.returncode == 0 else []
    cross = [c for c in shared if c["path"] == "cross_thread"]
    check("threads sharing a core: cross_thread is marked not valid, with its CPU/wall",
          r.returncode == 0 and cross and not cross[0]["threads_on_own_cores"] and cross[0]["cpu_per_wall"] < 1.8
          and "NOT VALID" in r.stdout, r.stdout[-400:] + r.stderr[-300:])
    check("every case says whether its threads had their own cores", all("threads_on_own_cores" in c for c in results))

    for bad in (["--sizes", "10"], ["--bursts", "0"], ["--paths", "warp"], ["--reps", "0"], ["--sizes", "1518", "--seconds", "0.05", "--reps", "1"]):
        r = subprocess.run([BENCH, "--"] + bad, capture_output=True, text=True, timeout=60)
        check("bad input %s exits 2 with one line" % bad,
              r.returncode == 2 and len([l for l in r.stderr.splitlines() if l.startswith("pkio-bench:")]) == 1, r.stderr)

# Bad values, outputs and signals (faults_check.py).
import faults_check  # noqa: E402
_app = sys.argv[1]
faults_check.bad_values(_app, "pkio-bench", [["--seconds", "nan"], ["--seconds", "inf"], ["--reps", "-1"], ["--reps", ""], ["--sizes", "64,"], ["--sizes", "9015"], ["--sizes", " -18446744073709551552"], ["--bursts", "18446744073709551617"], ["--paths", ""], ["--link-speed", "1e400"], ["--progress", "xml"], ["--port", "\x1b[31mred"]])
with tempfile.TemporaryDirectory() as _tmp:
    faults_check.outputs(_app, "pkio-bench", ["--sizes", "64", "--bursts", "32", "--paths", "raw,inline", "--reps", "2", "--seconds", "0.3"], _tmp)
faults_check.early_signals(_app, "pkio-bench", ["--sizes", "64", "--bursts", "32", "--paths", "raw,inline", "--reps", "2", "--seconds", "0.3"])
r = subprocess.run([_app, "--"] + ["--sizes", "64", "--bursts", "32", "--paths", "raw,inline", "--reps", "2", "--seconds", "0.3"] + ["--json", "/tmp/pkio_same.json", "--csv" if "pkio-bench" == "pkio-maxsend" else "--json", "/tmp/pkio_same.json"],
                   capture_output=True, text=True, timeout=60)
if "pkio-bench" == "pkio-maxsend":
    check("pkio-bench: the same path for --json and --csv is refused", r.returncode == 2 and "same file" in r.stderr, r.stderr[-300:])

finish()
