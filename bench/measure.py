"""Measuring a server process: CPU from /proc/<pid>/stat, RSS, and wrk runs against it."""

import json
import os
import re
import statistics
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
WRK_DIR = os.path.join(BENCH, "wrk")
# Set by run.py when Tollgate runs on PostgreSQL: every wrk run then also counts the database's CPU.
# The benchmark database's name when Tollgate runs on PostgreSQL: its CPU is measured too.
MEASURE_DATABASE = None


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run(cmd, env=None, check=True, cwd=None):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=cwd)
    if check and out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_split(pid):
    """(user, system) CPU seconds of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces; the fields after it are fixed.
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK



def database_cpu_split(db):
    """PostgreSQL's CPU seconds by kind of process: `connections` (the backends connected to
    database `db`: Tollgate's statements and commits) and `background` (WAL writer,
    checkpointer, background writer, autovacuum). Backends of other databases are left out. A
    process that exits between two readings takes its CPU with it, so short-lived autovacuum
    workers are undercounted."""
    split = {"connections": 0.0, "background": 0.0}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                raw = f.read()
            with open(f"/proc/{p}/cmdline", "rb") as f:
                title = f.read().decode(errors="replace")
        except OSError:
            continue
        if raw[raw.index("(") + 1:].startswith("postgres"):
            fields = raw.rsplit(")", 1)[1].split()
            # A backend's title names its client's address: "postgres: user db 127.0.0.1(port) …".
            if re.search(r"\d\(\d+\)", title):
                if f" {db} " not in title:
                    continue
                kind = "connections"
            else:
                kind = "background"
            split[kind] += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return split


def signature_floor():
    """One signature's cost on this machine, in µs, from `openssl speed` (one core)."""
    floor = {}
    for algo, label in (("ecdsap256", "ES256"), ("ed25519", "EdDSA")):
        out = run(["openssl", "speed", "-seconds", "3", algo], check=False)
        for line in out.splitlines():
            m = re.search(r"\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)\s*$", line)
            if m:
                floor[label] = 1e6 / float(m.group(1))
    return floor



def wrk(port, path, script, env, duration, connections, threads=2, pid=None):
    env = dict(os.environ, BENCH_WRK_DIR=WRK_DIR, **env)
    cpu_before = cpu_split(pid) if pid else None
    db_before = database_cpu_split(MEASURE_DATABASE) if MEASURE_DATABASE and pid else None
    out = run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", os.path.join(WRK_DIR, script),
               f"http://127.0.0.1:{port}{path}"], env=env)
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    r = json.loads(line)
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    if pid:
        user, system = cpu_split(pid)
        r["cpu_s"] = user + system - sum(cpu_before)
        r["sys_s"] = system - cpu_before[1]
    if db_before is not None:
        db_after = database_cpu_split(MEASURE_DATABASE)
        r["db_s"] = sum(db_after.values()) - sum(db_before.values())
        r["db_conn_s"] = db_after["connections"] - db_before["connections"]
    return r


def combine(runs):
    return {
        "rps": statistics.mean(r["rps"] for r in runs),
        "p50_ms": statistics.mean(r["p50_us"] for r in runs) / 1000,
        "p99_ms": statistics.mean(r["p99_us"] for r in runs) / 1000,
        "errors": sum(r["errors"] + r["non2xx"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        # Server CPU per answered request, the figure wrk's share of the cores cannot move.
        "cpu_us": per_request(runs, "cpu_s"),
        # Of that, the kernel's (system time: TCP on loopback, epoll, file I/O).
        "sys_us": per_request(runs, "sys_s"),
        # PostgreSQL's CPU per request, when Tollgate runs on it.
        "db_us": per_request(runs, "db_s"),
        # Of that, the backends serving Tollgate's connections (the rest is background work).
        "db_conn_us": per_request(runs, "db_conn_s"),
    }


def per_request(runs, key):
    if not all(key in r for r in runs):
        return float("nan")
    return sum(r[key] for r in runs) * 1e6 / max(1, sum(r["requests"] for r in runs))


