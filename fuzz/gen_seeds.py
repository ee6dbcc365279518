#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/corpus/<target>/) and the
dictionary (fuzz/panp.dict).  Run it from the repository root after the
golden vectors or the harness input formats change:

    python3 fuzz/gen_seeds.py

Seeds are: the golden vectors (conformance/vectors), reproducers of the
bug classes of protobuf-c and nanopb (/work/shared/reference/codec-notes.md)
adapted to panp.v1, and short scripts for the structured targets that walk
the main paths (handshake, register, open, send, reply, close, peer death).
Campaigns grow fuzz/corpus-work/ (not committed); `make fuzz-merge` adds
what it reaches beyond fuzz/corpus (edges only) to fuzz/corpus, under hash
names that this script leaves alone.
"""
import hashlib
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VEC = os.path.join(ROOT, "conformance", "vectors")
OUT = os.path.join(ROOT, "fuzz", "corpus")
PREFACE = b"\x89PANP\r\n\x1a"


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def tag(field, wt):
    return varint(field << 3 | wt)


def ld(field, payload):
    return tag(field, 2) + varint(len(payload)) + payload


def vi(field, v):
    return tag(field, 0) + varint(v)


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def vectors(kind):
    d = os.path.join(VEC, kind)
    for n in sorted(os.listdir(d)):
        if n.endswith(".bin"):
            with open(os.path.join(d, n), "rb") as f:
                yield n[:-4], f.read()


# ---- the codec targets: one Frame, no prefix --------------------------------

def bug_classes():
    ping = ld(8, b"")
    reg_body = ld(1, ld(1, b"")) + ld(2, bytes(range(16))) + vi(3, 1) + vi(4, 2)
    yield "varint-10-max", vi(1, (1 << 64) - 1) + ping
    yield "varint-10-high-bits", b"\x08" + b"\xff" * 9 + b"\x7f" + ping   # overflows 64 bits
    yield "varint-11-bytes", b"\x08" + b"\xff" * 10 + b"\x01" + ping
    yield "varint-padded", b"\x08\x81\x80\x80\x00" + ping
    # CVE-2022-33070 class: shifts in tag parsing
    yield "tag-field-2^29-1", ping + tag((1 << 29) - 1, 0) + b"\x01"
    yield "tag-field-2^29", ping + tag(1 << 29, 0) + b"\x01"
    yield "tag-5th-byte-high", ping + b"\xf8\xff\xff\xff\x7f\x01"
    yield "tag-overlong-6", ping + b"\x88\x80\x80\x80\x80\x00\x01"
    yield "tag-overlong-10", ping + b"\x88" + b"\x80" * 8 + b"\x00\x01"
    yield "tag-10-bytes-high", ping + b"\xff" * 9 + b"\x01\x01"
    yield "field-0", ping + b"\x00\x01"
    yield "wire-type-3-4", ping + b"\x0b\x0c"
    yield "wire-type-6-7", ping + b"\x0e\x0f"
    # CVE-2022-48468 class: submessage lengths past their parent
    yield "sub-len-past-end", ld(18, b"\x0a\x05\x0a\x00")
    yield "sub-len-huge", b"\x92\x01\xff\xff\xff\xff\x0f" + b"\x0a\x00"
    yield "sub-len-2^32", b"\x92\x01\x80\x80\x80\x80\x10\x0a\x00"
    yield "nested-len-underflow", ld(2, ld(9, b"\x12\x05ab"))
    # CVE-2021-21401 class ("08 08 2d"): member switching inside a oneof
    yield "nanopb-08-08-2d", b"\x08\x08\x2d"
    yield "nanopb-08-08-2d-full", b"\x08\x08\x2d\x00\x00\x00\x00" + ping
    yield "oneof-switch-body", ping + ld(9, b"")
    yield "oneof-switch-body-3", ld(2, b"") + ld(3, b"") + ping
    yield "oneof-switch-target", ld(18, ld(1, ld(1, b"") + ld(2, b"P1")) + reg_body[2:])
    yield "oneof-switch-close", ld(27, vi(1, 5) + vi(2, 6))
    # CVE-2020-26243 class: a submessage repeated inside a oneof
    yield "oneof-sub-twice", ping + ping
    yield "oneof-register-twice", vi(1, 1) + ld(18, reg_body) + ld(18, reg_body)
    yield "oneof-target-twice", vi(1, 1) + ld(18, ld(1, ld(1, b"")) + ld(1, ld(1, b"")) +
                                               reg_body[len(ld(1, ld(1, b""))):])
    # GHSA-3p39-mfxg-hrq4 class: a bytes field at nanopb's 16-bit edge
    typ = bytes.fromhex("f6853f92eb314e23b6e7fd69056153f0")
    yield "payload-63488", vi(1, 3) + ld(3, vi(1, 7) + ld(2, typ) + ld(3, b"\xaa" * 63488))
    yield "payload-63489", vi(1, 3) + ld(3, vi(1, 7) + ld(2, typ) + ld(3, b"\xaa" * 63489))
    yield "unknown-fields-everywhere", (vi(1, 4) + vi(99, 1) + ld(18, ld(1, ld(1, b"") + vi(7, 1)) +
                                        ld(2, typ) + vi(3, 1) + vi(4, 2) + tag(50, 5) + b"abcd" +
                                        tag(51, 1) + b"12345678") + ld(1000, b"x"))
    yield "truncated-fixed32", ping + tag(60, 5) + b"ab"
    yield "truncated-fixed64", ping + tag(60, 1) + b"abcdefg"
    yield "bool-2", ld(17, vi(1, 1) + ld(5, vi(2, 2)))
    yield "uint32-2^32", ld(16, vi(1, 1 << 32) + vi(2, 1) + vi(4, 1)) + vi(1, 1)
    yield "enum-negative", vi(1, 1) + ld(16, vi(1, 1) + vi(2, 1) + vi(4, (1 << 64) - 1))


def codec_seeds():
    seen = set()
    for kind in ("positive", "negative", "session"):
        for name, data in vectors(kind):
            h = hashlib.sha1(data).hexdigest()
            if h in seen or name.startswith("stream_") or len(data) > 4096:
                continue  # the big ones are covered by class-payload-* below
            seen.add(h)
            for t in ("decode_pbc", "decode_nanopb", "differential"):
                put(t, "%s-%s" % (kind, name), data)
    for name, data in bug_classes():
        big = len(data) > 4096  # keep the committed corpus small: two targets get these
        for t in ("decode_nanopb", "differential") if big else ("decode_pbc", "decode_nanopb",
                                                                "differential"):
            put(t, "class-" + name, data)


# ---- the framer: flags, storage shortfall, chunk sizes, stream ---------------

def framer_seeds():
    sess = b"".join(varint(len(d)) + d for _, d in vectors("session"))
    put("framer", "session-whole", b"\x01\x00\x00" + PREFACE + sess)
    put("framer", "session-bytes", b"\x01\x00\x01\x01" + PREFACE + sess)
    put("framer", "session-chunks", b"\x03\x00\x03\x07\x01\x40" + sess)
    put("framer", "session-storage", b"\x05\x00\x02\x03\x05" + PREFACE + sess)
    put("framer", "session-storage-short", b"\x05\x10\x00" + PREFACE + sess)
    put("framer", "no-preface", b"\x00\x00\x00" + sess)
    put("framer", "small-max", b"\x28\x00\x01\x02" + sess)  # max 128
    for name, data in vectors("negative"):
        if name.startswith("stream_"):
            put("framer", name, b"\x01\x00\x00" + data)
            put("framer", name + "-split", b"\x01\x00\x02\x01\x02" + data)
    for name, body in (("prefix-80-00", b"\x80\x00"), ("prefix-5-ff", b"\xff\xff\xff\xff\x0f"),
                       ("prefix-6", b"\xff\xff\xff\xff\xff\x01"), ("prefix-zero", b"\x00\x00\x02\x42\x00"),
                       ("prefix-max", varint(65536) + b"\x00" * 10),
                       ("prefix-max+1", varint(65537))):
        put("framer", name, b"\x00\x00\x00" + body)
        put("framer", name + "-storage", b"\x74\x00\x01\x01" + body)


# ---- the encoder: kind, then fields (see fuzz_encode.c) ------------------------

def encode_seeds():
    for k in range(25):
        put("encode", "kind-%02d-zeros" % k, bytes([k]) + b"\x00" * 48)
        put("encode", "kind-%02d-ones" % k, bytes([k]) + b"\x01" * 48)
        put("encode", "kind-%02d-edges" % k, bytes([k, 5]) + bytes([34, 0, 35, 1]) * 12)
    put("encode", "payload-63488", bytes([1, 1, 16, 0, 0, 34, 1]) + b"\x00" * 8)
    put("encode", "payload-63489", bytes([1, 1, 16, 0, 0, 36, 1]) + b"\x00" * 8)
    put("encode", "payload-65535", bytes([1, 1, 16, 0, 0, 38, 1]) + b"\x00" * 8)
    put("encode", "bad-kind", bytes([255, 0, 0]))


# ---- the broker core: a script (see fuzz_broker_core.c) -------------------------

# users: root 0, padmin 1, alice 2, bob 3, spooler 4, carol 5, tokuser 6
def conn(user, session=0, small=False, raw=False):
    return bytes([0, user | session << 3 | (0x40 if small else 0) | (0x80 if raw else 0)])


def req(ci, sub, flags, *body):
    return bytes([2, ci, sub, flags]) + bytes(body)


def register(ci, target=0, typ=0, bidi=False, all_users=False, cs=0, lease=0):
    b = target | typ << 2 | (8 if bidi else 0) | (0x30 if all_users else 0)
    return req(ci, 0, 0, b, cs, lease)


def open_(ci, target=0, typ=0, bidi=False, all_users=False, job=False, owner=3, sess=0):
    b = target | typ << 2 | (8 if bidi else 0) | (0x30 if all_users else 0) | (0x40 if job else 0)
    j = next(j for j in range(256) if j % 6 == owner and (j >> 4) % 3 == sess)
    return req(ci, 1, 0, b, j)


def send(ci, chan, length=20, fill=0x41):
    # length: < 200 is 5 + length bytes, 200..249 about 5 KB, 250..255 63488 bytes
    return req(ci, 2, 0, 0x20, chan, length, fill)


def reply(ci, conv, length=10):
    return req(ci, 3, 0, conv, 0, length)


def close_chan(ci, chan, reason=False):
    return req(ci, 4, 0, 1 | (2 if reason else 0), chan, *([5] if reason else []))


def close_conv(ci, conv, reason=False):
    return req(ci, 4, 0, 2 if reason else 0, conv, *([5] if reason else []))


def tick(i):
    return bytes([13, i])


def eof(ci, reset=False):
    return bytes([0x1c if reset else 0x0c, ci])


def core_seeds():
    uni = (conn(3) + conn(2) + register(0) + open_(1) + send(1, 0) + send(1, 0, 220) +
           close_chan(1, 0))
    put("broker_core", "uni-per-user", b"\x00" + uni)
    put("broker_core", "uni-job-owner", b"\x00" + conn(3) + conn(4) + register(0) +
        open_(1, job=True, owner=3) + send(1, 0) + eof(1))
    put("broker_core", "uni-sessions", b"\x00" + conn(3, 1) + conn(3, 2) + conn(4) + register(0) +
        register(1) + open_(2, job=True, owner=3, sess=1) + send(2, 0) + eof(2, True))
    put("broker_core", "all-users-admin", b"\x00" + conn(0) + conn(1) + conn(2) +
        register(0, target=1, all_users=True) + register(1, target=1, all_users=True) +
        open_(2, target=1) + send(2, 0) + open_(1, target=1, all_users=True) + send(1, 1))
    bidi = (conn(3) + conn(3) + conn(2) + register(0, bidi=True) + register(1, bidi=True) +
            open_(2, bidi=True, job=True, owner=3) + conn(4) + open_(3, bidi=True, job=True, owner=3) +
            send(3, 1) + reply(0, 0) + close_conv(1, 1) + send(3, 1) + reply(0, 0) +
            close_conv(0, 0, True))
    put("broker_core", "bidi-question", b"\x00" + bidi)
    put("broker_core", "bidi-winner-dies", b"\x00" + conn(3) + conn(4) + register(0, bidi=True) +
        open_(1, bidi=True, job=True, owner=3) + send(1, 0) + reply(0, 0) + eof(0))
    put("broker_core", "bidi-late-register", b"\x00" + conn(4) + conn(3) +
        open_(0, bidi=True, job=True, owner=3) + send(0, 0) + register(1, bidi=True) + reply(1, 0))
    put("broker_core", "sender-dies", b"\x00" + uni[:-len(close_chan(1, 0))] + eof(1))
    put("broker_core", "lease-expiry", b"\x04" + conn(3) + conn(4) + register(0, bidi=True, lease=200) +
        open_(1, bidi=True, job=True, owner=3) + send(1, 0) + tick(3) + tick(5) + tick(5))
    put("broker_core", "keepalive", b"\x08" + conn(3) + conn(2) + register(0) + open_(1) +
        req(0, 8, 0) + tick(4) + tick(4) + send(1, 0))
    put("broker_core", "slow-listener", b"\x01" + conn(3) + conn(2) + register(0) +
        register(0, typ=1) + open_(1) + bytes([14, 0, 0]) + send(1, 0, 0xfa) * 4 +
        bytes([14, 0, 0]) + send(1, 0))
    put("broker_core", "limits", b"\x02" + conn(3) + register(0) + register(0, typ=1) +
        register(0, bidi=True) + register(0, target=1) + conn(2) + open_(1) + open_(1, typ=1) +
        open_(1, bidi=True) + open_(1, target=2))
    put("broker_core", "foreign-ids", b"\x00" + conn(3) + conn(2) + register(0) + open_(1) +
        req(1, 5, 0, 0, 0) + req(1, 6, 0, 0, 0, 200) + send(0, 0) + close_chan(0, 0) + req(0, 7, 0, 4))
    put("broker_core", "shutdown", b"\x00" + uni[:-len(close_chan(1, 0))] + bytes([0xff]))
    put("broker_core", "raw-hello", b"\x00" + conn(3, raw=True) + bytes([11, 0, 8]) + PREFACE +
        bytes([11, 0, 3, 0x02, 0x42, 0x00]))
    put("broker_core", "token", b"\x00" + conn(6) + register(0) + req(0, 7, 0, 0) + req(0, 9, 0))


# ---- the client: options, then broker and application steps (fuzz_client.c) ------

def client_seeds():
    # Callbacks read the input too: on_connection 1 byte; on_notify (bidi, new
    # conversation) 3 (keep it?, act?, inner), (unidirectional) 1; on_closed 2.
    welcome = bytes([0, 0x30, 0, 0])
    reg = bytes([121, 0x02])      # app: register bidi on the server
    reg_uni = bytes([121, 0x00])
    opn = bytes([122, 0x02])      # app: open bidi
    answer = bytes([0, 0x30])     # broker: answer the oldest request
    registered = answer + b"\x01" * 16 + b"\x00"
    bidi_notify = bytes([0, 0x90, 0, 0, 0, 0, 5, 1, 200, 0])  # new conversation, kept
    uni_notify = bytes([0, 0x80, 0, 0, 1, 5, 0])
    put("client", "handshake", b"\x00" + welcome)
    put("client", "listener", b"\x00" + welcome + reg + registered + bidi_notify +
        bytes([124, 0]) + answer + bytes([0, 0x82, 3, 0, 0, 0, 0, 0]))
    put("client", "listener-reply-in-callback", b"\x00" + welcome + reg + registered +
        bytes([0, 0x90, 0, 0, 0, 0, 5, 1, 10, 0]) + answer)
    put("client", "listener-uni", b"\x00" + welcome + reg_uni + registered + uni_notify +
        bytes([0, 0x84, 0, 1]))
    put("client", "sender", b"\x00" + welcome + opn + answer + bytes([123, 0, 0]) + answer +
        b"\x01\x01" + bytes([0, 0x83, 0, 1, 0, 0]) + bytes([0, 0x82, 0, 0, 0, 0]))
    put("client", "goodbye", b"\x00" + welcome + reg + opn + bytes([0, 0x85, 2, 0, 0, 0]))
    put("client", "fatal", b"\x00" + welcome + reg + bytes([0, 0x00, 11, 0]))
    put("client", "broken", b"\x00" + welcome + reg + bytes([0, 0x7b]))
    put("client", "raw", b"\x00" + bytes([100, 6, 0x04, 0x42, 0x00, 0x4a, 0x00, 0x00]))
    put("client", "eof", b"\x00" + welcome + reg + opn + bytes([112, 0, 0, 0, 0]))
    put("client", "free-in-callback", b"\x00" + welcome + reg + registered +
        bytes([0, 0x90, 0, 0, 0, 0, 5, 1, 200, 0xff]))


# ---- the dictionary ---------------------------------------------------------------------

def dictionary():
    proto = open(os.path.join(ROOT, "proto", "panp", "v1", "panp.proto")).read()
    enums = set(re.findall(r"^enum (\w+)", proto, re.M))
    lines = ["# panp.v1 field tags (every field, its declared wire type), the preface and",
             "# the varint edges.  Generated by fuzz/gen_seeds.py from panp.proto.",
             'preface="%s"' % "".join("\\x%02x" % b for b in PREFACE)]
    for m in re.finditer(r"^message (\w+) \{(.*?)^\}", proto, re.M | re.S):
        msg, body = m.group(1), m.group(2)
        for f in re.finditer(r"^\s+(repeated )?(\w+) (\w+) = (\d+);", body, re.M):
            typ, name, num = f.group(2), f.group(3), int(f.group(4))
            wt = 0 if typ in enums or typ in ("uint32", "uint64", "bool") else 2
            t = tag(num, wt)
            lines.append('%s_%s="%s"' % (msg, name, "".join("\\x%02x" % b for b in t)))
    for name, v in (("varint_max64", (1 << 64) - 1), ("varint_2_32", 1 << 32),
                    ("varint_u32max", (1 << 32) - 1), ("len_63488", 63488),
                    ("len_65535", 65535), ("len_65536", 65536), ("field_2_29", (1 << 29) << 3)):
        lines.append('%s="%s"' % (name, "".join("\\x%02x" % b for b in varint(v))))
    lines.append('padded_zero="\\x80\\x00"')
    lines.append('release_uuid="%s"' % "".join(
        "\\x%02x" % b for b in bytes.fromhex("ba9a5027a70e4ae79b7deb3e06ad4157")))
    with open(os.path.join(ROOT, "fuzz", "panp.dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    # Named seeds are (re)written; inputs `make fuzz-merge` added stay.
    codec_seeds()
    framer_seeds()
    encode_seeds()
    core_seeds()
    client_seeds()
    dictionary()
    for t in sorted(os.listdir(OUT)):
        n = len(os.listdir(os.path.join(OUT, t)))
        print("%-14s %4d seeds" % (t, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
