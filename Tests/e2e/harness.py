"""End-to-end harness: the real `aeps serve` and `aeps gateway-sim` processes (the debug build), each installation
in its own temporary folder with its own configuration, SQLite file and self-signed certificate, on free loopback
ports; and Debian's Chromium driven by Playwright, as a retailer and an ops reviewer would use them."""

import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AEPS = os.environ.get("AEPS_BIN", os.path.join(ROOT, ".build", "debug", "aeps"))
UAT_ACCESS_KEY = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"
OTHER_ACCESS_KEY = "f74c50a1-f705-4634-9cda-30a477df91b7"
SCREENSHOTS = os.path.join(ROOT, ".build", "screenshots")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, check, timeout=60.0):
    """Polls `check` (a process coming up is not an event a test can subscribe to)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as error:  # not up yet
            last = error
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} ({last})")


class Process:
    def __init__(self, name, args, cwd, env):
        self.name = name
        self.log_path = os.path.join(cwd, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(args, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self.log.close()


class Installation:
    """One `aeps` installation: configuration, certificate, database, demo accounts, and its processes."""

    def __init__(self, environment="local", sim_port=None, access_key=UAT_ACCESS_KEY, callback_url=None,
                 gateway_sim=None, settlement=None, simulator_origin=None):
        self.folder = tempfile.mkdtemp(prefix="aeps-e2e-")
        self.port = free_port()
        self.sim_port = sim_port or free_port()
        self.access_key = access_key
        self.origin = f"https://localhost:{self.port}"
        self.sim_origin = f"http://localhost:{self.sim_port}"
        self.processes = []
        os.symlink(os.path.join(ROOT, "public"), os.path.join(self.folder, "public"))
        with open(os.path.join(ROOT, "aeps.config.example")) as f:
            config = json.load(f)
        config["environment"] = environment
        config["callback_url"] = callback_url or f"{self.origin}/aeps/callback"
        config["http"] = {"host": "127.0.0.1", "port": self.port}
        config["eko"] = {"read_timeout_ms": 5000}
        if simulator_origin if simulator_origin is not None else environment == "local":
            # The gateway (and Eko's API) is the simulator: always in local, and by a (mistaken) override elsewhere.
            config["eko"].update({"gateway_origin": self.sim_origin, "api_base": f"{self.sim_origin}/ekoapi/v1"})
        config["settlement"] = dict(config["settlement"], result_grace_seconds=10, sweep_interval_seconds=1)
        config["settlement"].update(settlement or {})
        config["gateway_sim"] = dict(config["gateway_sim"], run_with_server=False, port=self.sim_port)
        config["gateway_sim"].update(gateway_sim or {})
        config["log"] = {"level": "info"}
        self.runs_simulator_inside = config["gateway_sim"]["run_with_server"] and environment == "local"
        self.config_path = os.path.join(self.folder, "aeps.config")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)
        self.run("dev-cert")
        self.credentials = None
        if environment == "local":
            self.run("demo", "--config", self.config_path)
            with open(os.path.join(self.folder, "data", "demo-credentials.json")) as f:
                self.credentials = json.load(f)
        else:
            # `aeps demo` is for local only: add the same accounts the way an operator would.
            password = "e2e retailer pass 1"
            done = subprocess.run([AEPS, "retailer", "add", "--config", self.config_path, "--user-code", "20810200",
                                   "--name", "Sharma Store", "--password-stdin"], cwd=self.folder, env=self.env(),
                                  input=password + "\n", capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise AssertionError(done.stderr)
            self.credentials = {"retailer_user_code": "20810200", "retailer_password": password}

    def env(self, access_key=None):
        env = {k: v for k, v in os.environ.items() if k != "EKO_ACCESS_KEY"}
        env["EKO_ACCESS_KEY"] = access_key or self.access_key
        return env

    def run(self, *args, check=True):
        done = subprocess.run([AEPS, *args], cwd=self.folder, env=self.env(), capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"aeps {' '.join(args)} failed: {done.stderr}")
        return done if not check else done.stdout

    def serve(self):
        self.processes.append(Process("serve", [AEPS, "serve", "--config", self.config_path], self.folder, self.env()))
        context = ssl.create_default_context(cafile=os.path.join(self.folder, "dev-certs", "localhost.pem"))
        wait_until(f"aeps serve on {self.origin}", lambda: urllib.request.urlopen(
            f"{self.origin}/healthz", context=context, timeout=2).status == 200)
        if self.runs_simulator_inside:
            wait_until(f"the simulator inside aeps serve on {self.sim_origin}", lambda: urllib.request.urlopen(
                f"{self.sim_origin}/", timeout=2).status == 200)
        return self

    def gateway_sim(self, *flags, access_key=None):
        self.processes.append(Process(
            "gateway-sim", [AEPS, "gateway-sim", "--config", self.config_path, "--port", str(self.sim_port), *flags],
            self.folder, self.env(access_key)))
        wait_until(f"aeps gateway-sim on {self.sim_origin}", lambda: urllib.request.urlopen(
            f"{self.sim_origin}/", timeout=2).status == 200)
        return self

    def sql(self, query):
        """Reads the real SQLite file (read-only) while the server runs."""
        path = os.path.join(self.folder, "data", "aeps.sqlite")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(query)]

    def logs(self):
        return "\n".join(p.output() for p in self.processes)

    def stop(self):
        for process in reversed(self.processes):
            process.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
