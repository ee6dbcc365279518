#!/usr/bin/python3
"""Reads conformance/broken/expectations.txt and judges the suite's reports
against the deliberately broken panpd variants (conformance/check-broken.sh).

usage: judge.py EXPECTATIONS only VARIANT     the --only list for a variant
       judge.py EXPECTATIONS only             every variant's (for the control run)
       judge.py EXPECTATIONS sanity VARIANT   its sanity cases (comma-separated)
       judge.py EXPECTATIONS check BUILT DIR [VARIANT...]  the verdict

BUILT is the blank-separated list of variants the build knows (make
broken-list).  DIR holds, per variant, NAME.json (the report of the run on
its target cases), NAME-sanity.json (the sanity run on the same broker
afterwards) and NAME.alive ("yes" when the broker outlived both runs), and
control.json, the same cases against the unbroken panpd.  With VARIANTs,
only those are judged.

A variant is caught when every case its globs match FAILs (a plain FAIL:
ERROR, SKIP and WARN do not count), citing one of the listed requirements
when the line lists any, while the same case PASSes against the unbroken
panpd (the control run), and its sanity cases still PASS on the same broken
broker process, which is then still running: a variant that just crashes,
hangs or refuses everyone is not caught by any rule.  Each glob must match a case,
every built variant must have an expectation and every expectation a built
variant, so the list cannot go stale.  Prints one line per variant and
"N passed, N failed" (N = variants).
"""
import fnmatch
import json
import os
import sys


def load(path):
    """-> ({variant: [(glob, [req...])]}, {variant: [sanity case...]}, default sanity)"""
    expect, sanity, default = {}, {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) < 2:
                sys.exit(f"{path}:{n}: want 'variant case-glob [requirement|...]'")
            variant, what = words[0], words[1]
            if variant == "sanity":
                default += words[1:]
            elif what.startswith("sanity:"):
                sanity.setdefault(variant, []).append(what[len("sanity:"):])
            else:
                reqs = words[2].split("|") if len(words) > 2 else []
                expect.setdefault(variant, []).append((what, reqs))
    return expect, sanity, default


def report(path):
    try:
        with open(path, encoding="utf-8") as f:
            return {c["name"]: c for c in json.load(f)["cases"]}, None
    except (OSError, ValueError, KeyError) as e:
        return {}, f"no usable report {os.path.basename(path)} ({e})"


def judge(variant, globs, sanity_cases, d, control):
    problems, caught_by = [], []
    cases, err = report(os.path.join(d, variant + ".json"))
    if err:
        return [err], []
    for glob, reqs in globs:
        names = sorted(n for n in cases if fnmatch.fnmatchcase(n, glob))
        if not names:
            problems.append(f"{glob} matches no case")
        cited = set()
        for name in names:
            cv = control.get(name, {}).get("verdict", "missing")
            if cv != "PASS":
                problems.append(f"{name} {cv} against the unbroken panpd too (control run), want PASS there")
                continue
            c = cases[name]
            v, req = c.get("verdict"), c.get("requirement") or ""
            if v != "FAIL":
                why = c.get("message") or ""
                problems.append(f"{name} {v}" + (f" ({why})" if why else "") + ", want FAIL")
            elif reqs and req not in reqs:
                problems.append(f"{name} FAILed citing {req or 'nothing'}, want {'|'.join(reqs)}")
            else:
                cited.add(req)
                if len(names) <= 3:
                    caught_by.append(f"{name} [{req}]")
        if len(names) > 3 and len(cited) and not any(p.startswith(tuple(names)) for p in problems):
            caught_by.append(f"{glob} ({len(names)} cases) [{'|'.join(sorted(cited))}]")
    sane, err = report(os.path.join(d, variant + "-sanity.json"))
    if err:
        problems.append("sanity: " + err)
    for name in sanity_cases:
        v = sane.get(name, {}).get("verdict", "missing")
        if v != "PASS":
            problems.append(f"sanity case {name} {v}, want PASS (a broken broker must still serve the rest)")
    try:
        with open(os.path.join(d, variant + ".alive"), encoding="utf-8") as f:
            alive = f.read().strip() == "yes"
    except OSError:
        alive = False
    if not alive:
        problems.append("the broker did not survive the runs (crashed or exited)")
    return problems, caught_by


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    expect, sanity, default = load(sys.argv[1])
    mode = sys.argv[2]
    if mode == "only":
        if len(sys.argv) > 3:
            print(",".join(g for g, _ in expect.get(sys.argv[3], [])))
        else:
            print(",".join(sorted({g for v in expect.values() for g, _ in v})))
        return 0
    if mode == "sanity":
        print(",".join(sanity.get(sys.argv[3], default)))
        return 0
    built, d, chosen = sys.argv[3].split(), sys.argv[4], sys.argv[5:]
    control, err = report(os.path.join(d, "control.json"))
    if err:
        print("control run against the unbroken panpd: " + err)
    passed = failed = 0
    for v in chosen or sorted(set(built) | set(expect)):
        if v not in expect:
            problems, caught_by = ["no expectation in " + sys.argv[1]], []
        elif v not in built:
            problems, caught_by = ["the build has no such variant (no PANPD_BROKEN_ macro for it)"], []
        else:
            problems, caught_by = judge(v, expect[v], sanity.get(v, default), d, control)
        if problems:
            failed += 1
            print(f"NOT CAUGHT  {v}")
            for p in problems:
                print(f"    {p}")
        else:
            passed += 1
            print(f"caught      {v}: " + ", ".join(caught_by))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
