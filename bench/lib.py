"""Helpers of bench/run: start a server and time it, read JSON, write the report.

    lib.py start LOG HEALTH_PATH -- CMD...   starts CMD (output to LOG), waits for
        its address in LOG, then for HEALTH_PATH to answer 200; prints
        "PID ADDR MS" (MS: exec -> first 200).
    lib.py get JSON_PATH                     reads JSON on stdin, prints a field (a.b.0).
    lib.py report RESULTS OUT_MD [PNG]       prints the table, writes markdown (and a plot).
"""

import http.client
import json
import os
import re
import subprocess
import sys
import time

ADDR = re.compile(r'"addr":"([0-9.:\[\]a-f]+)"|listening on (\S+)')


def start(log, health, cmd):
    out = open(log, "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    addr = None
    deadline = t0 + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.stderr.write(open(log, errors="replace").read())
            sys.exit(f"bench: {cmd[0]} exited with {proc.returncode} before answering")
        if addr is None:
            m = ADDR.search(open(log, errors="replace").read())
            if m:
                addr = m.group(1) or m.group(2)
        if addr is not None:
            host, port = addr.rsplit(":", 1)
            try:
                c = http.client.HTTPConnection(host, int(port), timeout=2)
                c.request("GET", health)
                if c.getresponse().status == 200:
                    ms = (time.monotonic() - t0) * 1e3
                    print(proc.pid, addr, f"{ms:.1f}")
                    return
            except OSError:
                pass
        time.sleep(0.002)
    proc.kill()
    sys.exit(f"bench: {cmd[0]} did not answer {health} within 120 s")


def get(path):
    value = json.load(sys.stdin)
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    print(value)


# ---------------------------------------------------------------- the report


def load(results):
    """KEY<TAB>JSON lines -> {key: obj}; a line without JSON stays a failure."""
    out = {}
    for line in open(results):
        key, _, text = line.rstrip("\n").partition("\t")
        try:
            out[key] = json.loads(text)
        except ValueError:
            out[key] = {"error": text or "no output"}
    return out


def fmt_num(x, unit=""):
    if x is None:
        return "—"
    if x >= 100:
        s = f"{x:,.0f}"
    elif x >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return s + unit


def report(results_path, md_path, png_path=None):
    r = load(results_path)
    problems = []

    def m(key, field="rps"):
        o = r.get(key)
        if o is None:
            return None
        if "error" in o:
            return None
        v = o.get(field)
        return v if isinstance(v, (int, float)) else None

    for key, o in r.items():
        if "error" in o:
            problems.append(f"{key}: {o['error']}")
        elif o.get("failed"):
            problems.append(f"{key}: {o['failed']} of {o['failed'] + o.get('ok', 0)} failed {o.get('failures')}")
        elif o.get("ok") == 0:
            problems.append(f"{key}: no successful request")

    meta = r.get("meta", {})
    C = meta.get("connections", 16)
    required = ["argon2", f"bare.c{C}", f"floor.c{C}", f"write.c{C}"]
    for eng in meta.get("engines", []):
        required += [f"{eng}.{k}" for k in (f"token.c{C}", f"key.c{C}", "half.1k", "key.half.1k", "activate", "cycle",
                                            "login", "quiet", "flood", "flooded", "half.big", "key.big", "rss",
                                            "start", "restart")]
    problems += [f"{k}: missing" for k in required if k not in r]
    rows = []  # (what, absolute, ratio text, target text, ok?)

    def ratio(a, b):
        return a / b if a is not None and b else None

    def row(what, absolute, rat=None, against="", target=None, good=None):
        rat_s = f"{rat:.2f}× {against}" if rat is not None else ("—" if against else "")
        verdict = ""
        if target:
            verdict = f"target {target}: " + ("pass" if good else ("MISSED" if good is not None else "n/a"))
        rows.append((what, absolute, rat_s, verdict))

    floor = m(f"floor.c{C}")
    bare = m(f"bare.c{C}")
    write = m(f"write.c{C}")
    row("bare JSON endpoint (floor server)", fmt_num(bare, " req/s"))
    row("floor: parse + SQLite read + sign", fmt_num(floor, " req/s"), ratio(floor, bare), "bare")
    row("write floor: 1-row SQLite write tx", fmt_num(write, " tx/s"))
    argon = r.get("argon2", {})
    ideal = argon.get("cores", 0) / (argon["verify_ms"] / 1e3) if argon.get("verify_ms") else None
    row("argon2id verify (crate defaults)", fmt_num(argon.get("verify_ms"), " ms"),
        None, "", None)
    for eng, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        if f"{eng}.token.c{C}" not in r:
            continue
        need = 0.8 if eng == "sqlite" else 0.5
        tok = m(f"{eng}.token.c{C}")
        rat = ratio(tok, floor)
        row(f"validate (token), {name}", f"{fmt_num(tok, ' req/s')}, p99 {fmt_num(m(f'{eng}.token.c{C}', 'p99_ms'), ' ms')}",
            rat, "floor", f"≥ {need}×", rat >= need if rat is not None else None)
        key = m(f"{eng}.key.c{C}")
        rat = ratio(key, floor)
        row(f"validate (key + hw id), {name}", f"{fmt_num(key, ' req/s')}, p99 {fmt_num(m(f'{eng}.key.c{C}', 'p99_ms'), ' ms')}",
            rat, "floor", f"≥ {need}×", rat >= need if rat is not None else None)
        half = r.get(f"{eng}.half.1k", {})
        p99 = m(f"{eng}.half.1k", "p99_ms")
        row(f"validate at half peak ({fmt_num(half.get('rate'), '/s')}), {name}",
            f"p50 {fmt_num(m(f'{eng}.half.1k', 'p50_ms'), ' ms')}, p99 {fmt_num(p99, ' ms')}",
            None, "", "p99 ≤ 5 ms", p99 <= 5 if p99 is not None else None)
        act = m(f"{eng}.activate")
        rat = ratio(act, write)
        row(f"activate (new hardware id), {name}", fmt_num(act, " req/s"), rat, "write floor", "≥ 0.5×",
            rat >= 0.5 if rat is not None else None)
        cyc = m(f"{eng}.cycle")
        rat = ratio(cyc, write / 2 if write else None)
        row(f"activate+deactivate, {name}", fmt_num(cyc, " cycles/s"), rat, "write floor/2 (2 tx)", "≥ 0.5×",
            rat >= 0.5 if rat is not None else None)
        login = m(f"{eng}.login")
        rat = ratio(login, ideal)
        row(f"login, {name}", fmt_num(login, "/s"), rat, f"cores/argon2 ({fmt_num(ideal, '/s')})")
        quiet = m(f"{eng}.quiet", "p99_ms")
        flood = m(f"{eng}.flooded", "p99_ms")
        rat = ratio(flood, quiet)
        row(f"validate p99 during login flood, {name}", fmt_num(flood, " ms"), rat,
            f"quiet p99 ({fmt_num(quiet, ' ms')}) at {fmt_num(r.get(f'{eng}.quiet', {}).get('rate'), '/s')}",
            "≤ 2×", rat <= 2 if rat is not None else None)
        small, big = m(f"{eng}.half.1k", "p50_ms"), m(f"{eng}.half.big", "p50_ms")
        rat = ratio(big, small)
        devices = meta.get("devices", "?")
        row(f"validate p50 {devices} devices / 1k, {name}", f"{fmt_num(big, ' ms')} vs {fmt_num(small, ' ms')}",
            rat, "", "≤ 1.3×", rat <= 1.3 if rat is not None else None)
        p99b = m(f"{eng}.half.big", "p99_ms")
        row(f"validate p99 {devices} devices, {name}", fmt_num(p99b, " ms"), ratio(p99b, p99), "p99 at 1k")
        kb = m(f"{eng}.key.big", "p50_ms")
        row(f"validate (key) p50 {devices} devices, {name}", fmt_num(kb, " ms"), ratio(kb, m(f"{eng}.key.half.1k", "p50_ms")), "at 1k")
        rss = r.get(f"{eng}.rss", {}).get("mb")
        row(f"peak RSS (VmHWM), {name}", fmt_num(rss, " MB"), None, "", "≤ 64 MB", rss <= 64 if rss is not None else None)
        row(f"first start (fresh db), {name}", fmt_num(r.get(f"{eng}.start", {}).get("ms"), " ms"))
        row(f"restart ({devices} devices), {name}", fmt_num(r.get(f"{eng}.restart", {}).get("ms"), " ms"))

    w = [max(len(x[i]) for x in rows) for i in range(4)]
    header = f"{meta.get('cores', '?')} cores, {meta.get('seconds', '?')} s per measurement, " \
             f"{meta.get('connections', 16)} connections unless said, loadgen and server on the same machine, " \
             f"load average {meta.get('load', '?')} at the start"
    print()
    print("== results:", header)
    for what, absolute, rat_s, verdict in rows:
        print(f"{what:<{w[0]}}  {absolute:>{w[1]}}  {rat_s:<{w[2]}}  {verdict}")

    # throughput vs connections
    sweep = {}
    for key, o in r.items():
        mm = re.fullmatch(r"(floor|bare|sqlite\.token|postgres\.token)\.c(\d+)", key)
        if mm and "rps" in o:
            sweep.setdefault(mm.group(1), {})[int(mm.group(2))] = o["rps"]
    conns = sorted({c for s in sweep.values() for c in s})
    print()
    print("throughput (req/s) vs connections:", "  ".join(
        f"{name}: " + ", ".join(f"{c}→{s[c]:,.0f}" for c in sorted(s)) for name, s in sweep.items()))

    with open(md_path, "w") as md:
        md.write(f"Measured by `bench/run` on {meta.get('date', '?')}: {header}.\n\n")
        md.write("| measurement | absolute | ratio | target |\n|---|---|---|---|\n")
        for what, absolute, rat_s, verdict in rows:
            md.write(f"| {what} | {absolute} | {rat_s} | {verdict} |\n")
        md.write("\nThroughput (req/s) vs connections (closed loop):\n\n")
        md.write("| connections | " + " | ".join(sweep) + " |\n|---|" + "---|" * len(sweep) + "\n")
        for c in conns:
            md.write(f"| {c} | " + " | ".join(fmt_num(s.get(c)) for s in sweep.values()) + " |\n")
        if problems:
            md.write("\n**FAILURES in this run:** " + "; ".join(problems) + "\n")

    if png_path:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            fig, ax = plt.subplots(figsize=(7, 4.2))
            labels = {"bare": "bare JSON (floor server)", "floor": "floor (read + sign)",
                      "sqlite.token": "validate (token), SQLite", "postgres.token": "validate (token), PostgreSQL"}
            for name, s in sweep.items():
                cs = sorted(s)
                ax.plot(cs, [s[c] for c in cs], marker="o", label=labels.get(name, name))
            ax.set_xscale("log", base=2)
            ax.set_xticks(conns, [str(c) for c in conns])
            ax.set_xlabel("connections (closed loop)")
            ax.set_ylabel("requests/s")
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
            ax.legend()
            ax.set_title(f"license-server throughput ({meta.get('cores', '?')} cores, {meta.get('date', '')})")
            fig.tight_layout()
            fig.savefig(png_path, dpi=110)
            print(f"plot: {png_path}")
        except Exception as e:  # the plot is optional
            print(f"bench: no plot ({e})")

    if problems:
        print()
        print("!" * 72)
        print("!! FAILURES: this run had failed requests or missing numbers:")
        for p in problems:
            print("!!  ", p)
        print("!" * 72)
        sys.exit(1)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "start":
        sep = sys.argv.index("--")
        start(sys.argv[2], sys.argv[3], sys.argv[sep + 1:])
    elif cmd == "get":
        get(sys.argv[2])
    elif cmd == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        sys.exit(__doc__)
