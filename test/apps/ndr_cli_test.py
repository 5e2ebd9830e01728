#!/usr/bin/env python3
"""pkio-ndr as a user runs it, against DUTs whose capacity is known: a Linux bridge in a
network namespace whose egress is shaped with tc tbf (the DUT drops above the rate), the same
path with the sender's own veth shaped instead (the kernel pushes back: trials above the rate
must be invalid, not passes), and a net_ring loop (no loss: the sender is the limit). Bad
options exit 2 with one line; SIGINT stops the search with what was found so far."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import check, finish  # noqa: E402

NDR = sys.argv[1]
EAL = ["--no-huge", "--no-shconf", "-m", "256", "--no-pci"]
NS = "pkio_ndr_dut"


def run(eal, args, timeout=240):
    return subprocess.run([NDR] + eal + ["--"] + args, capture_output=True, text=True, timeout=timeout)


def sh(*cmd):
    subprocess.run(list(cmd), check=True, capture_output=True)


def topology_down():
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    for dev in ("pkndr_a0", "pkndr_b0"):
        subprocess.run(["ip", "link", "del", dev], capture_output=True)


def topology_up():
    """pkndr_a0 (sender) -> [pkndr_a1 - br0 - pkndr_b1] in the namespace -> pkndr_b0 (receiver)."""
    topology_down()
    sh("ip", "netns", "add", NS)
    sh("ip", "link", "add", "pkndr_a0", "type", "veth", "peer", "name", "pkndr_a1", "netns", NS)
    sh("ip", "link", "add", "pkndr_b0", "type", "veth", "peer", "name", "pkndr_b1", "netns", NS)
    for dev in ("pkndr_a0", "pkndr_b0"):
        subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1"], capture_output=True)
        sh("ip", "link", "set", dev, "up")
    inside = ["ip", "netns", "exec", NS]
    sh(*inside, "ip", "link", "add", "br0", "type", "bridge")
    for dev in ("pkndr_a1", "pkndr_b1"):
        sh(*inside, "ip", "link", "set", dev, "master", "br0")
        sh(*inside, "ip", "link", "set", dev, "up")
    sh(*inside, "ip", "link", "set", "br0", "up")


def veth_eal(bypass=True):
    # Through the qdisc, frames the kernel refuses stay in af_packet's TX ring until the next
    # send kicks it, i.e. into the next trial: a ring of 64 frames fits in the tbf's queue; with
    # the default 512 the previous trial's leftovers would fill it, and the next trial's own
    # frames would be dropped and counted as the DUT's loss.
    a = "--vdev=net_af_packet0,iface=pkndr_a0" + ("" if bypass else ",qdisc_bypass=0,framecnt=64")
    return EAL + [a, "--vdev=net_af_packet1,iface=pkndr_b0"]


def trials_complete(j):
    keys = {"intended", "offered", "received", "lost", "valid", "intended_pps", "duration_s", "latency_ns"}
    return all(keys <= set(t) for t in j["trials"])


def refusals():
    for args, what in ((["--pdr", "1.5"], "--pdr"), (["--pdr", "x"], "--pdr"), (["--sizes", "50"], "--sizes"),
                       (["--precision", "0"], "--precision"), (["--trial-seconds", "-1"], "--trial-seconds"),
                       (["--max-rate", "fast"], "--max-rate"), (["--bogus"], "bogus"),
                       (["--metrics", "nowhere"], "--metrics"), (["--json", ""], "--json")):
        r = run(EAL + ["--vdev=net_ring0"], ["--port", "net_ring0"] + args, timeout=30)
        lines = r.stderr.strip().splitlines()
        check(f"bad {' '.join(args)} exits 2 with one line naming it",
              r.returncode == 2 and len(lines) == 1 and what in lines[0], r.stderr[-300:])
    r = run(EAL + ["--vdev=net_ring0"], ["--port", "net_ring0", "--json", "/nonexistent/dir/x.json"], timeout=30)
    check("an output that cannot be opened exits 2 before any trial", r.returncode == 2 and "trial" not in r.stdout,
          r.stderr[-300:])


def ring_loop(tmp):
    """net_ring loop, asked for far more than the sender can: sender-limited, nothing lost."""
    report, csv, svg = (os.path.join(tmp, n) for n in ("ring.json", "ring.csv", "ring.svg"))
    r = run(EAL + ["--vdev=net_ring0"], ["--port", "net_ring0", "--max-rate", "500Mpps", "--trial-seconds", "0.2",
                                         "--final-seconds", "0.3", "--precision", "0.05", "--no-latency",
                                         "--json", report, "--csv", csv, "--svg", svg])
    check("net_ring loop exits 0", r.returncode == 0, r.stderr[-400:])
    j = json.load(open(report))
    check("net_ring: NDR found and limited by the sender", j["ndr"]["pps"] > 0 and j["ndr"]["limited_by"] == "sender",
          json.dumps(j["ndr"]))
    check("net_ring: every trial carries intended, offered, received, lost", trials_complete(j))
    check("net_ring: no valid trial lost anything", all(t["lost"] == 0 for t in j["trials"] if t["valid"]))
    check("net_ring: the trials at 500 Mpps are invalid, with a reason",
          any(not t["valid"] and t["invalid_reason"] for t in j["trials"]))
    passing = {t["index"] for t in j["trials"] if t["valid"] and t["lost"] == 0}
    check("net_ring: the NDR rests on a passing trial", j["ndr"]["trial"] in passing, str(j["ndr"]["trial"]))
    rows = open(csv).read().splitlines()
    check("--csv: a header and a line per trial", rows[0].startswith("frame_size,trial") and len(rows) == len(j["trials"]) + 1)
    check("--svg: an SVG document", open(svg).read().startswith("<svg"))


def shaped_dut(tmp, size, mbit):
    """tbf on the bridge's egress port: the DUT forwards mbit/s and drops the rest."""
    topology_up()
    # The bucket holds a burst of 32 frames (the sender's batch, sent back to back when it
    # catches up after the scheduler took its core); the queue behind it 1 % of a second of
    # the rate, so that a 0.5 s trial above the rate cannot hide more than 2 % in it.
    rate_bytes = mbit * 1e6 / 8
    burst = max(32 * size, 4096)
    limit = burst + int(rate_bytes / 100)
    sh("ip", "netns", "exec", NS, "tc", "qdisc", "add", "dev", "pkndr_b1", "root", "tbf", "rate", f"{mbit}mbit",
       "burst", str(burst), "limit", str(limit))
    capacity = mbit * 1e6 / (size * 8)  # tbf counts the frame as the kernel holds it: `size` bytes
    report = os.path.join(tmp, f"dut{size}.json")
    r = run(veth_eal(), ["--port", "net_af_packet0", "--rx-port", "net_af_packet1", "--sizes", str(size),
                         "--trial-seconds", "0.5", "--final-seconds", "1", "--no-latency", "--json", report])
    check(f"shaped DUT ({mbit} Mbit/s, {size} B) exits 0", r.returncode == 0, r.stderr[-400:])
    j = json.load(open(report))
    ndr = j["ndr"]["pps"]
    check(f"shaped DUT: NDR {ndr:.0f} pps within 5 % of the shaped {capacity:.0f} pps",
          abs(ndr - capacity) <= 0.05 * capacity, r.stdout[-1500:])
    check("shaped DUT: limited by the DUT", j["ndr"]["limited_by"] == "dut", json.dumps(j["ndr"]))
    check("shaped DUT: every trial carries intended, offered, received, lost", trials_complete(j))
    check("shaped DUT: lost = offered - received in every trial",
          all(t["lost"] == t["offered"] - t["received"] for t in j["trials"]))


def shaped_sender(tmp, size, mbit):
    """tbf on the sender's own veth, with the qdisc in the path (qdisc_bypass=0): the kernel
    pushes back, so the trials above the rate cannot be offered and must not pass."""
    topology_up()
    sh("tc", "qdisc", "add", "dev", "pkndr_a0", "root", "tbf", "rate", f"{mbit}mbit", "burst", "6kb", "limit", "64kb")
    capacity = mbit * 1e6 / (size * 8)
    report = os.path.join(tmp, f"sender{size}.json")
    r = run(veth_eal(bypass=False), ["--port", "net_af_packet0", "--rx-port", "net_af_packet1", "--sizes", str(size),
                                     "--trial-seconds", "0.5", "--final-seconds", "1", "--no-latency", "--json", report])
    check("shaped sender exits 0", r.returncode == 0, r.stderr[-400:])
    j = json.load(open(report))
    above = [t for t in j["trials"] if t["intended_pps"] > 1.5 * capacity]
    check("shaped sender: there were trials well above the shaped rate", len(above) > 0)
    check("shaped sender: every one of them is invalid (the sender could not offer it), none a pass",
          all(not t["valid"] for t in above), json.dumps([(t["intended_pps"], t["valid"]) for t in above]))
    ndr = j["ndr"]["pps"]
    check(f"shaped sender: NDR {ndr:.0f} pps within 5 % of the shaped {capacity:.0f} pps",
          abs(ndr - capacity) <= 0.05 * capacity, r.stdout[-1500:])


def interrupted(tmp):
    report = os.path.join(tmp, "int.json")
    p = subprocess.Popen([NDR] + EAL + ["--vdev=net_ring0", "--", "--port", "net_ring0", "--max-rate", "500Mpps",
                                        "--trial-seconds", "0.5", "--precision", "0.0001", "--json", report],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    check("SIGINT: exits 0 after writing what was found", p.returncode == 0, err[-300:])
    j = json.load(open(report))
    check("SIGINT: the report says so and has the trials so far", j["interrupted"] and len(j["trials"]) >= 1)
    check("SIGINT: the result line says the search was stopped", "STOPPED" in out or "stopped by SIGINT" in out, out[-300:])


if os.geteuid() != 0:
    check("pkio-ndr's DUT tests need root (network namespaces, veth, tc)", False)
    finish()
with tempfile.TemporaryDirectory() as tmp:
    refusals()
    ring_loop(tmp)
    interrupted(tmp)
    try:
        shaped_dut(tmp, 512, 40)
        shaped_dut(tmp, 128, 20)
        shaped_sender(tmp, 512, 40)
    finally:
        topology_down()
finish()
