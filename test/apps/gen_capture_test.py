#!/usr/bin/env python3
"""pkio-gen's counts, bytes and rates against what a net_pcap capture holds (its own frames and
timestamps, read here without pkio's code): short and long runs, paced and unpaced, tagged and
untagged, IMIX. Counts and bytes must be equal; rates and Gbit/s within 2 %."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import check, finish  # noqa: E402
import pcap_frames  # noqa: E402

GEN = sys.argv[1]
EAL = ["--no-huge", "--no-shconf", "-m", "256", "--no-pci"]
CASES = (
    ("short, paced", ["--count", "2000", "--rate", "100000"]),
    ("long, unpaced", ["--count", "200000"]),
    ("tagged, paced", ["--count", "20000", "--vlan", "5", "--size", "128", "--rate", "1Mpps"]),
    ("IMIX, tagged, unpaced", ["--count", "50000", "--size", "imix", "--vlan", "3"]),
    ("paced by bits", ["--count", "20000", "--size", "512", "--rate", "1Gbps"]),
)

with tempfile.TemporaryDirectory() as tmp:
    for name, args in CASES:
        capture, report = os.path.join(tmp, "c.pcap"), os.path.join(tmp, "c.json")
        r = subprocess.run([GEN] + EAL + ["--vdev=net_pcap0,tx_pcap=" + capture, "--"] + args + ["--json", report, "--quiet"],
                           capture_output=True, text=True, timeout=120)
        check(f"{name}: exits 0", r.returncode == 0, r.stderr[-300:])
        j = json.load(open(report))
        frames = pcap_frames.read_pcap(capture)
        n = len(frames)
        span = frames[-1][0] - frames[0][0] if n > 1 else 0
        wire = sum(len(b) for _, b in frames)
        check(f"{name}: completed_ok equals the frames captured", j["completed_ok"] == n, f"{j['completed_ok']} vs {n}")
        check(f"{name}: bytes equal the captured frames' bytes (tags in)", j["bytes"] == wire, f"{j['bytes']} vs {wire}")
        # The capture's rate over n - 1 gaps, pkio's over n packets from first submission to last completion.
        cap_pps = (n - 1) / span
        check(f"{name}: rate within 2 % of the capture's", abs(j["mpps"] * 1e6 / cap_pps - 1) <= 0.02,
              f"{j['mpps'] * 1e6:.0f} vs {cap_pps:.0f} pps")
        cap_gbps = wire * 8 / span * (n - 1) / n / 1e9
        check(f"{name}: Gbit/s within 2 % of the capture's", abs(j["gbps"] / cap_gbps - 1) <= 0.02,
              f"{j['gbps']:.4f} vs {cap_gbps:.4f}")
        cap_line = (wire + 24 * n) * 8 / span * (n - 1) / n / 1e9
        check(f"{name}: Gbit/s on the wire (24 bytes a frame more) within 2 %", abs(j["line_gbps"] / cap_line - 1) <= 0.02,
              f"{j['line_gbps']:.4f} vs {cap_line:.4f}")
        if "target_pps" in j:
            check(f"{name}: achieved share of the target agrees with the capture",
                  abs(j["achieved_of_target"] - cap_pps / j["target_pps"]) <= 0.02,
                  f"{j['achieved_of_target']:.4f} vs {cap_pps / j['target_pps']:.4f}")
finish()
