#!/usr/bin/env python3
"""Writes the starting corpus of every fuzz target into fuzz/corpus/ (run once; libFuzzer
grows the corpus from these, and what it finds worth keeping can be added beside them).
The traffic profiles in config/profiles/ are copied in as the profile target's seeds."""
import os
import shutil
import struct

here = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    path = os.path.join(here, "corpus", target, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# pkio-gen command lines, one argument per line.
for i, args in enumerate([
    ["--count", "100", "--size", "64-1518"],
    ["--size", "imix", "--rate", "50%", "--pacing", "poisson"],
    ["--ip", "6", "--l4", "tcp-syn", "--size", "60:3,1514:1", "--rate", "1.5Mpps"],
    ["--vlan", "100", "--priority", "5", "--src-mac", "02:00:00:00:00:01+16", "--rate", "10Gbps"],
    ["--src-ip", "random:10.0.0.1+256", "--dst-port", "1000+100", "--pacing", "burst:8", "--rate", "5000"],
    ["--queues", "2", "--batch", "64", "--window", "128", "--duration", "1.5"],
    ["--size", "9018", "--copy", "--quiet"],
    ["--help"],
]):
    put("gen_options", f"args{i}", "\n".join(args))


def pcap(frames, magic=0xA1B2C3D4, link=1, endian="<", snap=65535, short=False):
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snap, link)
    for t, frame in enumerate(frames):
        caplen = len(frame) - (4 if short else 0)
        out += struct.pack(endian + "IIII", 1700000000 + t, 1000 * t, caplen, len(frame)) + frame[:caplen]
    return out


eth = bytes.fromhex("ffffffffffff020000000001") + b"\x08\x00" + bytes(50)
put("pcap_trace", "usec", pcap([eth, eth + bytes(100), eth]))
put("pcap_trace", "nsec", pcap([eth, eth], magic=0xA1B23C4D))
put("pcap_trace", "big_endian", pcap([eth], endian=">"))
put("pcap_trace", "short_capture", pcap([eth], short=True))
put("pcap_trace", "not_ethernet", pcap([eth], link=101))
put("pcap_trace", "too_long", pcap([eth + bytes(1500)]))
put("pcap_trace", "no_frames", pcap([]))

put("number_list", "sizes", b"\x3c\xe1" + b"64,128,1518")
put("number_list", "bursts", b"\x01\x1a" + b"1,8,32,64")
put("number_list", "bad", b"\x01\x1a" + b"1,,x,-3")

for i in range(12):  # each known OID with 4- and 8-byte buffers, a short one and none
    for length in (0, 3, 4, 8):
        put("oid_query", f"oid{i}_len{length}", bytes([i, 0, 0, 0, 0, length, 0]) + b"\x11" * 8)
put("oid_query", "unknown_oid", bytes([250]) + struct.pack("<I", 0x00010199) + bytes([4, 0]))
put("oid_query", "huge", bytes([9, 0, 0, 0, 0, 8, 0xFF]))


def packet(lengths, info=0, reserved_ok=False, content=b""):
    head = bytes([1 if reserved_ok else 0]) + struct.pack("<I", info) + bytes([len(lengths)])
    return head + b"".join(struct.pack("<H", n) for n in lengths) + content


frame = bytes(range(256))
put("packet_to_mbuf", "single_64", packet([64], content=frame))
put("packet_to_mbuf", "single_1514", packet([1514], content=frame))
put("packet_to_mbuf", "short_padded", packet([42], content=frame))
put("packet_to_mbuf", "chain_3", packet([14, 20, 30], content=frame))
put("packet_to_mbuf", "chain_with_empty", packet([14, 0, 100, 0], content=frame))
put("packet_to_mbuf", "tagged", packet([100], info=(5 | 0x123 << 4), content=frame))
put("packet_to_mbuf", "tagged_split_mac", packet([6, 4, 50], info=(3 | 42 << 4), content=frame))
put("packet_to_mbuf", "tagged_short", packet([8], info=1, content=frame))
put("packet_to_mbuf", "reserved_bits", packet([64], info=0x10000, reserved_ok=True, content=frame))
put("packet_to_mbuf", "too_long", packet([4000, 4000, 1100], content=frame))  # over 9014
put("packet_to_mbuf", "jumbo_single", packet([4000], content=frame))  # two slot-sized pieces
put("packet_to_mbuf", "jumbo_chain_tagged", packet([3000, 2500, 12], info=(2 | 7 << 4), content=frame))
put("packet_to_mbuf", "empty_chain", packet([]))
put("packet_to_mbuf", "sixteen_ones", packet([1] * 16, content=frame))

for f in os.listdir(os.path.join(here, "..", "config", "profiles")):
    shutil.copy(os.path.join(here, "..", "config", "profiles", f), os.path.join(here, "corpus", "gen_profile", f))
