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
MEASURE_DATABASE = False


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



def database_cpu_seconds():
    """CPU seconds of every PostgreSQL process (backends, WAL writer, checkpointer)."""
    total = 0.0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        if raw[raw.index("(") + 1:].startswith("postgres"):
            fields = raw.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total





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
    db_before = database_cpu_seconds() if MEASURE_DATABASE and pid else None
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
        r["db_s"] = database_cpu_seconds() - db_before
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
    }


def per_request(runs, key):
    if not all(key in r for r in runs):
        return float("nan")
    return sum(r[key] for r in runs) * 1e6 / max(1, sum(r["requests"] for r in runs))


