#!/usr/bin/env python3
"""Runs pkio-maxsend as a user would and checks that its recommendation follows from its own
numbers, that --validate gives a verdict, that the SVG/CSV/JSON are well formed, and that a
small net_ring shows partial acceptance rising with the array size."""
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import check, expected_address_layout, finish  # noqa: E402
import xml.etree.ElementTree as ET

MAXSEND = sys.argv[1]


with tempfile.TemporaryDirectory() as tmp:
    j, c, s = (os.path.join(tmp, n) for n in ("m.json", "m.csv", "m.svg"))
    r = subprocess.run([MAXSEND, "--", "--values", "1,8,64", "--reps", "6", "--seconds", "0.05", "--validate", "8",
                        "--json", j, "--csv", c, "--svg", s], capture_output=True, text=True, timeout=180)
    check("sweep exits 0", r.returncode == 0, r.stderr)
    d = json.load(open(j))
    check("results for 3 values x 2 modes", len(d["results"]) == 6, str(len(d["results"])))
    layout = expected_address_layout()
    check("addresses %s by default" % layout, d["config"].get("address_layout") == layout
          and layout + " addresses" in r.stdout, str(d["config"]))
    check("the drift between runs is 8 % by default", d["config"].get("run_drift") == 0.08, str(d["config"]))
    for mode in ("serialized", "deserialized"):
        rows = [x for x in d["results"] if x["mode"] == mode]
        # The test's own estimate: each round's costs over the round's geometric mean, the
        # trimmed mean (middle 60 %) per value times the median round's level, then the least
        # squares of cycles = c + a / B with weights 1 / cycles^2.
        rounds = len(rows[0]["cycles_reps"])
        levels = [math.exp(sum(math.log(x["cycles_reps"][k]) for x in rows) / len(rows)) for k in range(rounds)]
        level = statistics.median(levels)
        cost = {}
        for x in rows:
            rel = sorted(x["cycles_reps"][k] / levels[k] for k in range(rounds))
            cut = rounds // 5
            cost[x["value"]] = level * statistics.fmean(rel[cut:rounds - cut])
            check("%s/%d: cyc/pkt is the round-relative cost" % (mode, x["value"]),
                  abs(x["cycles_per_packet"] - cost[x["value"]]) <= 1e-6 * cost[x["value"]],
                  f"{x['cycles_per_packet']} vs {cost[x['value']]}")
        pts = [(1.0 / v, y, 1 / y ** 2) for v, y in cost.items()]
        sw = sum(w for _, _, w in pts)
        sx, sy = sum(w * x for x, _, w in pts), sum(w * y for _, y, w in pts)
        sxx, sxy = sum(w * x * x for x, _, w in pts), sum(w * x * y for x, y, w in pts)
        fa = (sw * sxy - sx * sy) / (sw * sxx - sx * sx)
        fc = (sy - fa * sx) / sw
        fit = d["recommended"][mode]["fit"]
        check(mode + ": the exported fit is the weighted least squares of its own rounds",
              abs(fit["a"] - fa) <= 1e-6 * max(1, abs(fa)) and abs(fit["c"] - fc) <= 1e-6 * max(1, abs(fc)),
              f"{fit['a']} {fit['c']} vs {fa} {fc}")
        check(mode + ": intervals contain the estimates", fit["a_ci95"][0] <= fit["a"] <= fit["a_ci95"][1]
              and fit["c_ci95"][0] <= fit["c"] <= fit["c_ci95"][1], json.dumps(fit))
        largest = max(x["value"] for x in rows)
        best = fc + fa / largest
        budget = d["config"]["latency_budget_us"]
        for x in rows:
            reaches = best / (fc + fa / x["value"]) >= d["config"]["share"]
            check("%s/%d: reaches_share follows from the fit" % (mode, x["value"]), x["reaches_share"] == reaches)
            p = x["share_probability"]
            want = ("over budget" if x["load_latency_us"]["p99"] > budget else
                    "good" if reaches and p >= 0.5 else "too slow" if p <= 0.025 else "cannot tell")
            check("%s/%d: the verdict follows from the share and its resamples" % (mode, x["value"]),
                  x["verdict"] == want, f"{x['verdict']} vs {want}")
        good = [x["value"] for x in rows if x["verdict"] == "good"]
        rec = d["recommended"][mode]["value"]
        check(mode + ": the recommendation is the smallest good value", rec == (min(good) if good else None),
              "recommended %s, good %s" % (rec, good))
        check(mode + ": its confidence is a share of resamples", 0 <= d["recommended"][mode]["confidence"] <= 1)
        chosen = [x for x in rows if x["value"] == rec]
        check(mode + ": the table never shows the recommended value below the share",
              all(x["reaches_share"] and x["fitted_share"] >= d["config"]["share"] for x in chosen))
        check(mode + ": explanation given", str(rec) in d["recommended"][mode]["explanation"] if rec else True)
        for x in rows:
            check("%s/%d: batch sizes within the value" % (mode, x["value"]),
                  all(int(k) <= x["value"] for k in x["batch_sizes"]))
    verdicts = [d["validate"][m] for m in ("serialized", "deserialized")]
    check("--validate gives a verdict", all(("good:" in v or "cannot tell" in v) for v in verdicts), str(verdicts))
    for m in ("serialized", "deserialized"):
        row = [x for x in d["results"] if x["mode"] == m and x["value"] == 8][0]
        v = d["validate"][m]
        said = v.split(": ", 1)[1]
        consistent = (said.startswith("good") and row["verdict"] == "good") or \
            (said.startswith("not good") and row["verdict"] in ("too slow", "over budget")) or \
            (said.startswith("cannot tell") and row["verdict"] == "cannot tell")
        check(m + ": the verdict on 8 does not contradict its own table", consistent, v)
        check(m + ": a good verdict near the line says so",
              row["verdict"] != "good" or (("near the line" in v) == (row["share_probability"] < 0.975)), v)
    check("verdict printed", "validate serialized" in r.stdout)
    root = ET.parse(s).getroot()
    check("SVG is an svg document", root.tag.endswith("svg") and len(root) > 10)
    rows = list(csv.DictReader(open(c)))
    check("CSV has a row per value and mode", len(rows) == 6 and "load_p99_us" in rows[0])

    r = subprocess.run([MAXSEND, "--", "--ring", "64", "--drain-mpps", "2", "--copy", "--modes", "serialized",
                        "--values", "1,64", "--reps", "2", "--seconds", "0.2", "--json", j],
                       capture_output=True, text=True, timeout=120)
    d = json.load(open(j))
    by_value = {x["value"]: x for x in d["results"]}
    check("ring run exits 0", r.returncode == 0, r.stderr)
    check("partial acceptance rises with the array size on a small ring",
          by_value[64]["resources_per_call"] > by_value[1]["resources_per_call"],
          "%s vs %s" % (by_value[1]["resources_per_call"], by_value[64]["resources_per_call"]))

    for bad in (["--values", "0"], ["--modes", "fast"], ["--ring", "100"], ["--validate", "5000"]):
        r = subprocess.run([MAXSEND, "--"] + bad, capture_output=True, text=True, timeout=60)
        check("bad input %s exits 2 with one line" % bad,
              r.returncode == 2 and len([l for l in r.stderr.splitlines() if l.startswith("pkio-maxsend:")]) == 1, r.stderr)

# Bad values, outputs and signals (faults_check.py).
import faults_check  # noqa: E402
_app = sys.argv[1]
faults_check.bad_values(_app, "pkio-maxsend", [["--seconds", "nan"], ["--share", "nan"], ["--latency-budget", "nan"], ["--load", "nan"], ["--ring", "1"], ["--ring", "100"], ["--values", "8,"], ["--values", ""], ["--modes", ""], ["--validate", "0"], ["--drain-mpps", "inf"], ["--size", "1e3"], ["--size", "9015"], ["--values", "8,8"], ["--values", "8", "--validate", "8"], ["--run-drift", "nan"], ["--run-drift", "101"], ["--run-drift", "-1"]])
with tempfile.TemporaryDirectory() as _tmp:
    faults_check.outputs(_app, "pkio-maxsend", ["--values", "8,32", "--modes", "serialized", "--reps", "2", "--seconds", "0.3"], _tmp)
faults_check.early_signals(_app, "pkio-maxsend", ["--values", "8,32", "--modes", "serialized", "--reps", "2", "--seconds", "0.3"])
r = subprocess.run([_app, "--"] + ["--values", "8,32", "--modes", "serialized", "--reps", "2", "--seconds", "0.3"] + ["--json", "/tmp/pkio_same.json", "--csv" if "pkio-maxsend" == "pkio-maxsend" else "--json", "/tmp/pkio_same.json"],
                   capture_output=True, text=True, timeout=60)
if "pkio-maxsend" == "pkio-maxsend":
    check("pkio-maxsend: the same path for --json and --csv is refused", r.returncode == 2 and "same file" in r.stderr, r.stderr[-300:])

finish()
