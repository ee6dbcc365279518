#!/usr/bin/python3
"""Footprint of the device codec, from the build footprint.sh made.

Flash and RAM: the linker map of device.elf (--gc-sections), every kept
input section attributed to its object: our codec, the nanopb runtime, the
nanopb descriptors generated from panp.proto, the demo application, and
newlib/libgcc (what the codec pulls from libc, plus the C runtime start-up).

Stack: worst case over the call graph from each entry point.  Frame sizes
come from GCC (-fstack-usage / -fcallgraph-info=su) for everything we
compile; libc functions, which are not compiled here, get frame sizes from
their prologues in the disassembly (push/vpush/sub sp) and their callees
from `bl` instructions.  Recursion (scan_msg, nanopb's pb_decode_inner /
pb_encode) is bounded by the schema's nesting: at most MAX_NEST activations
levels of messages on one path.  Two figures per entry: every path, and the
paths of a frame that decodes without error (no status formatting).
"""
import collections
import glob
import os
import re
import sys

# Message nesting below the Frame: RegistrationList > RegistrationInfo >
# Target > ServerTarget.  Every recursion in the codec (scan_msg) and in
# nanopb (pb_decode_inner, pb_encode, pb_message_set_to_defaults,
# pb_check_proto3_default_value) descends one message level per step, so a
# path holds at most MAX_NEST - 1 recursive calls in total.
MAX_NEST = 4
ERROR_ONLY = {"report", "fail", "panp_status_set", "vsnprintf", "snprintf", "_vsnprintf_r",
              "_svfprintf_r", "format_path"}


def parse_map(path):
    sizes = collections.defaultdict(lambda: collections.Counter())
    members = collections.Counter()
    started = False
    pending = None
    with open(path) as f:
        for line in f:
            if line.startswith("Linker script and memory map"):
                started = True
                continue
            if not started:
                continue
            m = re.match(r"^ (\.\S+|COMMON)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)\s*$", line)
            if not m:
                m2 = re.match(r"^ (\.\S+|COMMON)\s*$", line)
                if m2:
                    pending = m2.group(1)
                    continue
                m3 = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)\s*$", line)
                if m3 and pending:
                    sec, size, obj = pending, int(m3.group(2), 16), m3.group(3)
                    pending = None
                else:
                    pending = None
                    continue
            else:
                sec, size, obj = m.group(1), int(m.group(3), 16), m.group(4)
                pending = None
            if size == 0 or sec.startswith((".debug", ".comment", ".ARM.attributes")):
                continue
            kind = ("text" if sec.startswith((".text", ".init", ".fini", ".ARM.exidx", ".ARM.extab"))
                    else "rodata" if sec.startswith(".rodata")
                    else "data" if sec.startswith(".data")
                    else "bss" if sec.startswith((".bss", "COMMON"))
                    else None)
            if kind is None:
                continue
            group = ("codec" if "/codec/" in obj else "nanopb runtime" if "/nanopb/" in obj
                     else "generated descriptors" if "/gen/" in obj else "application"
                     if "/app/" in obj else "libc/libgcc/crt")
            sizes[group][kind] += size
            if group == "libc/libgcc/crt" and kind in ("text", "rodata"):
                mm = re.search(r"\(([^)]+)\)$", obj)
                members[mm.group(1) if mm else os.path.basename(obj)] += size
    return sizes, members


def parse_ci(out):
    frames, edges, indirect = {}, collections.defaultdict(set), set()
    for ci in glob.glob(os.path.join(out, "*", "*.ci")):
        with open(ci) as f:
            text = f.read()
        for m in re.finditer(r'node: \{ title: "([^"]+)" label: "([^"]*)"', text):
            title, label = m.group(1), m.group(2)
            s = re.search(r"\\n(\d+) bytes \((\w+)", label)
            if s:
                frames[title] = int(s.group(1))
        for m in re.finditer(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
            src, dst = m.group(1), m.group(2)
            if dst == "__indirect_call":
                indirect.add(src)
            else:
                edges[src].add(dst)
    return frames, edges, indirect


def parse_disassembly(path):
    """name -> (frame bytes from prologues, callees)"""
    funcs = {}
    name = None
    with open(path) as f:
        for line in f:
            m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
            if m:
                name = m.group(1)
                funcs[name] = [0, set()]
                continue
            if not name or "\t" not in line:
                continue
            ins = line.split("\t", 2)[-1].strip() if line.count("\t") >= 2 else ""
            op = ins.split(None, 1)[0] if ins else ""
            args = ins.split(None, 1)[1] if " " in ins else ""
            if op in ("push", "push.w", "stmdb") and ("sp!" in args or op.startswith("push")):
                regs = re.search(r"\{([^}]*)\}", args)
                if regs:
                    n = 0
                    for r in regs.group(1).split(","):
                        r = r.strip()
                        rr = re.match(r"r(\d+)-r(\d+)", r)
                        n += int(rr.group(2)) - int(rr.group(1)) + 1 if rr else 1
                    funcs[name][0] += 4 * n
            elif op == "vpush":
                regs = re.search(r"\{([^}]*)\}", args)
                if regs:
                    funcs[name][0] += 8 * len(regs.group(1).split(","))
            elif op in ("sub", "sub.w", "subw") and args.startswith("sp, "):
                imm = re.search(r"#(\d+)", args)
                if imm:
                    funcs[name][0] += int(imm.group(1))
            elif op in ("str.w", "str") and re.search(r"\[sp, #-(\d+)\]!", args):
                funcs[name][0] += int(re.search(r"\[sp, #-(\d+)\]!", args).group(1))
            if op in ("bl", "blx", "b.w", "b") and "<" in args:
                callee = re.search(r"<([^>+]+)>", args)
                if callee and callee.group(1) != name:
                    funcs[name][1].add(callee.group(1))
    return funcs


class Graph:
    def __init__(self, out):
        self.frames, self.edges, self.indirect = parse_ci(out)
        self.dis = parse_disassembly(os.path.join(out, "device.dis"))
        # .ci names statics "file:func"; the disassembly knows bare names
        self.by_bare = {}
        for t in self.frames:
            self.by_bare.setdefault(t.split(":")[-1], t)
        self.estimated = set()

    def node(self, name):
        if name in self.frames:
            return name
        return self.by_bare.get(name, name)

    def frame(self, n):
        if n in self.frames:
            return self.frames[n]
        bare = n.split(":")[-1]
        if bare in self.dis:
            self.estimated.add(bare)
            return self.dis[bare][0]
        return 0

    def callees(self, n):
        if n in self.frames:
            return {self.node(c) for c in self.edges.get(n, ())}
        bare = n.split(":")[-1]
        return {self.node(c) for c in self.dis.get(bare, (0, set()))[1]}

    def worst(self, entry, skip=frozenset()):
        best = [0, []]

        def walk(n, depth, path, recursions):
            bare = n.split(":")[-1]
            if bare in skip:
                return
            if n in path:
                if recursions >= MAX_NEST - 1:
                    return
                recursions += 1
            path.append(n)
            depth += self.frame(n)
            if depth > best[0]:
                best[0], best[1] = depth, list(path)
            for c in sorted(self.callees(n)):
                walk(c, depth, path, recursions)
            path.pop()

        walk(self.node(entry), 0, [], 0)
        return best


def storage_sizes(out):
    sizes = {}
    with open(os.path.join(out, "storage_sizes.s")) as f:
        text = f.read()
    for m in re.finditer(r"^(storage_\w+|sizeof_panp_frame):\s*\n\s*\.word\s+(\d+)", text, re.M):
        sizes[m.group(1).replace("storage_", "")] = int(m.group(2))
    return sizes


def main():
    out = sys.argv[1]
    sizes, members = parse_map(os.path.join(out, "device.map"))
    lines = ["Device codec footprint: arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os "
             "-ffunction-sections -fdata-sections, --gc-sections, newlib-nano",
             "", "%-24s %8s %8s %8s %8s   %8s %8s" % ("", ".text", ".rodata", ".data", ".bss",
                                                      "flash", "RAM")]
    total = collections.Counter()
    codec_flash = codec_ram = 0
    for group in ("codec", "nanopb runtime", "generated descriptors", "libc/libgcc/crt",
                  "application"):
        s = sizes.get(group, collections.Counter())
        flash, ram = s["text"] + s["rodata"] + s["data"], s["data"] + s["bss"]
        lines.append("%-24s %8d %8d %8d %8d   %8d %8d" % (group, s["text"], s["rodata"], s["data"],
                                                          s["bss"], flash, ram))
        if group in ("codec", "nanopb runtime", "generated descriptors"):
            codec_flash += flash
            codec_ram += ram
        total.update(s)
    lines.append("%-24s %8d %8d %8d %8d" % ("total", total["text"], total["rodata"], total["data"],
                                           total["bss"]))
    libc_flash = sum(sizes["libc/libgcc/crt"][k] for k in ("text", "rodata", "data"))
    lines += ["",
              "codec (ours + nanopb runtime + descriptors): flash %d B (%.1f KiB), static RAM %d B"
              % (codec_flash, codec_flash / 1024, codec_ram),
              "with the libc it pulls in (and the C start-up): flash %d B (%.1f KiB)"
              % (codec_flash + libc_flash, (codec_flash + libc_flash) / 1024),
              "libc members kept: " + ", ".join("%s %d" % (k, v) for k, v in members.most_common(12))]

    g = Graph(out)
    lines += ["", "Worst-case stack (bytes), call-graph sum, messages nested %d deep:" % MAX_NEST]
    for entry in ("panp_decode_into", "panp_encode_with_storage", "panp_framer_feed", "main"):
        every = g.worst(entry)
        ok = g.worst(entry, frozenset(ERROR_ONLY))
        lines.append("  %-26s every path %5d   error-free path %5d" % (entry, every[0], ok[0]))
        lines.append("      deepest: " + " > ".join(n.split(":")[-1] for n in every[1]))
    if g.indirect:
        lines.append("  indirect calls (not followed): " + ", ".join(sorted(g.indirect)))
    if g.estimated:
        lines.append("  frames estimated from libc prologues: " + ", ".join(sorted(g.estimated)))

    st = storage_sizes(out)
    if st:
        frame = st.pop("sizeof_panp_frame", 0)
        lines += ["", "Caller storage for panp_decode_into() with nanopb, per body (bytes), "
                  "plus the %d-byte panp_frame view:" % frame]
        row = []
        for name, size in sorted(st.items(), key=lambda kv: kv[1]):
            row.append("%s %d" % (name, size))
        for i in range(0, len(row), 6):
            lines.append("  " + ", ".join(row[i:i + 6]))
    report = "\n".join(lines)
    print(report)
    with open(os.path.join(out, "report.txt"), "w") as f:
        f.write(report + "\n")


if __name__ == "__main__":
    main()
