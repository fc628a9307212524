"""The floor server (bench/floor/): built, started and measured beside Tollgate in the same run."""

import os
import subprocess
import sys
import time

from measure import BENCH, log, run

PORT = 18082
CLIENT, SECRET = "floor-client", "floor-secret-floor-secret-floor-secret-1234"
DIR = os.path.join(BENCH, "floor")
TARGET = os.environ.get("FLOOR_TARGET_DIR") or os.path.join(DIR, "target")
BIN = os.path.join(TARGET, "release", "tollgate-bench-floor")


class Floor:
    def __init__(self):
        self.proc = None

    def build(self):
        log("building the floor server (release)")
        run(["cargo", "build", "--release", "--manifest-path", os.path.join(DIR, "Cargo.toml"),
             "--target-dir", TARGET])

    def start(self):
        import http.client
        self.proc = subprocess.Popen([BIN, f"127.0.0.1:{PORT}", CLIENT, SECRET],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
                conn.request("POST", "/introspect", body="token=x")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.01)
        sys.exit("floor server did not start")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


def scenario_for(name, basic, form_type):
    """The floor request that does the least any server must do for scenario `name`, or None."""
    token = ("/token", "post.lua", {"BODY": "grant_type=client_credentials&scope=read+write",
                                    "CONTENT_TYPE": form_type, "AUTHORIZATION": basic(CLIENT, SECRET)})
    bare = ("/introspect", "post.lua", {"BODY": "token=x", "CONTENT_TYPE": form_type})
    if name.startswith("client_credentials"):
        return token
    if name.startswith("introspection") or name.startswith("JWKS"):
        return bare
    return None
