#!/usr/bin/python3
"""Lints SPEC.md's requirement IDs.

A requirement is a line or bullet that starts with "[PANP-AREA-N]".  Checks:
IDs are well formed and unique, each requirement states exactly one RFC 2119
level (deprecated ones excepted), and every ID mentioned anywhere in the
document is defined.  Prints the count of requirements per level.
"""
import re
import sys
from collections import Counter

SPEC = sys.argv[1] if len(sys.argv) > 1 else "SPEC.md"
DEF = re.compile(r"^\s*(?:[-*]\s+|\|\s*)?\[(PANP-[A-Z0-9]+-\d+)\]")
ANY = re.compile(r"PANP-[A-Z0-9]+-\d+")
LEVELS = ["MUST NOT", "SHALL NOT", "SHOULD NOT", "MUST", "SHALL", "REQUIRED",
          "SHOULD", "RECOMMENDED", "MAY", "OPTIONAL"]
LEVEL_RE = re.compile(r"\b(" + "|".join(LEVELS) + r")\b")
CANON = {"SHALL": "MUST", "REQUIRED": "MUST", "SHALL NOT": "MUST NOT",
         "RECOMMENDED": "SHOULD", "OPTIONAL": "MAY"}


def requirement_text(lines, i):
    """The requirement's text: its line plus continuation lines up to the
    next blank line, bullet or requirement."""
    text = [lines[i]]
    for nxt in lines[i + 1:]:
        if not nxt.strip() or DEF.match(nxt) or re.match(r"^\s*([-*]|\d+\.)\s", nxt) \
                or nxt.lstrip().startswith(("#", "|", "```")):
            break
        text.append(nxt)
    return " ".join(text)


def main():
    try:
        lines = open(SPEC, encoding="utf-8").read().splitlines()
    except OSError as e:
        print(f"check-spec: {e}")
        return 1
    problems, defined, levels = [], {}, Counter()
    in_code = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        m = None if in_code else DEF.match(line)
        if not m:
            continue
        rid = m.group(1)
        if rid in defined:
            problems.append(f"line {i+1}: {rid} defined again (first at line {defined[rid]})")
            continue
        defined[rid] = i + 1
        text = requirement_text(lines, i)
        if "(deprecated)" in text:
            levels["deprecated"] += 1
            continue
        found = [CANON.get(x, x) for x in LEVEL_RE.findall(text)]
        if not found:
            problems.append(f"line {i+1}: {rid} states no RFC 2119 level")
            continue
        if len(set(found)) > 1:
            problems.append(f"line {i+1}: {rid} mixes levels {sorted(set(found))}")
        levels[found[0]] += 1
    for i, line in enumerate(lines):
        for rid in ANY.findall(line):
            if rid not in defined and "PANP-AREA" not in rid and not rid.startswith("PANP-X-"):
                problems.append(f"line {i+1}: {rid} is referenced but never defined")
    for p in problems:
        print("check-spec:", p)
    print(f"check-spec: {len(defined)} requirements: " +
          ", ".join(f"{k} {levels[k]}" for k in ["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY", "deprecated"]))
    if len(defined) == 0:
        print("check-spec: no requirements found")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
