#!/usr/bin/python3
"""Merges panp-conformance JSON reports of several runs into one verdict.

usage: verdicts.py KNOWN_FAILURES LABEL REPORT.json...

A case is good when it PASSes in at least one run and FAILs, ERRORs or
WARNs in none; a SKIP is accepted only as "not applicable" (a rule of
another binding or other limits) or "feature not claimed", and a case
skipped in every run because its feature is not claimed is listed as such.
Cases named in KNOWN_FAILURES ("case-name  reason" per line) must still
fail (XFAIL); a listed case that passes, or a listed name no run has, fails
the verdict, so the list cannot go stale.  Prints "N passed, N failed".
"""
import json
import sys


def load_known(path):
    known = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    name, _, why = line.partition(" ")
                    known[name] = why.strip()
    except FileNotFoundError:
        pass
    return known


def main():
    known = load_known(sys.argv[1])
    label = sys.argv[2]
    runs = []
    for p in sys.argv[3:]:
        try:
            with open(p, encoding="utf-8") as f:
                runs.append(json.load(f))
        except (OSError, ValueError) as e:
            print(f"FAIL  report {p}: {e}")
            print("0 passed, 1 failed")
            return 1
    verdicts = {}
    for r in runs:
        for c in r["cases"]:
            verdicts.setdefault(c["name"], []).append((c["verdict"], c.get("message") or ""))
    passed = failed = 0
    problems = []
    for name, vs in sorted(verdicts.items()):
        kinds = [v for v, _ in vs]
        bad = [f"{v}: {m}" for v, m in vs if v in ("FAIL", "ERROR", "WARN")]
        odd = [m for v, m in vs if v == "SKIP" and not m.startswith(("not applicable", "feature not claimed"))]
        if name in known:
            if bad:
                passed += 1
                print(f"XFAIL {name}: {known[name]}")
            else:
                failed += 1
                problems.append(f"{name} is in the known failures but no longer fails: remove it")
        elif bad or odd:
            failed += 1
            problems.append(f"{name}: " + "; ".join(bad + odd))
        elif "PASS" in kinds:
            passed += 1
        elif all(m.startswith("feature not claimed") for _, m in vs):
            print(f"SKIP  {name}: {vs[0][1]}")
        else:
            failed += 1
            problems.append(f"{name}: passed in no run (" + "; ".join(m for _, m in vs) + ")")
    for k in known:
        if k not in verdicts and any(k.split(".", 1)[0] == n.split(".", 1)[0] for n in verdicts):
            failed += 1
            problems.append(f"the known failures name {k}, which no run has")
    for p in problems:
        print("FAIL  " + p)
    print(f"{label}: {len(runs)} run(s), {len(verdicts)} cases")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
