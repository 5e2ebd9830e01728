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
import pcap_frames  # noqa: E402
import shutil
import time
from collections import Counter

GEN = sys.argv[1]
EAL = ["--no-huge", "--no-shconf", "-m", "256", "--no-pci"]


def run(args, timeout=60, eal=None):
    argv = [GEN] + (eal + ["--"] if eal else []) + args
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


TWO_STREAMS = """
[run]
count = 4000
batch = 16

[[stream]]
name = "voice"
weight = 3
size = "64:7,594:4,1504:1"
vlan = 100
priority = 5
dst_ip = "198.18.1.0+256"
src_port = "random:10000+1000"

[[stream]]
name = "syn"
ip = 6
transport = "tcp-syn"
size = "100-200"
src_ip = "random:2001:2::100+1000"
dst_port = "80"
"""


def profile_checks(tmp):
    """A two-stream profile written through net_pcap: what the capture holds is what was asked."""
    profile, capture, report = (os.path.join(tmp, n) for n in ("two.toml", "two.pcap", "two.json"))
    open(profile, "w").write(TWO_STREAMS)
    r = run(["--profile", profile, "--json", report], eal=EAL + ["--vdev=net_pcap0,tx_pcap=" + capture])
    check("profile run on net_pcap exits 0", r.returncode == 0, r.stderr[-500:])
    j = json.load(open(report))
    check("profile: every packet completed", j["completed_ok"] == 4000 and j["config"]["batch"] == 16, str(j.get("completed_ok")))
    frames = [pcap_frames.parse(b) for _, b in pcap_frames.read_pcap(capture)]
    check("capture holds every frame", len(frames) == 4000, str(len(frames)))
    check("every IPv4/IPv6 header and UDP/TCP checksum verifies", all(f["checksums_ok"] for f in frames),
          str([f for f in frames if not f["checksums_ok"]][:2]))
    voice = [f for f in frames if f["ip"] == 4]
    syn = [f for f in frames if f["ip"] == 6]
    check("streams share 3:1", len(voice) == 3000 and len(syn) == 1000, "%d %d" % (len(voice), len(syn)))
    check("voice: tagged VLAN 100 priority 5, UDP", all(f["vlan"] == 100 and f["priority"] == 5 and f["transport"] == "udp" for f in voice))
    sizes = Counter(f["length"] for f in voice)  # --size is the frame as it leaves, tag included
    check("voice: sizes in proportion 7:4:1, tag included", sizes == Counter({64: 1750, 594: 1000, 1504: 250}), str(sizes))
    dsts = [f["dst"][3] + 256 * f["dst"][2] for f in voice]
    check("voice: destinations 198.18.1.0+256 in turn", dsts[:300] == [(1 * 256 + k % 256) for k in range(300)], str(dsts[:5]))
    ports = set(f["src_port"] for f in voice)
    check("voice: random source ports within 10000+1000", min(ports) >= 10000 and max(ports) < 11000 and len(ports) > 500, str(len(ports)))
    check("syn: untagged TCP SYN to port 80", all(f["vlan"] is None and f["transport"] == "tcp" and f["tcp_flags"] == 0x02
                                                 and f["dst_port"] == 80 for f in syn))
    check("syn: each SYN its own sequence number", len(set(f["tcp_seq"] for f in syn)) == 1000)
    lengths = [f["length"] for f in syn]
    check("syn: sizes 100-200, varied", min(lengths) >= 100 and max(lengths) <= 200 and len(set(lengths)) > 50)
    check("short frames padded with zeros", all(f["padding_zero"] for f in frames))
    seqs = Counter(f["sequence"] >> 48 for f in frames if "sequence" in f)
    check("stamps carry a flow per stream", seqs == Counter({0: 3000, 1: 1000}), str(seqs))
    tshark = shutil.which("tshark")
    if tshark:
        t = subprocess.run([tshark, "-r", capture, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                            "-o", "tcp.check_checksum:TRUE", "-o", "tcp.desegment_tcp_streams:FALSE",
                            "-d", "udp.port==1024,data", "-T", "fields", "-e", "frame.protocols",
                            "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "tcp.checksum.status",
                            "-e", "_ws.malformed"], capture_output=True, text=True, timeout=120)
        rows = [l.split("\t") for l in t.stdout.splitlines()]
        protocols = Counter(":".join(r[0].split(":")[:6 if "vlan" in r[0] else 4]) for r in rows)
        check("tshark decodes eth:vlan:ip:udp and eth:ipv6:tcp", t.returncode == 0 and len(rows) == 4000
              and protocols == Counter({"eth:ethertype:vlan:ethertype:ip:udp": 3000, "eth:ethertype:ipv6:tcp": 1000}),
              str(protocols))
        bad = [r for r in rows if "2" in r[1:4] or (len(r) > 4 and r[4])]
        check("tshark: no bad checksum, nothing malformed", not bad, str(bad[:3]))
    else:
        print("skip tshark decoding (tshark is not installed; CI installs it)")
    return capture


def stamp_only_checks(tmp):
    """One stream of one size (the generator's stamp-only fast path): every frame's stamp and
    checksums are right, sequence numbers run 0..N-1 in order, timestamps never go back."""
    for extra, name in (([], "IPv4"), (["--ip", "6", "--size", "128"], "IPv6")):  # 64 bytes hold no IPv6 stamp
        capture = os.path.join(tmp, "stamped%s.pcap" % name)
        r = run(["--count", "5000", "--batch", "32"] + extra, eal=EAL + ["--vdev=net_pcap0,tx_pcap=" + capture])
        frames = [pcap_frames.parse(b) for _, b in pcap_frames.read_pcap(capture)] if r.returncode == 0 else []
        check("stamp-only %s run: 5000 frames, every checksum right" % name,
              len(frames) == 5000 and all(f["checksums_ok"] and f["ip"] == int(name[-1]) for f in frames), r.stderr[-300:])
        check("stamp-only %s run: sequence numbers 0..4999 in order" % name,
              [f.get("sequence") for f in frames] == list(range(5000)), str([f.get("sequence") for f in frames[:4]]))
        stamps = [f.get("timestamp", -1) for f in frames]
        check("stamp-only %s run: timestamps set, never going back" % name,
              stamps[0] > 0 and all(a <= b for a, b in zip(stamps, stamps[1:])), str(stamps[:4]))


def replay_checks(tmp, source):
    """A capture replayed twice through net_pcap comes out byte for byte, in order."""
    out, report = os.path.join(tmp, "replayed.pcap"), os.path.join(tmp, "replay.json")
    r = run(["--pcap", source, "--loops", "2", "--json", report], eal=EAL + ["--vdev=net_pcap0,tx_pcap=" + out])
    check("pcap replay exits 0", r.returncode == 0, r.stderr[-300:])
    original = [b for _, b in pcap_frames.read_pcap(source)]
    replayed = [b for _, b in pcap_frames.read_pcap(out)]
    check("replay sends every frame twice, unchanged and in order", replayed == original + original,
          "%d vs %d" % (len(replayed), 2 * len(original)))
    # Recorded timing: 100 frames 2 ms apart take about 0.2 s at speed 1 and 0.1 s at speed 2.
    timed = os.path.join(tmp, "timed.pcap")
    pcap_frames.write_pcap(timed, [(1000 + k * 0.002, original[k]) for k in range(100)])
    for speed, expect in ((1, 0.2), (2, 0.1)):
        r = run(["--pcap", timed, "--replay-speed", str(speed), "--json", report], eal=EAL + ["--vdev=net_null0"])
        j = json.load(open(report))
        check("replay at speed %d takes the recorded time (%.1f s)" % (speed, expect),
              r.returncode == 0 and j["completed_ok"] == 100 and expect * 0.9 < j["duration_s"] < expect + 0.15,
              str(j["duration_s"]))
    for bad, why in ((os.path.join(tmp, "missing.pcap"), "missing.pcap: cannot open"), (__file__, "cannot read pcap")):
        r = run(["--pcap", bad])
        check("bad pcap file exits 2 naming it", r.returncode == 2 and why in r.stderr, r.stderr[-200:])


def receive_checks(tmp):
    """A net_ring port looped to itself: everything sent is received, once, in order."""
    report, csv = os.path.join(tmp, "rx.json"), os.path.join(tmp, "packets.csv")
    r = run(["--port", "net_ring0", "--rx-port", "net_ring0", "--count", "200000", "--json", report, "--csv", csv],
            eal=EAL + ["--vdev=net_ring0"])
    j = json.load(open(report))
    rx = j.get("receive", {})
    check("net_ring loop: all received once, in order", r.returncode == 0 and rx.get("unique") == 200000
          and rx.get("lost") == 0 and rx.get("duplicates") == 0 and rx.get("reordered") == 0
          and rx.get("bad_checksum") == 0, str(rx))
    check("net_ring loop: one-way latency measured", 0 < rx["latency_ns"]["p50"] <= rx["latency_ns"]["p99"], str(rx.get("latency_ns")))
    lines = open(csv).read().splitlines()
    rows = [l.split(",") for l in lines[1:]]
    check("csv: a line per completed packet", lines[0] == "queue,flow,sequence,size,status,latency_ns" and len(rows) == 200000
          and all(x[4] == "success" for x in rows) and len(set(x[2] for x in rows)) == 200000, str(lines[:2]))


def veth_checks(tmp):
    """Frames sent over a veth pair (net_af_packet at both ends) arrive on the peer."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("skip veth run (needs root for a network namespace)")
        return
    report = os.path.join(tmp, "veth.json")
    # The kernel's own counters of the peer, before and after (IPv6 off: no neighbour
    # discovery of its own on the pair), are a third count beside pkio's and the receiver's.
    # /proc/net/dev is the namespace's own: pkg1's received bytes and packets.
    counters = "awk '/pkg1:/ {print $2, $3}' /proc/net/dev"
    script = ("ip link add pkg0 type veth peer name pkg1 && sysctl -qw net.ipv6.conf.pkg0.disable_ipv6=1 "
              "net.ipv6.conf.pkg1.disable_ipv6=1; ip link set pkg0 up && ip link set pkg1 up && "
              "%s && %s %s --vdev=net_af_packet0,iface=pkg0 "
              "--vdev=net_af_packet1,iface=pkg1,framecnt=8192 -- --port net_af_packet0 --rx-port net_af_packet1 "
              "--count 20000 --rate 50kpps --vlan 7 --size 100 --json %s --quiet && %s"
              % (counters, GEN, " ".join(EAL), report, counters))
    r = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    j = json.load(open(report)) if os.path.exists(report) else {}
    rx = j.get("receive", {})
    check("veth pair: the peer received what was completed", r.returncode == 0 and j.get("completed_ok") == 20000
          and rx.get("unique") == j.get("completed_ok") and rx.get("lost") == 0 and rx.get("bad_checksum") == 0,
          str(rx) + r.stderr[-300:])
    numbers = [int(x) for x in r.stdout.split() if x.isdigit()]
    if r.returncode == 0 and len(numbers) >= 4:
        wire, packets = numbers[-2] - numbers[0], numbers[-1] - numbers[1]
        check("veth pair: the peer's kernel counted as many frames as pkio completed",
              packets == j.get("completed_ok"), f"kernel {packets}, pkio {j.get('completed_ok')}")
        check("veth pair: and as many bytes as pkio reports (802.1Q tags in)", wire == j.get("bytes"),
              f"kernel {wire}, pkio {j.get('bytes')}")
    else:
        check("veth pair: the peer's kernel counters were read", False, r.stdout[-300:])


def telemetry_checks(tmp):
    """Reads a running generator's counters through DPDK telemetry with dpdk-telemetry.py."""
    report = os.path.join(tmp, "telemetry.json")
    prefix = "pkio_tel_%d" % os.getpid()
    p = subprocess.Popen([GEN, "--file-prefix", prefix] + EAL + ["--vdev=net_null0", "--", "--duration", "4",
                          "--quiet", "--json", report], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    socket_path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
    if os.getuid() != 0:
        socket_path = os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk", prefix, "dpdk_telemetry.v2")
    for _ in range(100):
        if os.path.exists(socket_path):
            break
        time.sleep(0.05)
    time.sleep(1)
    tool = shutil.which("dpdk-telemetry.py")
    check("dpdk-telemetry.py is installed (dpdk-dev)", tool is not None)
    q = subprocess.run([sys.executable, tool, "-f", prefix], input="/pkio/adapters\n/pkio/counters,gen.q0\n"
                       "/pkio/latency,0\n/pkio/batch_sizes,gen.q0\n/pkio/counters,nothing\n",
                       capture_output=True, text=True, timeout=30)
    replies = [json.loads(line) for line in q.stdout.splitlines() if line.startswith("{")]
    answers = {}
    for reply in replies[:4]:
        answers.update(reply)
    out, err = p.communicate(timeout=60)
    check("telemetry: the adapter is listed", answers.get("/pkio/adapters") == ["gen.q0"], q.stdout[-500:] + q.stderr[-300:])
    c = answers.get("/pkio/counters") or {}
    check("telemetry: live counters while sending", c.get("submitted", 0) > 0 and c.get("completed_ok", 0) > 0
          and c["completed_ok"] + c["completed_error"] <= c["submitted"] and c.get("violation_hangs") == 0, str(c))
    lat = answers.get("/pkio/latency") or {}
    check("telemetry: latency percentiles ordered", lat.get("count", 0) > 0
          and 0 < lat["p50_ns"] <= lat["p99_ns"] <= lat["p999_ns"], str(lat))
    sizes = answers.get("/pkio/batch_sizes") or []
    check("telemetry: batch sizes up to the limit 32", len(sizes) == 33 and sizes[32] > 0, str(sizes)[-80:])
    check("telemetry: an unknown adapter answers null", len(replies) == 5 and replies[4] == {"/pkio/counters": None},
          str(replies[4:]))
    j = json.load(open(report))
    check("telemetry: the final report counts at least what telemetry saw", p.returncode == 0
          and j["submitted"] >= c.get("submitted", 1 << 62), err[-300:])


def lcore_checks():
    """Sending threads go on the cores given to EAL with -l, the main lcore first; two queues on
    one lcore share it (with a note) and still finish."""
    if (os.cpu_count() or 1) < 2:
        print("NOTE lcore placement not checked: this machine has one core")
        return
    p = subprocess.Popen([GEN] + EAL + ["--vdev=net_null0", "-l", "1", "--", "--queues", "2", "--duration", "4",
                          "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    allowed = {}
    deadline = time.time() + 3.5  # until the sending thread is there (slower under ASan)
    while len(allowed) < 3 and time.time() < deadline and p.poll() is None:
        time.sleep(0.1)
        allowed = {}
        try:
            tids = os.listdir("/proc/%d/task" % p.pid)
        except OSError:  # it has already exited: the check below says so
            break
        for tid in tids:
            try:
                name = open("/proc/%d/task/%s/comm" % (p.pid, tid)).read().strip()
                status = open("/proc/%d/task/%s/status" % (p.pid, tid)).read()
            except OSError:
                continue
            cpus = [line.split()[1] for line in status.splitlines() if line.startswith("Cpus_allowed_list")]
            if name == "pkio-gen":
                allowed[tid] = cpus[0] if cpus else "?"
    out, err = p.communicate(timeout=60)
    check("-l 1, two queues: the main and both sending threads run on CPU 1 only", p.returncode == 0
          and len(allowed) >= 3 and set(allowed.values()) == {"1"}, str(allowed) + err[-300:])
    check("-l 1, two queues: a note says they share a core", "some share a core" in err, err[-300:])


def pacing_checks(tmp):
    report = os.path.join(tmp, "pace.json")
    for pacing in ("poisson", "burst:64"):
        r = run(["--duration", "1", "--rate", "500kpps", "--pacing", pacing, "--json", report])
        j = json.load(open(report))
        check("%s pacing within 5 %% of 500 kpps" % pacing, r.returncode == 0 and abs(j["achieved_of_target"] - 1) < 0.05,
              str(j.get("achieved_of_target")))


with tempfile.TemporaryDirectory() as tmp:
    report = os.path.join(tmp, "r.json")

    r = run(["--count", "200000", "--json", report])
    check("count run exits 0", r.returncode == 0, r.stderr)
    j = json.load(open(report))
    check("json: every packet completed once", j["submitted"] == 200000 and j["completed_ok"] == 200000
          and j["completed_error"] == 0 and j["in_flight"] == 0, str(j))
    for key in ["rejected_sync", "duration_s", "duration_from", "mpps", "gbps", "latency_ns", "config", "completed_by_status", "violations"]:
        check("json has " + key, key in j)
    lat = j["latency_ns"]
    check("json latency percentiles ordered, none above the exact maximum",
          0 < lat["p50"] <= lat["p99"] <= lat["p999"] <= lat["max"], str(lat))
    check("summary printed", "pkio-gen summary" in r.stdout)

    r = run(["--duration", "2", "--rate", "1Mpps", "--json", report])
    j = json.load(open(report))
    check("constant rate within 5 % of 1 Mpps", r.returncode == 0 and abs(j["mpps"] - 1.0) < 0.05, str(j.get("mpps")))

    r = run(["--count", "50000", "--window", "8", "--batch", "4", "--json", report])
    j = json.load(open(report))
    check("window run completes everything", r.returncode == 0 and j["completed_ok"] == 50000)
    check("batch limit respected", j["mean_batch"] <= 4.0, str(j["mean_batch"]))

    r = run(["--count", "1000", "--size", "64-1514", "--vlan", "7", "--priority", "3", "--copy", "--json", report])
    check("ranged, tagged, copy mode run exits 0", r.returncode == 0 and json.load(open(report))["completed_ok"] == 1000, r.stderr)

    jumbo = os.path.join(tmp, "jumbo.pcap")
    r = run(["--count", "100", "--size", "9000", "--mtu", "9000", "--vlan", "9", "--json", report],
            eal=EAL + ["--vdev=net_pcap0,tx_pcap=" + jumbo])
    frames = [pcap_frames.parse(b) for _, b in pcap_frames.read_pcap(jumbo)] if r.returncode == 0 else []
    check("--mtu 9000: 9000-byte frames sent in slot-sized pieces arrive whole, tagged, checksums right",
          json.load(open(report))["completed_ok"] == 100 and len(frames) == 100
          and all(f["length"] == 9000 and f["vlan"] == 9 and f["checksums_ok"] for f in frames), r.stderr[-300:])
    r = run(["--count", "10", "--size", "4000"])
    check("--size over the MTU without --mtu exits 2 naming the limit", r.returncode == 2 and "1514" in r.stderr and "--mtu" in r.stderr,
          r.stderr[-300:])

    capture = profile_checks(tmp)
    stamp_only_checks(tmp)
    replay_checks(tmp, capture)
    receive_checks(tmp)
    veth_checks(tmp)
    telemetry_checks(tmp)
    lcore_checks()
    pacing_checks(tmp)
    bad_profile = os.path.join(tmp, "bad.toml")
    open(bad_profile, "w").write("[run]\nbatch = 16\n\n[[stream]]\nsize = \"huge\"\n")
    r = run(["--profile", bad_profile])
    check("bad profile exits 2 with file and line", r.returncode == 2 and (bad_profile + ":5: size") in r.stderr, r.stderr)

    for bad in (["--size", "10"], ["--rate", "fast"], ["--batch", "0"], ["--bogus"], ["--port", "net_nothing9"],
                ["--src-ip", "1.2.3.4.5"], ["--pacing", "jazz"], ["--rx-port", "net_nothing9"], ["--mtu", "20000"]):
        r = run(bad)
        lines = [l for l in r.stderr.splitlines() if l.startswith("pkio-gen:")]
        check("bad input %s exits 2 with one line" % bad, r.returncode == 2 and len(lines) == 1, r.stderr)

    r = subprocess.run([GEN, "--no-such-eal-flag", "--"], capture_output=True, text=True, timeout=60)
    check("bad EAL argument exits 2", r.returncode == 2 and "pkio-gen: EAL" in r.stderr, r.stderr)

    r = subprocess.run([GEN, "--no-huge", "--no-shconf", "-m", "16", "--no-pci", "--vdev=net_null0", "--",
                        "--duration", "1"], capture_output=True, text=True, timeout=60)
    lines = [l for l in r.stderr.splitlines() if l.startswith("pkio-gen:")]
    check("too small -m exits 2 with one line about memory", r.returncode == 2 and len(lines) == 1
          and "memory" in lines[0].lower(), r.stderr)

    r = run(["--help"])
    check("--help exits 0 and documents the options", r.returncode == 0 and "--rate" in r.stdout and "--window" in r.stdout)

    p = subprocess.Popen([GEN, "--duration", "60", "--json", report], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    j = json.load(open(report))
    check("SIGINT: exits 0 after draining", p.returncode == 0 and j["stopped_by"] == "SIGINT" and j["in_flight"] == 0
          and j["submitted"] == j["completed_ok"] + j["completed_error"], err)
    check("SIGINT: summary says so", "stopped by SIGINT" in out)

    p = subprocess.Popen([GEN, "--duration", "60", "--json", report], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    j = json.load(open(report))
    check("SIGTERM: exits 0 after draining, nothing lost", p.returncode == 0 and j["stopped_by"] == "SIGTERM"
          and j["in_flight"] == 0 and j["submitted"] == j["completed_ok"] + j["completed_error"], err)

finish()
