#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind (repeatable on a noisy machine).

Runs the release binary under callgrind twice, answering N1 and then N2 requests of one
scenario over one keep-alive connection; (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one
request with start-up and shutdown taken out. With --annotate, prints the top functions of the
larger run (inclusive), which is where to look for what is not the signature.

    python3 bench/callgrind.py [--scenario client_credentials|introspection|jwks] [--n1 200 --n2 1200]

With --dump, one process answers a warm-up and then N2 requests, and only those N2 are counted
(callgrind_control dumps the counters around them): start-up work whose cost varies from run to
run (key generation) is then out of the figure instead of differenced away.
"""

import argparse
import base64
import glob
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# TOLLGATE_BIN: another build (say, the previous commit's) measured by the same script.
BIN = os.environ.get("TOLLGATE_BIN") or os.path.join(ROOT, "target", "release", "tollgate")
PORT = 18090
# Requests answered before counting starts in --dump mode.
WARMUP = 100


def cli(env, *args):
    out = subprocess.run([BIN, "--json", *args], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def basic(user, secret):
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def one_run(n, scenario, workdir, keep, dump=False):
    data = tempfile.mkdtemp(dir=workdir)
    env = dict(os.environ, TOLLGATE_DATABASE_URL=f"sqlite://{data}/t.db", TOLLGATE_DATA_DIR=data,
               TOLLGATE_LISTEN=f"127.0.0.1:{PORT}", TOLLGATE_LOG="warn", TOLLGATE_AUTH_FAILURES_PER_MINUTE="1000000",
               # The change-log poll runs on wall time (every 500 ms by default), and under
               # valgrind on a busy machine a run's wall time varies, so its polls would add a
               # varying count. One poll at start, then none: only the requests are counted.
               TOLLGATE_SYNC_INTERVAL_MS="3600000")
    cli(env, "account", "create", "--friendly-name", "cg")
    cc = cli(env, "client", "create", "--name", "cg", "--scope", "read")
    out = os.path.join(workdir, f"callgrind.{n}.out")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", BIN, "serve"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    auth = basic(cc["client_id"], cc["client_secret"])
    token_body = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "read"})
    form = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth}
    conn = None
    for _ in range(600):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            conn.request("POST", "/oauth/token", token_body, form)
            r = conn.getresponse()
            tok = json.loads(r.read())["access_token"]
            break
        except (OSError, http.client.HTTPException, KeyError, ValueError):
            time.sleep(0.1)
    else:
        proc.kill()
        sys.exit("tollgate did not start under valgrind")
    if scenario == "client_credentials":
        req = ("POST", "/oauth/token", token_body, form)
    elif scenario == "introspection":
        req = ("POST", "/oauth/introspect", urllib.parse.urlencode({"token": tok}), form)
    else:
        req = ("GET", "/oauth/jwks", None, {})
    def send(count):
        for _ in range(count):
            conn.request(*req)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                sys.exit(f"{req[1]} answered {r.status}")

    if dump:
        # Warm up, then count only the requests: callgrind_control dumps (and zeroes) the
        # counters before and after them, so start-up work (key generation, whose cost
        # varies with the primes it draws) is not in the figure at all.
        send(WARMUP)
        before = set(glob.glob(out + "*"))
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True)
        send(n)
        dumped = set(glob.glob(out + "*"))
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True)
        new = sorted(set(glob.glob(out + "*")) - dumped)
        if len(dumped - before) != 1 or len(new) != 1:
            sys.exit("callgrind_control did not dump as expected")
        out = new[0]
    else:
        send(n)
    conn.close()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    files = [out] if dump else glob.glob(out + "*")
    total = 0
    for f in files:
        with open(f) as fh:
            for line in fh:
                m = re.match(r"(?:summary|totals): (\d+)", line)
                if m:
                    total = max(total, int(m.group(1)))
                    break
    return total, out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scenario", default="client_credentials", choices=["client_credentials", "introspection", "jwks"])
    p.add_argument("--n1", type=int, default=200)
    p.add_argument("--n2", type=int, default=1200)
    p.add_argument("--annotate", action="store_true", help="top functions by inclusive count per request")
    p.add_argument("--exclusive", action="store_true", help="top functions by their own count per request")
    p.add_argument("--rows", type=int, default=45, help="how many functions to list")
    p.add_argument("--dump", action="store_true",
                   help="one process: count only N2 requests after a warm-up (callgrind_control)")
    p.add_argument("--keep", metavar="FILE", help="copy the larger run's callgrind output here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if args.dump:
            total, out = one_run(args.n2, args.scenario, work, True, dump=True)
            print(f"{args.scenario}: {total / args.n2:,.0f} instructions per request "
                  f"(Ir {total:,} for {args.n2} requests after {WARMUP} warm-up requests)")
            if args.keep:
                import shutil
                shutil.copy(out, args.keep)
            return
        i1, out1 = one_run(args.n1, args.scenario, work, False)
        i2, out2 = one_run(args.n2, args.scenario, work, True)
        per = (i2 - i1) / (args.n2 - args.n1)
        print(f"{args.scenario}: {per:,.0f} instructions per request "
              f"(Ir {i1:,} for {args.n1}, {i2:,} for {args.n2})")
        if args.keep:
            import shutil
            shutil.copy(out2, args.keep)
        if args.annotate or args.exclusive:
            # Per function, the difference between the two runs over the extra requests: what
            # one request costs there, with start-up (key generation, RNG seeding) taken out.
            inclusive = "no" if args.exclusive else "yes"
            a, b = (function_counts(o, inclusive) for o in (out1, out2))
            rows = sorted(((b[f] - a.get(f, 0)) / (args.n2 - args.n1), f) for f in b)
            for ir, f in reversed(rows[-args.rows:]):
                print(f"{ir:>10,.0f}  {f[:160]}")


def function_counts(out, inclusive):
    ann = subprocess.run(["callgrind_annotate", f"--inclusive={inclusive}", "--threshold=100", out],
                         capture_output=True, text=True)
    counts = {}
    for line in ann.stdout.splitlines():
        m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+(.*)$", line)
        if m and "PROGRAM TOTALS" not in m.group(2):
            counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return counts

if __name__ == "__main__":
    main()
