#!/usr/bin/env python3
"""pkio-gen --metrics scraped as Prometheus would (every 100 ms): promtool accepts the text,
counters only grow and end equal to the final report, the latency histogram agrees with the
reported percentiles, bad addresses and a port in use are refused with one line, a client that
never reads does not hold up the run; --progress json is one JSON object per line."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import check, finish  # noqa: E402

GEN, BENCH, MAXSEND = sys.argv[1], sys.argv[2], sys.argv[3]
PROMTOOL = shutil.which("promtool")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(text):
    """{(name, labels): value} for every sample line."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        return r.headers.get("Content-Type", ""), r.read().decode()


def quantile(buckets, q):
    """Prometheus's histogram_quantile over [(le, cumulative)] sorted by le."""
    total = buckets[-1][1]
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_count) / max(count - prev_count, 1e-12)
        prev_le, prev_count = le, count
    return prev_le


def scraped_run(tmp):
    port = free_port()
    report = os.path.join(tmp, "run.json")
    proc = subprocess.Popen([GEN, "--", "--duration", "2", "--metrics", f"127.0.0.1:{port}", "--metrics-linger", "1.5",
                             "--json", report, "--progress", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    scrapes, types, stop = [], set(), threading.Event()
    # A client that connects and never sends, and one that asks and never reads the answer.
    idle = socket.socket()
    stalled = socket.socket()

    def scraper():
        connected = False
        while not stop.is_set():
            try:
                ctype, text = scrape(port)
                scrapes.append((time.monotonic(), text))
                types.add(ctype.split(";")[0])
                if not connected:
                    idle.connect(("127.0.0.1", port))
                    stalled.connect(("127.0.0.1", port))
                    stalled.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                    connected = True
            except OSError:
                pass
            time.sleep(0.1)

    t = threading.Thread(target=scraper)
    t.start()
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        stop.set()
        t.join()
        idle.close()
        stalled.close()
    check("scraped run exits 0", proc.returncode == 0, err[-400:])
    check("the endpoint was scraped many times during the run", len(scrapes) >= 15, str(len(scrapes)))
    check("content type is Prometheus text", types == {"text/plain"}, str(types))
    if PROMTOOL and scrapes:
        for label, (_, text) in (("first", scrapes[0]), ("middle", scrapes[len(scrapes) // 2]), ("last", scrapes[-1])):
            r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
            check(f"promtool check metrics passes on the {label} scrape", r.returncode == 0, (r.stdout + r.stderr)[-600:])
    else:
        check("promtool is installed (Debian package prometheus)", False)
    parsed = [parse(text) for _, text in scrapes]
    monotonic = True
    for before, after in zip(parsed, parsed[1:]):
        for key, value in before.items():
            name = key[0]
            if (name.endswith("_total") or name.endswith("_bucket") or name.endswith("_count") or name.endswith("_sum")) \
                    and key in after and after[key] < value:
                monotonic = False
                print("  decreased:", key, value, "->", after[key])
    check("every counter, bucket, _sum and _count only grows from scrape to scrape", monotonic)
    j = json.load(open(report))
    last = parsed[-1] if parsed else {}
    lbl = '{adapter="gen.q0",port="0",queue="0"}'
    check("submitted equals the report's", last.get(("pkio_submitted_packets_total", lbl)) == j["submitted"],
          f'{last.get(("pkio_submitted_packets_total", lbl))} vs {j["submitted"]}')
    ok_key = ("pkio_completed_packets_total", lbl[:-1] + ',status="success"}')
    check("completed with success equals the report's completed_ok", last.get(ok_key) == j["completed_ok"],
          f"{last.get(ok_key)} vs {j['completed_ok']}")
    check("miniport calls equal the report's batches", last.get(("pkio_miniport_calls_total", lbl)) == j["batches"])
    check("miniport call packets equal the report's batch_packets",
          last.get(("pkio_miniport_call_packets_total", lbl)) == j["batch_packets"])
    check("nothing in flight at the end", last.get(("pkio_in_flight_packets", lbl)) == 0)
    check("the generator's own sent count equals completed_ok (nothing failed)",
          last.get(("pkio_gen_sent_packets_total", '{queue="0"}')) == j["completed_ok"])
    buckets = sorted(((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), v)
                      for (name, labels), v in last.items()
                      if name == "pkio_completion_latency_seconds_bucket" and labels.startswith(lbl[:-1])
                      for m in [re.search(r'le="([^"]+)"', labels)]), key=lambda b: b[0])
    check("the latency histogram has samples", buckets and buckets[-1][1] > 0)
    if buckets and buckets[-1][1] > 0:
        for q, key in ((0.5, "p50"), (0.99, "p99")):
            from_histogram = quantile(buckets, q) * 1e9
            reported = j["latency_ns"][key]
            check(f"histogram_quantile({q}) agrees with the report's {key} within 15 %",
                  abs(from_histogram - reported) <= 0.15 * reported + 2,
                  f"{from_histogram:.0f} ns vs {reported:.0f} ns")
    lines = [line for line in out.splitlines() if line.strip()]
    objects = []
    for line in lines:
        try:
            objects.append(json.loads(line))
        except ValueError:
            pass
    check("--progress json: stdout is JSON objects only, one per line", lines and len(objects) == len(lines), out[:300])
    check("--progress json: about one a second, with stable fields",
          len(objects) >= 1 and all({"elapsed_s", "mpps", "completed_ok", "in_flight", "completed"} <= set(o) for o in objects))
    check("--progress json: completed_ok only grows", all(a["completed_ok"] <= b["completed_ok"] for a, b in zip(objects, objects[1:])))
    check("--progress json: the summary goes to stderr", "pkio-gen summary" in err)
    return scrapes[-1][1] if scrapes else ""


def config_checks(text):
    """config/: the scrape config is valid, and every metric the dashboard queries exists."""
    config = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config")
    if PROMTOOL:
        r = subprocess.run([PROMTOOL, "check", "config", os.path.join(config, "prometheus", "pkio.yml")],
                           capture_output=True, text=True)
        check("config/prometheus/pkio.yml passes promtool check config", r.returncode == 0, r.stdout + r.stderr)
    dashboard = json.load(open(os.path.join(config, "grafana", "pkio-gen-dashboard.json")))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = set(re.findall(r"pkio_[a-z_]+", " ".join(exprs)))
    exposed = {m.group(1) for m in re.finditer(r"^# TYPE (\S+) ", text, re.M)}
    exposed |= {n + "_bucket" for n in exposed}
    gen_only = {n for n in names if n.startswith("pkio_gen_") and "received" in n or "reordered" in n or "duplicated" in n
                or "not_received" in n}
    missing = sorted(n for n in names - exposed - gen_only)
    check("every metric the Grafana dashboard queries is exposed", not missing, str(missing))


def refusals():
    for bad in ("nowhere", "127.0.0.1:", "127.0.0.1:70000", "300.1.1.1:9101", "127.0.0.1:9x", ""):
        r = subprocess.run([GEN, "--", "--count", "10", "--metrics", bad], capture_output=True, text=True, timeout=30)
        lines = r.stderr.strip().splitlines()
        check(f"--metrics '{bad}' exits 2 with one line", r.returncode == 2 and len(lines) == 1 and "--metrics" in lines[0],
              r.stderr[-300:])
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([GEN, "--", "--count", "10", "--metrics", f"127.0.0.1:{port}"], capture_output=True, text=True,
                           timeout=60)
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        check("a port in use exits 2 and says so", r.returncode == 2 and "in use" in last, r.stderr[-300:])


def receive_side(tmp):
    """Over a net_ring loop with --rx-port: the receive families, equal to the report at the end."""
    port = free_port()
    report = os.path.join(tmp, "ring.json")
    proc = subprocess.Popen([GEN, "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "--vdev=net_ring0", "--",
                             "--port", "net_ring0", "--rx-port", "net_ring0", "--count", "200000", "--rate", "1Mpps",
                             "--size", "128", "--metrics", f"127.0.0.1:{port}", "--metrics-linger", "2",
                             "--json", report, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last = ""
    while proc.poll() is None:
        try:
            last = scrape(port)[1]
        except OSError:
            pass
        time.sleep(0.1)
    out, err = proc.communicate(timeout=60)
    check("net_ring loop with --metrics exits 0", proc.returncode == 0, err[-300:])
    m = parse(last)
    r = json.load(open(report))["receive"]
    stamped = m.get(("pkio_gen_received_frames_total", '{kind="stamped"}'))
    check("received stamped frames equal the report's", stamped == r["stamped"], f"{stamped} vs {r['stamped']}")
    check("sent-not-received equals the report's lost", m.get(("pkio_gen_not_received_packets", "")) == r["lost"],
          f'{m.get(("pkio_gen_not_received_packets", ""))} vs {r["lost"]}')
    check("duplicates and reordered equal the report's",
          m.get(("pkio_gen_duplicated_frames_total", "")) == r["duplicates"] and
          m.get(("pkio_gen_reordered_frames_total", "")) == r["reordered"])
    check("the one-way latency histogram counts every stamped frame",
          m.get(("pkio_gen_one_way_latency_seconds_count", "")) == r["stamped"])


def other_apps():
    """pkio-bench and pkio-maxsend: the same endpoint while they measure, JSON progress lines."""
    for name, app, args in (("pkio-bench", BENCH, ["--bursts", "32", "--sizes", "64", "--paths", "inline", "--reps", "4",
                                                    "--seconds", "0.4"]),
                            ("pkio-maxsend", MAXSEND, ["--values", "8,32", "--modes", "serialized", "--reps", "3",
                                                       "--seconds", "0.4"])):
        port = free_port()
        proc = subprocess.Popen([app, "--"] + args + ["--metrics", f"127.0.0.1:{port}", "--progress", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        texts = []
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                _, text = scrape(port)
                if "pkio_submitted_packets_total{" in text:
                    texts.append(text)
            except OSError:
                pass
            time.sleep(0.1)
        out, err = proc.communicate(timeout=60)
        check(f"{name} --metrics run exits 0", proc.returncode == 0, err[-300:])
        check(f"{name}: scrapes saw a running adapter", len(texts) >= 1, str(len(texts)))
        if texts and PROMTOOL:
            r = subprocess.run([PROMTOOL, "check", "metrics"], input=texts[-1], capture_output=True, text=True)
            check(f"{name}: promtool check metrics passes", r.returncode == 0, (r.stdout + r.stderr)[-400:])
        lines = [line for line in out.splitlines() if line.strip()]
        ok = bool(lines)
        for line in lines:
            try:
                ok = ok and isinstance(json.loads(line), dict)
            except ValueError:
                ok = False
        check(f"{name} --progress json: stdout is one JSON object per line", ok, out[:300])
        r = subprocess.run([app, "--"] + args + ["--metrics", "127.0.0.1:99999"], capture_output=True, text=True, timeout=30)
        check(f"{name}: a bad --metrics exits 2 with one line",
              r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr[-300:])


with tempfile.TemporaryDirectory() as tmp:
    config_checks(scraped_run(tmp))
    receive_side(tmp)
refusals()
other_apps()
finish()
