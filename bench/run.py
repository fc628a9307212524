#!/usr/bin/env python3
"""Tollgate against node-oidc-provider, side by side, with wrk.

Builds Tollgate in release mode, starts it (SQLite, or PostgreSQL with --postgres URL) and the
peer on loopback ports, runs each scenario alternating Tollgate and the peer, and prints one
table plus resource figures. See bench/RESULTS.md for a recorded run.
"""

import argparse
import base64
import hashlib
import html as html_lib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import floor as floor_server
import measure
import onetime
from measure import combine, log, rss_mib, run, signature_floor, wrk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
# TOLLGATE_BIN: another build (say, the previous commit's) measured by the same script.
BIN = os.environ.get("TOLLGATE_BIN") or os.path.join(ROOT, "target", "release", "tollgate")
TG_PORT, PEER_PORT = 18080, 18081
PEER_SECRET = "bench-secret-bench-secret-bench-secret-123"
VERIFIER = "bench-verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG"
REDIRECT = "http://127.0.0.1/cb"
PASSWORD = "bench password 123"


def basic(user, secret):
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def http_request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def form(**kw):
    return urllib.parse.urlencode(kw)


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Tollgate:
    def __init__(self, args, data_dir):
        self.args = args
        self.data_dir = data_dir
        self.db = args.postgres_db or f"sqlite://{data_dir}/tollgate.db"
        self.env = dict(os.environ, TOLLGATE_DATABASE_URL=self.db, TOLLGATE_DATA_DIR=data_dir,
                        TOLLGATE_LISTEN=f"127.0.0.1:{TG_PORT}", TOLLGATE_AUTH_FAILURES_PER_MINUTE="1000000",
                        TOLLGATE_CODE_TTL="600", TOLLGATE_LOG="warn", RUST_LOG="warn")
        self.proc = None

    def cli(self, *args):
        return json.loads(run([BIN, "--json", *args], env=self.env))

    def setup(self):
        account = self.cli("account", "create", "--friendly-name", "bench")
        self.account = account["account_sid"]
        cc = self.cli("client", "create", "--name", "bench cc", "--scope", "read", "--scope", "write")
        self.cc = (cc["client_id"], cc["client_secret"])
        rs = self.cli("client", "create", "--name", "bench introspector")
        self.rs = (rs["client_id"], rs["client_secret"])
        code = self.cli("client", "create", "--name", "bench web", "--grant", "authorization_code",
                        "--grant", "refresh_token", "--redirect-uri", REDIRECT, "--scope", "read")
        self.code_client = (code["client_id"], code["client_secret"])
        self.cli("user", "create", "--email", "bench@example.com", "--password", PASSWORD)
        self.jwt_key = onetime.Es256Key("bench-pkjwt")
        pk = self.cli("client", "create", "--name", "bench pkjwt", "--scope", "read",
                      "--token-endpoint-auth-method", "private_key_jwt", "--jwks", self.jwt_key.jwks())
        self.pkjwt = pk["client_id"]
        self.dpop_key = onetime.Es256Key("bench-dpop")

    def one_time_lines(self, kind, n):
        """Request lines for lines.lua, each with its own assertion or DPoP proof."""
        url = json.loads(http_request(TG_PORT, "GET", "/.well-known/openid-configuration")[2])["token_endpoint"]
        if kind == "assertion":
            return [form(grant_type="client_credentials", scope="read", client_id=self.pkjwt,
                         client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                         client_assertion=a)
                    for a in onetime.client_assertions(self.jwt_key, self.pkjwt, url, n)]
        body = form(grant_type="client_credentials", scope="read")
        return [f"{body}\t{p}" for p in onetime.dpop_proofs(self.dpop_key, url, n)]

    def start(self):
        started = time.perf_counter()
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        body = form(grant_type="client_credentials")
        while True:
            try:
                status, _, _ = http_request(TG_PORT, "POST", "/oauth/token", body,
                                            {**FORM, "Authorization": basic(*self.cc)})
                if status == 200:
                    return (time.perf_counter() - started) * 1000
            except OSError:
                pass
            if self.proc.poll() is not None:
                sys.exit("tollgate exited during start")
            time.sleep(0.001)

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
            self.proc = None

    # The real authorize flow, with a cookie jar of one session.
    def sign_in(self):
        query = form(response_type="code", client_id=self.code_client[0], redirect_uri=REDIRECT, scope="read",
                     code_challenge=s256(VERIFIER), code_challenge_method="S256")
        status, headers, _ = http_request(TG_PORT, "GET", f"/oauth/authorize?{query}")
        login = headers["location"]
        status, headers, page = http_request(TG_PORT, "GET", login)
        csrf_cookie = re.search(r"tollgate_csrf=([^;]+)", headers.get("set-cookie", "")).group(1)
        html = page.decode()
        cont = html_lib.unescape(re.search(r'name="continue" value="([^"]*)"', html).group(1))
        # The form's token is bound to the cookie's nonce and the session, as a browser sends it.
        token = html_lib.unescape(re.search(r'name="csrf" value="([^"]*)"', html).group(1))
        cookie = f"tollgate_csrf={csrf_cookie}"
        status, headers, _ = http_request(TG_PORT, "POST", "/login",
                                          form(csrf=token, email="bench@example.com", password=PASSWORD, **{"continue": cont}),
                                          {**FORM, "Cookie": cookie})
        session = re.search(r"tollgate_session=([^;]+)", headers["set-cookie"]).group(1)
        self.cookie = f"{cookie}; tollgate_session={session}"
        status, headers, page = http_request(TG_PORT, "GET", headers["location"], headers={"Cookie": self.cookie})
        html = page.decode()
        token = html_lib.unescape(re.search(r'name="csrf" value="([^"]*)"', html).group(1))
        post = {"csrf": token, "continue": cont, "decision": "approve"}
        http_request(TG_PORT, "POST", "/consent", form(**post), {**FORM, "Cookie": self.cookie})
        self.authorize_path = f"/oauth/authorize?{query}&prompt=none"

    def mint_codes(self, n):
        def one(_):
            conn = http.client.HTTPConnection("127.0.0.1", TG_PORT, timeout=10)
            codes = []
            for _ in range(per_worker):
                conn.request("GET", self.authorize_path, headers={"Cookie": self.cookie})
                resp = conn.getresponse()
                resp.read()
                loc = resp.getheader("location")
                query = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
                if "code" not in query:
                    sys.exit(f"authorize did not return a code: {loc}")
                codes.append(query["code"][0])
            conn.close()
            return codes
        workers = 8
        per_worker = n // workers + 1
        with ThreadPoolExecutor(workers) as pool:
            return [c for chunk in pool.map(one, range(workers)) for c in chunk]

    def refresh_tokens(self, n):
        tokens = []
        for code in self.mint_codes(n)[:n]:
            status, _, body = http_request(TG_PORT, "POST", "/oauth/token", form(
                grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=VERIFIER,
                client_id=self.code_client[0], client_secret=self.code_client[1]), FORM)
            tokens.append(json.loads(body)["refresh_token"])
        return tokens


class Peer:
    def __init__(self):
        self.proc = None

    def start(self):
        peer_dir = os.path.join(BENCH, "peer")
        if not os.path.isdir(os.path.join(peer_dir, "node_modules", "oidc-provider")):
            log("installing oidc-provider from npm")
            run(["npm", "install", "--no-audit", "--no-fund", "--prefix", peer_dir])
        self.proc = subprocess.Popen(["node", os.path.join(peer_dir, "server.mjs")], env=dict(os.environ, PORT=str(PEER_PORT)),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            try:
                if http_request(PEER_PORT, "GET", "/jwks")[0] == 200:
                    return
            except OSError:
                time.sleep(0.02)
        sys.exit("peer did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def print_rows(rows, signature):
    """The scenario table: Tollgate, the floor (bench/floor/) and the peer, side by side."""
    print("| scenario | Tollgate req/s | p50 ms | p99 ms | CPU µs/req | of it kernel | DB CPU µs/req | errors "
          "| floor CPU µs/req | of it kernel | × floor | peer req/s | p50 ms | p99 ms | CPU µs/req | errors | req/s ratio | CPU ratio |")
    print("|---|" + "---:|" * 17)
    for name, a, b, f in rows:
        db = "" if a["db_us"] != a["db_us"] else f"{a['db_us']:.1f}"
        line = f"| {name} | {a['rps']:,.0f} | {a['p50_ms']:.2f} | {a['p99_ms']:.2f} | {a['cpu_us']:.1f} | {a['sys_us']:.1f} | {db} | {a['errors']} "
        line += f"| {f['cpu_us']:.1f} | {f['sys_us']:.1f} | {a['cpu_us'] / f['cpu_us']:.2f}× " if f else "| | | "
        if b:
            line += (f"| {b['rps']:,.0f} | {b['p50_ms']:.2f} | {b['p99_ms']:.2f} | {b['cpu_us']:.1f} | {b['errors']} "
                     f"| {a['rps'] / b['rps']:.1f}× | {b['cpu_us'] / a['cpu_us']:.1f}× less |")
        else:
            line += "| n/a | | | | | | |"
        print(line)
    print()
    split = [(name, a) for name, a, _, _ in rows if a["db_us"] == a["db_us"] and a["db_us"] >= 1]
    if split:
        print("| scenario | PostgreSQL CPU µs/req | of it Tollgate's connections | of it background (WAL writer, checkpointer, autovacuum) |")
        print("|---|---:|---:|---:|")
        for name, a in split:
            print(f"| {name} | {a['db_us']:.1f} | {a['db_conn_us']:.1f} | {a['db_us'] - a['db_conn_us']:.1f} |")
        print()
    for label, us in signature.items():
        print(f"One {label} signature (openssl speed, one core): {us:.1f} µs")
    cc = next((a["cpu_us"] for name, a, _, _ in rows if name.startswith("client_credentials, form")), None)
    if cc is None:
        return
    if "ES256" in signature:
        print(f"client_credentials CPU per token / one ES256 signature: {cc:.1f} / {signature['ES256']:.1f} µs = {cc / signature['ES256']:.2f}×")
    # The write targets are multiples of one client_credentials token's CPU (DESIGN.md section 9).
    for name, a, _, _ in rows:
        if name.startswith(("refresh rotation", "authorization_code")):
            total = a["cpu_us"] + (0 if a["db_us"] != a["db_us"] else a["db_us"])
            print(f"{name}: (Tollgate + database) CPU / one client_credentials token = {total:.1f} / {cc:.1f} µs = {total / cc:.2f}×")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="short runs and small resource figures (a smoke test)")
    p.add_argument("--postgres", metavar="URL", help="run Tollgate on PostgreSQL (admin URL; a fresh database is created)")
    p.add_argument("--duration", type=int, help="seconds per run (default 10, quick 2)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--only", metavar="WORDS", help="comma-separated words: run only scenarios whose name has one; the resource figures only with 'resources'")
    args = p.parse_args()
    only = [w.strip().lower() for w in args.only.split(",")] if args.only else None

    def wanted(name):
        return only is None or any(w in name.lower() for w in only)
    duration = args.duration or (2 if args.quick else 10)
    rounds = 1 if args.quick else 2
    conns = args.connections
    big_tokens = 20_000 if args.quick else 1_000_000
    big_rotations = 2_000 if args.quick else 100_000

    if shutil.which("wrk") is None:
        sys.exit("wrk is required: apt-get install wrk")
    if not args.no_build:
        log("building tollgate (release)")
        run(["cargo", "build", "--release", "--locked", "-p", "tollgate"])
    base = floor_server.Floor()
    if not args.no_build or not os.path.exists(floor_server.BIN):
        base.build()
    args.postgres_db = None
    measure.MEASURE_DATABASE = None
    if args.postgres:
        name = f"tollgate_bench_{int(time.time())}"
        run(["psql", args.postgres, "-qc", f"CREATE DATABASE {name}"])
        u = urllib.parse.urlparse(args.postgres)
        args.postgres_db = urllib.parse.urlunparse(u._replace(path=f"/{name}"))
        measure.MEASURE_DATABASE = name

    data_dir = tempfile.mkdtemp(prefix="tollgate-bench-")
    tg, peer = Tollgate(args, data_dir), Peer()
    try:
        tg.setup()
        ready = []
        for _ in range(3 if args.quick else 5):
            ready.append(tg.start())
            tg.stop()
        ready_ms = statistics.median(ready)
        tg.start()
        peer.start()
        base.start()
        time.sleep(0.5)
        idle_rss, peer_idle_rss = rss_mib(tg.proc.pid), rss_mib(peer.proc.pid)

        tg.sign_in()
        tg_cc_auth = basic(*tg.cc)
        peer_auth = basic("bench-basic", PEER_SECRET)
        tg_jwt = json.loads(http_request(TG_PORT, "POST", "/oauth/token", form(grant_type="client_credentials"),
                                         {**FORM, "Authorization": tg_cc_auth})[2])["access_token"]
        peer_opaque = json.loads(http_request(PEER_PORT, "POST", "/token", form(grant_type="client_credentials", scope="read"),
                                              {**FORM, "Authorization": peer_auth})[2])["access_token"]
        peer_cc_body = form(grant_type="client_credentials", scope="read write", resource="urn:bench:api")
        peer_post_body = form(grant_type="client_credentials", scope="read write", resource="urn:bench:api",
                              client_id="bench-post", client_secret=PEER_SECRET)

        # name, tollgate (path, script, env), peer (path, script, env) or None
        scenarios = [
            ("client_credentials, form + Basic, /oauth/token",
             ("/oauth/token", "post.lua", {"BODY": form(grant_type="client_credentials", scope="read write"), "CONTENT_TYPE": FORM["Content-Type"], "AUTHORIZATION": tg_cc_auth}),
             ("/token", "post.lua", {"BODY": peer_cc_body, "CONTENT_TYPE": FORM["Content-Type"], "AUTHORIZATION": peer_auth})),
            ("client_credentials, /v2/token (Twilio)",
             ("/v2/token", "post.lua", {"BODY": form(grant_type="client_credentials", client_id=tg.cc[0], client_secret=tg.cc[1]), "CONTENT_TYPE": FORM["Content-Type"]}),
             ("/token", "post.lua", {"BODY": peer_post_body, "CONTENT_TYPE": FORM["Content-Type"]})),
            ("client_credentials, JSON body, /oauth/token",
             ("/oauth/token", "post.lua", {"BODY": json.dumps({"grant_type": "client_credentials", "client_id": tg.cc[0], "client_secret": tg.cc[1]}), "CONTENT_TYPE": "application/json"}),
             ("/token", "post.lua", {"BODY": peer_post_body, "CONTENT_TYPE": FORM["Content-Type"]})),
            ("introspection (Tollgate: JWT; peer: opaque)",
             ("/oauth/introspect", "post.lua", {"BODY": form(token=tg_jwt), "CONTENT_TYPE": FORM["Content-Type"], "AUTHORIZATION": basic(*tg.rs)}),
             ("/token/introspection", "post.lua", {"BODY": form(token=peer_opaque), "CONTENT_TYPE": FORM["Content-Type"], "AUTHORIZATION": peer_auth})),
            ("JWKS", ("/oauth/jwks", "get.lua", {}), ("/jwks", "get.lua", {})),
        ]
        rows = []
        floor_runs = {}

        def floor_run(name):
            """The floor's figure for the same work, measured once per kind in this run."""
            f = floor_server.scenario_for(name, basic, FORM["Content-Type"])
            if f is None:
                return None
            if f[0] not in floor_runs:
                floor_runs[f[0]] = combine([wrk(floor_server.PORT, *f, duration, conns, pid=base.pid)
                                            for _ in range(rounds)])
            return floor_runs[f[0]]

        for name, ours, theirs in scenarios:
            if not wanted(name):
                continue
            log(f"scenario: {name}")
            a, b = [], []
            for _ in range(rounds):
                a.append(wrk(TG_PORT, ours[0], ours[1], ours[2], duration, conns, pid=tg.proc.pid))
                b.append(wrk(PEER_PORT, theirs[0], theirs[1], theirs[2], duration, conns, pid=peer.proc.pid))
            rows.append((name, combine(a), combine(b), floor_run(name)))

        # Single-use credentials: every request carries its own, made ahead of each run.
        for name, kind in (("client_credentials, private_key_jwt assertion (ES256)", "assertion"),
                           ("client_credentials, DPoP-bound (ES256 proof)", "dpop")):
            if not wanted(name):
                continue
            log(f"scenario: {name}")
            a = []
            for _ in range(rounds):
                n = duration * 12_000
                with tempfile.NamedTemporaryFile("w", delete=False, suffix=".lines") as f:
                    f.write("\n".join(tg.one_time_lines(kind, n)))
                env = {"LINES_FILE": f.name, "THREADS": "2", "HEADER": "DPoP" if kind == "dpop" else "",
                       "AUTHORIZATION": tg_cc_auth if kind == "dpop" else ""}
                a.append(wrk(TG_PORT, "/oauth/token", "lines.lua", env, duration, conns, pid=tg.proc.pid))
                os.unlink(f.name)
                if a[-1]["requests"] > n:
                    log(f"warning: {a[-1]['requests'] - n} requests ran out of single-use lines (counted as errors)")
            rows.append((name, combine(a), None, floor_run(name)))

        def refresh_run(seconds):
            tokens = tg.refresh_tokens(chains)
            return wrk(TG_PORT, "/oauth/token", "refresh.lua", {"TOKENS": ",".join(tokens), "CLIENT": ":".join(tg.code_client)},
                       seconds, chains, threads=chains, pid=tg.proc.pid)

        chains = conns
        store_name = "PostgreSQL" if args.postgres else "SQLite WAL"
        rotated = 0
        if wanted("refresh rotation"):
            log("scenario: refresh rotation")
            a = [refresh_run(duration) for _ in range(rounds)]
            rotated = sum(r["requests"] for r in a)
            rows.append((f"refresh rotation ({chains} chains, {store_name})", combine(a), None, None))

        if wanted("authorization_code"):
            log("scenario: authorization code redemption")
            a = []
            for _ in range(rounds):
                n = duration * 12_000
                codes = tg.mint_codes(n)
                with tempfile.NamedTemporaryFile("w", delete=False, suffix=".codes") as f:
                    f.write("\n".join(form(grant_type="authorization_code", client_id=tg.code_client[0],
                                           client_secret=tg.code_client[1], redirect_uri=REDIRECT,
                                           code_verifier=VERIFIER, code=c) for c in codes))
                a.append(wrk(TG_PORT, "/oauth/token", "lines.lua", {"LINES_FILE": f.name, "THREADS": "2"}, duration, conns,
                             pid=tg.proc.pid))
                os.unlink(f.name)
                if a[-1]["requests"] > len(codes):
                    log(f"warning: {a[-1]['requests'] - len(codes)} requests ran out of codes (counted as errors)")
            rows.append((f"authorization_code + PKCE redemption ({store_name})", combine(a), None, None))

        issued = sum(r[1]["requests"] for r in rows if r[0].startswith("client_credentials"))
        rss_tokens = rss_rotations = None
        if only is None or "resources" in only:
            log(f"resource: {big_tokens} client_credentials tokens")
            while issued < big_tokens:
                r = wrk(TG_PORT, "/oauth/token", "post.lua", scenarios[0][1][2], min(30, duration * 3), conns)
                issued += r["requests"]
            rss_tokens = rss_mib(tg.proc.pid)
            log(f"resource: {big_rotations} refresh rotations")
            while rotated < big_rotations:
                rotated += refresh_run(min(30, duration * 3))["requests"]
            rss_rotations = rss_mib(tg.proc.pid)
        peer_rss = rss_mib(peer.proc.pid)
    finally:
        tg.stop()
        peer.stop()
        base.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            run(["psql", args.postgres, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)

    floor = signature_floor()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"\nMachine: {os.cpu_count()} cores ({cpu}), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB; "
          f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; wrk -t2 -c{conns} -d{duration}s, {rounds} alternating round(s) per side\n")
    print_rows(rows, floor)
    print()
    print(f"| resource | Tollgate | peer |\n|---|---:|---:|")
    print(f"| RSS idle | {idle_rss:.1f} MiB | {peer_idle_rss:.1f} MiB |")
    if rss_tokens is not None:
        print(f"| RSS after {issued:,} client_credentials tokens | {rss_tokens:.1f} MiB | {peer_rss:.1f} MiB (after its runs) |")
        print(f"| RSS after {rotated:,} refresh rotations | {rss_rotations:.1f} MiB | |")
    print(f"| start to first token (median of {len(ready)}) | {ready_ms:.0f} ms | |")


if __name__ == "__main__":
    main()
