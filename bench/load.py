#!/usr/bin/env python3
"""The callback under load (`make bench`, docs/performance.md). Python standard library and wrk only.

On a fresh database in a temporary folder it runs the real `aeps serve` (plain HTTP on 127.0.0.1, log level
warning), registers retailers with `aeps retailer add`, creates an API key with `aeps api-key create`, mints gateway
sessions through the partner API, then drives the callback with wrk:

  baseline      debit-hooks against `aeps-baseline` (same JSON reading and HMACs; no policy, no database)
  debit-hook    distinct valid debit-hooks (types 2/2/2/3/4, new customer and client_ref_id each, both token places)
  eko-response  reports for the transactions approved above (one in ten for an unknown client_ref_id)
  preflight     CORS OPTIONS from the gateway's origin
then stops the server and runs debit-hook and eko-response again on a copy of the database taken before the first
runs (same retailers and API key), into which ROWS transactions (and their callback_log rows) dated on earlier days
were stored in bulk with SQL.

It prints one Markdown table (requests/s, latency percentiles, approval share, ratio to the baseline, peak RSS)
and, with --write-doc FILE, puts it between the `<!-- bench:results -->` markers of that file. It exits non-zero
when a run answered nothing, had socket errors or non-2xx answers, or approved less than 95 % of debit-hooks.
Every process it starts is in its own process group and is stopped, and the folder removed, on any exit.

  bench/load.py [--short] [--build DIR] [--rows N] [--duration S] [--connections C] [--threads T] [--retailers N]
                [--profile DIR] [--write-doc F]
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ORIGIN = "http://localhost:3004"  # the `local` environment's gateway origin
UAT_ACCESS_KEY = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"  # Eko's public UAT key (protocol §2)
MIN_APPROVAL_SHARE = 0.95

children = []  # Popen objects, each the leader of its own process group


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, logfile, env=None):
    out = open(logfile, "ab")
    process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True, env=env)
    out.close()
    children.append(process)
    return process


def stop(process, timeout=20):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    if process in children:
        children.remove(process)


def stop_all():
    for process in list(children):
        try:
            stop(process, timeout=5)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass


def http(method, url, body=None, headers=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def wait_ready(url, process, logfile, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}); its log:\n{open(logfile).read()[-3000:]}")
        try:
            status, _ = http("GET", url, timeout=2)
            if status == 200:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready within {seconds} s")


def wait_port(port, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def status_mib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib(pid):
    """VmHWM: the process's peak resident set since start or since the last reset_peak()."""
    return status_mib(pid, "VmHWM")


def current_rss_mib(pid):
    return status_mib(pid, "VmRSS")


def reset_peak(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux 4.0+)
    except OSError:
        pass


def run_cli(aeps, config, *args, stdin=None):
    result = subprocess.run([aeps, *args, "--config", config], input=stdin, capture_output=True, text=True,
                            timeout=120, env=server_env())
    if result.returncode != 0:
        raise SystemExit(f"aeps {' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def server_env():
    env = dict(os.environ)
    env.setdefault("EKO_ACCESS_KEY", UAT_ACCESS_KEY)
    return env


def wrk(script, url, duration, connections, threads, *args):
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "--latency",
            "-s", os.path.join(HERE, script), url, "--", *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    match = re.search(r"^BENCHJSON (.*)$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    numbers = json.loads(match.group(1))
    numbers["rps"] = numbers["requests"] / (numbers["duration_us"] / 1e6)
    return numbers


def prefill(database, rows):
    """`rows` withdrawals over the registered retailers and 200,000 customers (mobiles scattered over the same range
    as the load's), dated 4 to 365 days ago (so today's
    caps and the sweeper's recheck window are untouched): 60 % settled, 20 % closed, 10 % flagged, 10 % refused,
    none due for an inquiry; and their callback_log rows (bodies kept for 90 days)."""
    connection = sqlite3.connect(database)
    connection.executescript("PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;")
    with connection:
        connection.execute("CREATE TEMP TABLE shop (k INTEGER PRIMARY KEY, id INTEGER, user_code TEXT)")
        connection.execute("INSERT INTO shop (k, id, user_code) "
                           "SELECT row_number() OVER (ORDER BY id) - 1, id, user_code FROM retailer")
        shops = connection.execute("SELECT COUNT(*) FROM shop").fetchone()[0]
        connection.execute(f"""
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {rows}),
            t(i, at) AS (SELECT i, strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (4 + i % 362) || ' days',
                                            '-' || (i % 86400) || ' seconds') FROM n)
            INSERT INTO aeps_transaction (client_ref_id, retailer_id, user_code, type, amount_raw, amount_paise,
              customer_mobile, bank_code, request_fingerprint, decision, reason, state, decided_at, ist_day,
              created_at, updated_at, eko_tid, bank_ref_num, reported_tx_status, flag_reason)
            SELECT 'FILL' || i, shop.id, shop.user_code, 2, CAST(100 + 50 * (i % 199) AS TEXT),
              (100 + 50 * (i % 199)) * 100, '9' || printf('%09d', (i % 200000) * 7919 % 1000000000), '607153',
              hex(randomblob(16)),
              CASE i % 10 WHEN 9 THEN 'refused' ELSE 'approved' END,
              CASE i % 10 WHEN 9 THEN 'customer_daily_limit' ELSE 'approved' END,
              CASE i % 10 WHEN 6 THEN 'closed' WHEN 7 THEN 'closed' WHEN 8 THEN 'needs_attention'
                          WHEN 9 THEN 'refused' ELSE 'settled' END,
              at, date(at, '+330 minutes'), at, at,
              CASE WHEN i % 10 < 6 THEN 'T' || i END, CASE WHEN i % 10 < 6 THEN 'B' || i END,
              CASE WHEN i % 10 < 6 THEN 0 END, CASE i % 10 WHEN 8 THEN 'no_final_answer' END
            FROM t JOIN shop ON shop.k = i % {shops}""")
        connection.execute(f"""
            INSERT INTO callback_log (received_at, request_id, remote_address, origin, action, client_ref_id,
              http_status, outcome, reason, body, body_bytes, latency_ms, body_digest)
            SELECT decided_at, 'fill', '203.0.113.7', '{ORIGIN}', 'debit-hook', client_ref_id, 200, decision,
              reason,
              CASE WHEN decided_at > datetime('now', '-90 days') THEN
                '{{"action":"debit-hook","detail":{{"client_ref_id":"' || client_ref_id ||
                '","request_hash_params":["customer_id","amount","user_code"],"data":{{"type":"2","amount":"' ||
                amount_raw || '","customer_id":"******' || substr(customer_mobile, 7) || '","user_code":"' ||
                user_code || '","bank_code":"607153"}}}},"aeps_session":"***"}}' END,
              300, 3.0, hex(randomblob(32))
            FROM aeps_transaction WHERE client_ref_id LIKE 'FILL%'""")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def count_approved(database, tag):
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT COUNT(*) FROM aeps_transaction WHERE client_ref_id LIKE ? "
                                  "AND decision = 'approved'", (f"BENCH{tag}-%",)).fetchone()[0]
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="CI mode: a few seconds per run, tiny prefill")
    parser.add_argument("--build", help="folder with aeps and aeps-baseline (default .build/release, "
                                        "--short: .build/debug)")
    parser.add_argument("--rows", type=int, help="transactions stored before the second run (default 1,000,000; "
                                                 "--short: 10,000)")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10; --short: 2)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--retailers", type=int, help="retailers registered (default 50; --short: 5)")
    parser.add_argument("--profile", metavar="DIR", help="record `perf record -g` of each debit-hook run into DIR")
    parser.add_argument("--write-doc", metavar="FILE", help="put the table between the markers of FILE")
    options = parser.parse_args()
    short = options.short
    build = options.build or os.path.join(ROOT, ".build", "debug" if short else "release")
    rows = options.rows if options.rows is not None else (10_000 if short else 1_000_000)
    duration = options.duration or (2 if short else 10)
    retailers = options.retailers or (5 if short else 50)
    connections, threads = options.connections, options.threads
    aeps, baseline = os.path.join(build, "aeps"), os.path.join(build, "aeps-baseline")
    for binary in (aeps, baseline):
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"{binary} is missing: build it first (make bench does)")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing (Debian package wrk; make bench installs it)")

    folder = tempfile.mkdtemp(prefix="aeps-load-")
    try:
        return measure(folder, aeps, baseline, short, rows, duration, retailers, connections, threads, options)
    finally:
        stop_all()
        shutil.rmtree(folder, ignore_errors=True)


LOAD_AT_START = os.getloadavg()


def measure(folder, aeps, baseline, short, rows, duration, retailers, connections, threads, options):
    started = time.monotonic()
    port, baseline_port = free_port(), free_port()
    database = os.path.join(folder, "aeps.sqlite")
    config = os.path.join(folder, "aeps.config")
    # Sessions: each takes at most 1,000 approvals; mint enough for every run at the fastest plausible rate.
    per_session = 1000
    with open(config, "w") as f:
        json.dump({
            "environment": "local", "partner_name": "Bench Partner",
            "initiator_logo_url": "https://files.eko.co.in/docs/logos/payment/dummy-partner-logo.png",
            "initiator_id": "9962981729", "developer_key": "becbbce45f79c6f5109f848acd540567",
            "callback_url": f"http://127.0.0.1:{port}/aeps/callback",
            "http": {"host": "127.0.0.1", "port": port},
            "database": {"path": database},
            # Inquiries after eko-responses go to a closed loopback port: they fail at once, off the answer's path.
            "eko": {"api_base": f"http://127.0.0.1:{free_port()}/v1", "read_timeout_ms": 1000},
            "policy": {"max_transactions_per_session": per_session, "session_ttl_seconds": 3600},
            "gateway_sim": {"run_with_server": False},
            "log": {"level": "warning"},
        }, f)
    server_log = os.path.join(folder, "server.log")

    log(f"registering {retailers} retailers and an API key")
    run_cli(aeps, config, "migrate")
    codes = [f"3{index:07d}" for index in range(1, retailers + 1)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda code: run_cli(aeps, config, "retailer", "add", "--user-code", code, "--name",
                                           f"Bench Shop {code}", "--password-stdin", stdin="bench-password-1\n"),
                      codes))
    created = run_cli(aeps, config, "api-key", "create", "--name", "bench")
    api_key = created.strip().rsplit(" ", 1)[-1]
    # The second database starts as this one (same retailers and key, nothing decided today), so the runs with
    # 1,000,000 stored differ from the fresh ones by the history only, not by today's rows of the first runs.
    history = os.path.join(folder, "history.sqlite")
    with sqlite3.connect(database) as source, sqlite3.connect(history) as target:
        source.backup(target)

    def start_server():
        process = start([aeps, "serve", "--config", config], server_log, env=server_env())
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, server_log)
        return process

    def mint(count, file):
        def one(code):
            _, body = http("POST", f"http://127.0.0.1:{port}/api/v1/gateway-sessions", {"user_code": code},
                           {"Authorization": f"Bearer {api_key}"})
            answer = json.loads(body)
            token = json.loads(answer["callback_url_custom_params"])["aeps_session"]
            assert json.loads(answer["callback_url_custom_headers"])["X-AePS-Session"] == token
            return f"{token} {code}\n"
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            lines = list(pool.map(one, [codes[i % len(codes)] for i in range(count)]))
        with open(file, "w") as f:
            f.writelines(lines)

    # Enough sessions for 15,000 approvals a second for the whole run, at least two per retailer.
    sessions = max(2 * retailers, (15_000 * (duration + 1)) // per_session + 1)
    url = f"http://127.0.0.1:{port}/aeps/callback"
    results = []

    def debit_run(label, process, tag, run_digit, tokens, target_url=url, database_check=True):
        idle = current_rss_mib(process.pid)
        reset_peak(process.pid)
        profiler = None
        if options.profile:
            # perf's software clock (no hardware counters in this VM), call graphs, for most of the run.
            os.makedirs(options.profile, exist_ok=True)
            profiler = subprocess.Popen(
                ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-p", str(process.pid),
                 "-o", os.path.join(options.profile, f"{tag}.perf.data"), "--", "sleep", str(max(1, duration - 1))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            children.append(profiler)
        numbers = wrk("debit-hook.lua", target_url, duration, connections, threads,
                      f"tokens={tokens}", f"tag={tag}", f"run={run_digit}", f"origin={ORIGIN}")
        numbers["rss"] = peak_rss_mib(process.pid)
        numbers["label"], numbers["kind"], numbers["idle"] = label, "debit-hook", idle
        if profiler:
            profiler.wait(timeout=60)
            children.remove(profiler)
        if database_check:
            stored = count_approved(database, tag)
            numbers["stored"] = stored
            if stored < numbers["ok"]:
                raise SystemExit(f"{label}: {numbers['ok']} approvals answered but only {stored} stored")
        results.append(numbers)
        log(f"{label}: RSS now {current_rss_mib(process.pid):.1f} MiB (anonymous "
            f"{status_mib(process.pid, 'RssAnon'):.1f}, files {status_mib(process.pid, 'RssFile'):.1f}, "
            f"shared memory {status_mib(process.pid, 'RssShmem'):.1f})")
        log(f"{label}: {numbers['rps']:.0f} req/s, p99 {numbers['p99'] / 1000:.1f} ms, "
            f"{numbers['ok']} approved, {numbers['refused']} refused, {numbers['bad']} bad")
        return numbers

    def other_run(label, kind, script, process, *args):
        idle = current_rss_mib(process.pid)
        reset_peak(process.pid)
        numbers = wrk(script, url, duration, connections, threads, *args)
        numbers["rss"] = peak_rss_mib(process.pid)
        numbers["label"], numbers["kind"], numbers["idle"] = label, kind, idle
        results.append(numbers)
        log(f"{label}: {numbers['rps']:.0f} req/s, p99 {numbers['p99'] / 1000:.1f} ms")
        return numbers

    tokens = os.path.join(folder, "tokens-0.txt")
    server = start_server()
    log(f"minting {sessions} gateway sessions through the partner API")
    mint(sessions, tokens)

    # The baseline first, on the same tokens file (it ignores them), with the server idle beside it.
    base = start([baseline, str(baseline_port)], os.path.join(folder, "baseline.log"), env=server_env())
    wait_port(baseline_port)
    if not short:
        wrk("debit-hook.lua", f"http://127.0.0.1:{baseline_port}/aeps/callback", 2, connections, threads,
            f"tokens={tokens}", "tag=warmbase", "run=0")
    debit_run("baseline route (no policy, no database)", base, "base", 0, tokens,
              target_url=f"http://127.0.0.1:{baseline_port}/aeps/callback", database_check=False)
    stop(base)

    if not short:
        wrk("debit-hook.lua", url, 2, connections, threads, f"tokens={tokens}", "tag=warm", "run=9",
            f"origin={ORIGIN}")
    fresh = debit_run("debit-hook, fresh database", server, "fresh", 1, tokens)
    other_run("eko-response, fresh database", "eko-response", "eko-response.lua", server,
              "tag=fresh", f"count={max(1, min(fresh['sent']))}", f"origin={ORIGIN}")
    other_run("preflight (OPTIONS)", "preflight", "preflight.lua", server, f"origin={ORIGIN}")
    stop(server)

    log(f"storing {rows:,} transactions in bulk")
    fill_start = time.monotonic()
    prefill(history, rows)
    database = history
    with open(config) as f:
        settings = json.load(f)
    settings["database"]["path"] = history
    with open(config, "w") as f:
        json.dump(settings, f)
    log(f"stored in {time.monotonic() - fill_start:.1f} s")
    server = start_server()
    tokens = os.path.join(folder, "tokens-1.txt")
    mint(sessions, tokens)
    if not short:
        wrk("debit-hook.lua", url, 2, connections, threads, f"tokens={tokens}", "tag=warm2", "run=8",
            f"origin={ORIGIN}")
    full = debit_run(f"debit-hook, {rows:,} stored", server, "full", 2, tokens)
    other_run(f"eko-response, {rows:,} stored", "eko-response", "eko-response.lua", server,
              "tag=full", f"count={max(1, min(full['sent']))}", f"origin={ORIGIN}")
    stop(server)

    table = render(results, results[0], connections, threads, duration, rows)
    print(table)
    failures = check(results)
    log(f"done in {time.monotonic() - started:.0f} s")
    if options.write_doc and not failures:
        write_doc(options.write_doc, table)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


def render(results, base, connections, threads, duration, rows):
    def ms(us):
        return f"{us / 1000:.2f}"
    lines = [
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
        f"(`nproc`: {os.sysconf('SC_NPROCESSORS_ONLN')}), wrk -t{threads} -c{connections} -d{duration}s on the same "
        f"machine, plain HTTP on 127.0.0.1 (TLS not measured), prefill {rows:,} rows; load average "
        f"{LOAD_AT_START[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| run | requests/s | p50 ms | p90 ms | p99 ms | max ms | approved | ratio to baseline | RSS before MiB "
        "| peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        answered = r["ok"] + r["refused"] + r["bad"]
        if r["kind"] == "debit-hook":
            share = f"{100 * r['ok'] / answered:.1f} %" if answered else "-"
            ratio = f"{r['rps'] / base['rps']:.2f}×"
        else:
            share, ratio = "-", "-"
        lines.append(f"| {r['label']} | {r['rps']:,.0f} | {ms(r['p50'])} | {ms(r['p90'])} | {ms(r['p99'])} | "
                     f"{ms(r['max'])} | {share} | {ratio} | {r['idle']:.1f} | {r['rss']:.1f} |")
    return "\n".join(lines)


def check(results):
    failures = []
    for r in results:
        if r["requests"] == 0:
            failures.append(f"{r['label']}: no requests answered")
        if r["errors"] or r["non2xx"] or r["bad"]:
            failures.append(f"{r['label']}: {r['errors']} socket errors, {r['non2xx']} non-2xx, {r['bad']} "
                            f"unexpected answers (first: {r['sample']})")
        answered = r["ok"] + r["refused"] + r["bad"]
        if r["kind"] == "debit-hook" and answered and r["ok"] / answered < MIN_APPROVAL_SHARE:
            failures.append(f"{r['label']}: approval share {100 * r['ok'] / answered:.1f} % is below "
                            f"{100 * MIN_APPROVAL_SHARE:.0f} % (first refusal: {r['sample']})")
    return failures


def write_doc(path, table):
    text = open(path).read()
    begin, end = "<!-- bench:results -->", "<!-- /bench:results -->"
    if begin not in text or end not in text:
        raise SystemExit(f"{path} has no {begin} … {end} markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(f"{head}{begin}\n{table}\n{end}{tail}")
    log(f"wrote the table into {path}")


def on_signal(number, _frame):
    raise SystemExit(128 + number)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.exit(main())
