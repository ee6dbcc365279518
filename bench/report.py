#!/usr/bin/env python3
"""bench/report.py - turn panp-bench records into the results table.

    report.py RAW.jsonl... --md OUT.md --json OUT.json   aggregate runs of bench/run.sh
                                                        (several files: their repetitions pooled)
    report.py --brief 'JSON-RECORD'                   one line about one record (progress)

Per scenario and broker: median, min and max over the repetitions that
succeeded; the ratios panpd/mosquitto and panpd/nats-server of the medians;
and the goals of issue 8, each marked met or not met from the medians.
Nothing here asserts anything: a goal not met is reported, never an error.
"""
import argparse
import json
import statistics
import sys

BROKERS = ["panpd", "mosquitto", "nats-server", "panpd-unix"]
BROKER_TITLES = {"panpd": "panpd (tcp)", "mosquitto": "mosquitto", "nats-server": "nats-server",
                 "panpd-unix": "panpd (unix)"}

# (scenario name, what, metric, unit, higher is better)
ROWS = [
    ("one2one-64", "1 -> 1, 64 B", "rate", "deliveries/s", True),
    ("one2one-256", "1 -> 1, 256 B", "rate", "deliveries/s", True),
    ("one2one-1024", "1 -> 1, 1024 B", "rate", "deliveries/s", True),
    ("fanout-10", "1 -> 10, 256 B", "rate", "deliveries/s", True),
    ("fanout-100", "1 -> 100, 256 B", "rate", "deliveries/s", True),
    ("fanout-1000", "1 -> 1000, 256 B", "rate", "deliveries/s", True),
    ("slow-100", "1 -> 100, one listener stopped", "rate", "deliveries/s to the 99", True),
    ("rtt", "request/response, 64 B", "p50_us", "p50 us", False),
    ("rtt", "request/response, 64 B", "p99_us", "p99 us", False),
    ("idle", "idle listener connections", "bytes_per_conn", "broker B/conn", False),
    ("idle", "idle listener connections", "idle_cpu_pct", "broker % CPU idle", False),
]


def fmt(v, metric):
    if v is None:
        return "-"
    if metric in ("rate", "rate_per_listener", "msgs_per_s", "per_cpu_s", "quiet_rate",
                  "quiet_rate_per_listener"):
        if metric.endswith("per_listener") and 1e3 <= v < 1e5:
            return "%.1f k" % (v / 1e3)
        if v >= 1e6:
            return "%.2f M" % (v / 1e6)
        if v >= 1e3:
            return "%.0f k" % (v / 1e3)
        return "%.0f" % v
    if metric.endswith("_us"):
        return "%.0f" % v if v >= 10 else "%.1f" % v
    if metric.endswith("_pct"):
        return "%.1f" % v
    if metric in ("bytes_per_conn",) or metric.endswith("_kib"):
        return "{:,.0f}".format(v)
    if metric == "drops":
        return "%.0f" % v
    if isinstance(v, float):
        return "%.1f" % v
    return str(v)


def stats(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals),
            "values": vals}


def load(path):
    """[(meta, meta_end, records)], one per run of run.sh in the file (files may be concatenated)."""
    segs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("meta") or not segs:
                segs.append([r if r.get("meta") else {}, {}, []])
                if r.get("meta"):
                    continue
            if r.get("meta_end"):
                segs[-1][1] = r
            else:
                derive(r)
                segs[-1][2].append(r)
    return segs


QUIET_PCT = 25.0  # "other" load below this: a quiet run


def derive(r):
    """Adds per_cpu_s (deliveries per broker CPU-second) and other_pct."""
    n1, n2 = r.get("noise_broker_core_pct"), r.get("noise_gen_core_pct")
    if n1 is not None and n2 is not None:
        r["other_pct"] = n1 + n2
    bc = r.get("broker_cpu_pct")
    if r.get("scenario") == "throughput" and r.get("rate") and bc:
        r["per_cpu_s"] = r["rate"] / (bc / 100.0)
    if r.get("scenario") == "throughput" and r.get("rate") is not None and r.get("other_pct") is not None \
            and r["other_pct"] < QUIET_PCT:
        r["quiet_rate"] = r["rate"]
        if r.get("rate_per_listener") is not None:
            r["quiet_rate_per_listener"] = r["rate_per_listener"]


def aggregate(recs):
    """{scenario: {broker: {"runs", "ok", "errors", "metrics": {metric: stats}}}}"""
    out = {}
    for r in recs:
        name = r.get("name") or r.get("scenario")
        b = out.setdefault(name, {}).setdefault(r.get("broker", "?"), {"runs": 0, "ok": 0, "errors": [],
                                                                      "_vals": {}})
        b["runs"] += 1
        if not r.get("ok"):
            b["errors"].append("rep %s: %s" % (r.get("rep"), r.get("error", "?")))
            continue
        b["ok"] += 1
        for k, v in r.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                b["_vals"].setdefault(k, []).append(v)
            elif v is None:
                b["_vals"].setdefault(k, []).append(None)
    for name in out:
        for b in out[name].values():
            b["metrics"] = {k: s for k, s in ((k, stats(v)) for k, v in b.pop("_vals").items()) if s}
    return out


def med(agg, name, broker, metric):
    s = agg.get(name, {}).get(broker, {}).get("metrics", {}).get(metric)
    return s["median"] if s else None


def cell(agg, name, broker, metric):
    b = agg.get(name, {}).get(broker)
    if not b:
        return "-"
    s = b["metrics"].get(metric)
    if not s:
        return "failed (%d/%d)" % (b["ok"], b["runs"]) if b["runs"] else "-"
    txt = fmt(s["median"], metric)
    if s["n"] > 1:
        txt += " (%s-%s)" % (fmt(s["min"], metric), fmt(s["max"], metric))
    if b["ok"] < b["runs"]:
        txt += " [%d/%d ok]" % (b["ok"], b["runs"])
    return txt


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def goals(agg):
    g = []
    for metric, how in (("rate", "deliveries/s"), ("per_cpu_s", "deliveries per broker CPU-second")):
        fp, fm, fn = (med(agg, "fanout-100", b, metric) for b in ("panpd", "mosquitto", "nats-server"))
        r = ratio(fp, fm)
        g.append({"goal": "fan-out 1->100 at 256 B >= 1.5x mosquitto (%s)" % how, "measured": r,
                  "text": "%.2fx" % r if r else "-", "met": None if r is None else r >= 1.5})
        r = ratio(fp, fn)
        g.append({"goal": "fan-out 1->100 at 256 B >= 1.0x nats-server (%s)" % how, "measured": r,
                  "text": "%.2fx" % r if r else "-", "met": None if r is None else r >= 1.0})
    pp, pm = med(agg, "rtt", "panpd", "p99_us"), med(agg, "rtt", "mosquitto", "p99_us")
    g.append({"goal": "p99 round trip <= mosquitto's", "measured": ratio(pp, pm),
              "text": "%s us vs %s us" % (fmt(pp, "p99_us"), fmt(pm, "p99_us")),
              "met": None if pp is None or pm is None else pp <= pm})
    bc = med(agg, "idle", "panpd", "bytes_per_conn")
    bu = med(agg, "idle", "panpd-unix", "bytes_per_conn")
    g.append({"goal": "<= 2 KiB broker memory per idle listener connection", "measured": bc,
              "text": "%s B (tcp), %s B (unix)" % (fmt(bc, "bytes_per_conn"), fmt(bu, "bytes_per_conn")),
              "met": None if bc is None else bc <= 2048})
    sc = slow_summary(agg, "panpd")
    met = None
    if sc["drop_pct"] is not None and sc["growth_kib"] is not None:
        met = sc["drop_pct"] < 10 and sc["bounded"]
    g.append({"goal": "slow consumer: RSS bounded, the other 99 lose < 10% of their rate",
              "measured": sc["drop_pct"],
              "text": "rate %s%% (quiet runs: %s), RSS %s KiB in the 2nd half" % (
                  "-" if sc["drop_pct"] is None else "%+.1f" % -sc["drop_pct"],
                  "-" if sc["quiet_drop_pct"] is None else "%+.1f%%" % -sc["quiet_drop_pct"],
                  "-" if sc["growth_kib"] is None else "%+d" % sc["growth_kib"]),
              "met": met})
    return g


def slow_summary(agg, broker):
    base = med(agg, "fanout-100", broker, "rate_per_listener")
    slow = med(agg, "slow-100", broker, "rate_per_listener")
    mid, end = med(agg, "slow-100", broker, "rss_mid_kib"), med(agg, "slow-100", broker, "rss_end_kib")
    b0, peak = med(agg, "slow-100", broker, "rss_base_kib"), med(agg, "slow-100", broker, "rss_peak_kib")
    growth = None if mid is None or end is None else end - mid
    qb = med(agg, "fanout-100", broker, "quiet_rate_per_listener")
    qs = med(agg, "slow-100", broker, "quiet_rate_per_listener")
    return {"quiet_base_per_listener": qb, "quiet_slow_per_listener": qs,
            "quiet_drop_pct": None if not qb or qs is None else 100.0 * (1 - qs / qb),
            "base_per_listener": base, "slow_per_listener": slow,
            "drop_pct": None if not base or slow is None else 100.0 * (1 - slow / base),
            "rss_base_kib": b0, "rss_mid_kib": mid, "rss_end_kib": end, "rss_peak_kib": peak,
            "growth_kib": growth, "bounded": growth is not None and growth <= 1024,
            "drops": med(agg, "slow-100", broker, "drops")}


def markdown(meta, meta_end, agg):
    L = []
    brokers = [b for b in BROKERS if any(b in agg.get(n, {}) for n in agg)]
    L.append("# panp broker benchmark")
    L.append("")
    L.append("%s, %s, %s CPUs (%s), %s MiB; broker pinned to CPU %s, load generator to CPU %s." % (
        meta.get("date", "?"), meta.get("host", "?"), meta.get("ncpu", "?"), meta.get("cpu", "?"),
        meta.get("mem_mib", "?"), meta.get("broker_cpu", "?"), meta.get("gen_cpu", "?")))
    L.append("%s repetitions; throughput runs %s s measured after %s s warm-up (slow consumer %s s); "
             "%s round trips; %s idle connections, idle CPU over %s s." % (
                 meta.get("reps", "?"), meta.get("secs", "?"), meta.get("warmup", "?"),
                 meta.get("slow_secs", "?"), meta.get("rtt_n", "?"), meta.get("idle_n", "?"),
                 meta.get("idle_secs", "?")))
    L.append("Brokers: panpd %s, %s, %s; libmosquitto %s. Load average %s at the start, "
             "%s at the end (%s s)." % (
                 meta.get("panpd", "?"), meta.get("mosquitto", "?"), meta.get("nats_server", "?"),
                 meta.get("libmosquitto", "?"), meta.get("loadavg_start", "?"),
                 meta_end.get("loadavg_end", "?"), meta_end.get("elapsed_s", "?")))
    L.append("")
    L.append("Cells: median (min-max) over the repetitions. Ratios: panpd (tcp) median over the other "
             "broker's median; for latency, memory and CPU lower is better.")
    L.append("")
    head = ["Scenario", "Metric"] + [BROKER_TITLES[b] for b in brokers]
    others = [b for b in ("mosquitto", "nats-server") if b in brokers]
    head += ["panpd/" + b for b in others]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    for name, what, metric, unit, _hib in ROWS:
        if name not in agg:
            continue
        row = [what, unit] + [cell(agg, name, b, metric) for b in brokers]
        for o in others:
            r = ratio(med(agg, name, "panpd", metric), med(agg, name, o, metric))
            row.append("%.2f" % r if r is not None else "-")
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append("### Broker efficiency: deliveries per broker CPU-second")
    L.append("")
    L.append("The rate divided by the broker's own CPU use over the same window (from /proc/PID/stat). It "
             "compares brokers when the load generator, not the broker, sets the pace, and it varies "
             "less with other load on the machine than the raw rate.")
    L.append("")
    L.append("| Scenario | " + " | ".join(BROKER_TITLES[b] for b in brokers) + " | " +
             " | ".join("panpd/" + o for o in others) + " |")
    L.append("|---|" + "---|" * (len(brokers) + len(others)))
    for name, what, metric, unit, _hib in ROWS:
        if metric != "rate" or name not in agg:
            continue
        row = [what] + [cell(agg, name, b, "per_cpu_s") for b in brokers]
        for o in others:
            r = ratio(med(agg, name, "panpd", "per_cpu_s"), med(agg, name, o, "per_cpu_s"))
            row.append("%.2f" % r if r is not None else "-")
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append("### Quiet runs only (other load < %d%% of a CPU on the two pinned CPUs)" % QUIET_PCT)
    L.append("")
    L.append("| Scenario | " + " | ".join(BROKER_TITLES[b] for b in brokers) + " |")
    L.append("|---|" + "---|" * len(brokers))
    for name, what, metric, unit, _hib in ROWS:
        if metric != "rate" or name not in agg:
            continue
        cells = []
        for b in brokers:
            s_ = agg.get(name, {}).get(b, {}).get("metrics", {}).get("quiet_rate")
            cells.append("-" if not s_ else "%s (n=%d)" % (fmt(s_["median"], "rate"), s_["n"]))
        L.append("| %s | %s |" % (what, " | ".join(cells)))
    L.append("")
    L.append("## Goals (issue 8), from the medians")
    L.append("")
    L.append("| Goal | Measured | Met |")
    L.append("|---|---|---|")
    for g in goals(agg):
        L.append("| %s | %s | %s |" % (g["goal"], g["text"],
                                       "n/a" if g["met"] is None else "met" if g["met"] else "**not met**"))
    L.append("")
    L.append("## Slow consumer (1 -> 100 at 256 B, listener 0 stops reading)")
    L.append("")
    L.append("| Broker | per-listener rate, all reading | with one stopped | change | change, quiet runs | "
             "broker RSS: start / mid / end / peak KiB | RSS growth, 2nd half | undelivered to the 99 |")
    L.append("|---|---|---|---|---|---|---|---|")
    for b in brokers:
        s = slow_summary(agg, b)
        L.append("| %s | %s | %s | %s | %s | %s / %s / %s / %s | %s | %s |" % (
            BROKER_TITLES[b], fmt(s["base_per_listener"], "rate_per_listener"),
            fmt(s["slow_per_listener"], "rate_per_listener"),
            "-" if s["drop_pct"] is None else "%+.1f%%" % -s["drop_pct"],
            "-" if s["quiet_drop_pct"] is None else "%+.1f%%" % -s["quiet_drop_pct"],
            fmt(s["rss_base_kib"], "_kib"), fmt(s["rss_mid_kib"], "_kib"), fmt(s["rss_end_kib"], "_kib"),
            fmt(s["rss_peak_kib"], "_kib"),
            "-" if s["growth_kib"] is None else "%+d KiB" % s["growth_kib"],
            fmt(s["drops"], "drops")))
    L.append("")
    L.append("## CPU during the throughput runs (median % of one CPU)")
    L.append("")
    L.append("Broker and load generator each have one CPU; a side near 100% is the bottleneck. "
             "\"Other\" is CPU time on the two pinned CPUs not spent by either (other engineers' jobs; "
             "tick-sampled, so approximate and sometimes negative).")
    L.append("")
    L.append("| Scenario | " + " | ".join("%s broker / gen / other" % BROKER_TITLES[b] for b in brokers) + " |")
    L.append("|---|" + "---|" * len(brokers))
    for name in ("one2one-64", "one2one-256", "one2one-1024", "fanout-10", "fanout-100", "fanout-1000",
                 "slow-100", "rtt"):
        if name not in agg:
            continue
        cells = []
        for b in brokers:
            bc, gc = med(agg, name, b, "broker_cpu_pct"), med(agg, name, b, "gen_cpu_pct")
            n1, n2 = med(agg, name, b, "noise_broker_core_pct"), med(agg, name, b, "noise_gen_core_pct")
            other = None if n1 is None or n2 is None else n1 + n2
            cells.append("%s / %s / %s" % (fmt(bc, "_pct"), fmt(gc, "_pct"), fmt(other, "_pct")))
        L.append("| %s | %s |" % (name, " | ".join(cells)))
    L.append("")
    L.append("## Bytes on the wire per message (TCP payload bytes, measured with TCP_INFO)")
    L.append("")
    L.append("| Payload | " + " | ".join("%s: to a listener / from the sender / back to the sender" %
                                         BROKER_TITLES[b] for b in brokers if b != "panpd-unix") + " |")
    L.append("|---|" + "---|" * len([b for b in brokers if b != "panpd-unix"]))
    for name, size in (("one2one-64", 64), ("one2one-256", 256), ("one2one-1024", 1024)):
        if name not in agg:
            continue
        cells = []
        for b in brokers:
            if b == "panpd-unix":
                continue
            cells.append("%s / %s / %s" % tuple(fmt(med(agg, name, b, m), "x") for m in (
                "wire_rx_per_delivery", "wire_tx_per_msg", "sender_rx_per_msg")))
        L.append("| %d B | %s |" % (size, " | ".join(cells)))
    errs = [(n, b, e) for n in agg for b in agg[n] for e in agg[n][b]["errors"]]
    drops = [(n, b, med(agg, n, b, "drops")) for n in agg for b in agg[n]
             if n != "slow-100" and (med(agg, n, b, "drops") or 0) > 0]
    if errs or drops:
        L.append("")
        L.append("## Failures and losses")
        L.append("")
        for n, b, e in errs:
            L.append("- %s, %s: %s" % (n, b, e))
        for n, b, d in drops:
            L.append("- %s, %s: median %s messages undelivered after the drain" % (n, b, fmt(d, "x")))
    L.append("")
    return "\n".join(L)


def brief(line):
    try:
        r = json.loads(line)
    except ValueError:
        return "unreadable record"
    if not r.get("ok"):
        return "FAILED: %s" % r.get("error", "?")
    s = r.get("scenario")
    if s == "throughput":
        return "%s deliveries/s, drops %s, broker %s%% gen %s%% CPU%s" % (
            fmt(r.get("rate"), "rate"), r.get("drops"), fmt(r.get("broker_cpu_pct"), "_pct"),
            fmt(r.get("gen_cpu_pct"), "_pct"),
            ", RSS %s->%s KiB" % (r.get("rss_base_kib"), r.get("rss_end_kib")) if r.get("slow") else "")
    if s == "rtt":
        return "p50 %s us, p99 %s us" % (fmt(r.get("p50_us"), "_us"), fmt(r.get("p99_us"), "_us"))
    if s == "idle":
        return "%s B/conn, idle CPU %s%%" % (fmt(r.get("bytes_per_conn"), "bytes_per_conn"),
                                              fmt(r.get("idle_cpu_pct"), "_pct"))
    return "ok"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", nargs="*", help="raw records (run.sh output); several are pooled")
    ap.add_argument("--md")
    ap.add_argument("--json")
    ap.add_argument("--brief")
    a = ap.parse_args()
    if a.brief is not None:
        print(brief(a.brief))
        return 0
    if not a.raw:
        ap.error("RAW.jsonl needed")
    meta, meta_end, recs = {}, {}, []
    segs = [seg for path in a.raw for seg in load(path)]
    for i, (m, me, r) in enumerate(segs):
        if i == 0:
            meta = dict(m)
        else:
            meta["reps"] = (meta.get("reps") or 0) + (m.get("reps") or 0)
            meta["date"] = "%s and %s" % (meta.get("date", "?"), m.get("date", "?"))
        if len(segs) > 1:
            for rec in r:
                rec["rep"] = "%d.%s" % (i + 1, rec.get("rep"))
        meta_end = me if me else meta_end
        recs += r
    agg = aggregate(recs)
    md = markdown(meta, meta_end, agg)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    else:
        sys.stdout.write(md)
    if a.json:
        ratios = {}
        for name, _what, metric, _unit, _hib in ROWS:
            for o in ("mosquitto", "nats-server"):
                r = ratio(med(agg, name, "panpd", metric), med(agg, name, o, metric))
                ratios.setdefault(name, {})["%s panpd/%s" % (metric, o)] = r
        doc = {"meta": meta, "meta_end": meta_end, "scenarios": agg, "ratios": ratios,
               "goals": goals(agg),
               "slow_consumer": {b: slow_summary(agg, b) for b in BROKERS}}
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
