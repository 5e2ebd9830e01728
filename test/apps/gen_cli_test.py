#!/usr/bin/env python3
"""Runs pkio-gen as a user would and checks what it prints, writes and exits with."""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import check, finish  # noqa: E402
import time

GEN = sys.argv[1]


def run(args, timeout=60):
    return subprocess.run([GEN] + args, capture_output=True, text=True, timeout=timeout)


with tempfile.TemporaryDirectory() as tmp:
    report = os.path.join(tmp, "r.json")

    r = run(["--count", "200000", "--json", report])
    check("count run exits 0", r.returncode == 0, r.stderr)
    j = json.load(open(report))
    check("json: every packet completed once", j["submitted"] == 200000 and j["completed_ok"] == 200000
          and j["completed_error"] == 0 and j["in_flight"] == 0, str(j))
    for key in ["rejected", "duration_s", "mpps", "gbps", "latency_ns", "config", "completed_by_status"]:
        check("json has " + key, key in j)
    check("json latency percentiles ordered", 0 < j["latency_ns"]["p50"] <= j["latency_ns"]["p99"] <= j["latency_ns"]["p999"])
    check("summary printed", "pkio-gen summary" in r.stdout)

    r = run(["--duration", "2", "--rate", "1Mpps", "--json", report])
    j = json.load(open(report))
    check("constant rate within 5 % of 1 Mpps", r.returncode == 0 and abs(j["mpps"] - 1.0) < 0.05, str(j.get("mpps")))

    r = run(["--count", "50000", "--window", "8", "--batch", "4", "--json", report])
    j = json.load(open(report))
    check("window run completes everything", r.returncode == 0 and j["completed_ok"] == 50000)
    check("batch limit respected", j["batches"]["mean"] <= 4.0, str(j["batches"]))

    r = run(["--count", "1000", "--size", "60-1500", "--vlan", "7", "--priority", "3", "--copy", "--json", report])
    check("ranged, tagged, copy mode run exits 0", r.returncode == 0 and json.load(open(report))["completed_ok"] == 1000, r.stderr)

    for bad in (["--size", "10"], ["--rate", "fast"], ["--batch", "0"], ["--bogus"], ["--port", "net_nothing9"]):
        r = run(bad)
        lines = [l for l in r.stderr.splitlines() if l.startswith("pkio-gen:")]
        check("bad input %s exits 2 with one line" % bad, r.returncode == 2 and len(lines) == 1, r.stderr)

    r = subprocess.run([GEN, "--no-such-eal-flag", "--"], capture_output=True, text=True, timeout=60)
    check("bad EAL argument exits 2", r.returncode == 2 and "pkio-gen: EAL" in r.stderr, r.stderr)

    r = run(["--help"])
    check("--help exits 0 and documents the options", r.returncode == 0 and "--rate" in r.stdout and "--window" in r.stdout)

    p = subprocess.Popen([GEN, "--duration", "60", "--json", report], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    j = json.load(open(report))
    check("SIGINT: exits 0 after draining", p.returncode == 0 and j["interrupted"] and j["in_flight"] == 0
          and j["submitted"] == j["completed_ok"] + j["completed_error"], err)
    check("SIGINT: summary says so", "stopped by signal" in out)

finish()
