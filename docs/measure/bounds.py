#!/usr/bin/env python3
"""Measures the bounds of issue #15 against a running `gilscope serve`: stop latency for
every preset at its largest knobs, GET latency during the heaviest run, the server's peak
memory across all of it plus eight concurrent exports of the biggest trace.

    cargo build -p gilscope-server && target/debug/gilscope serve --addr 127.0.0.1:7979 &
    python3 docs/measure/bounds.py http://127.0.0.1:7979 $(pgrep -f 'gilscope serve --addr 127.0.0.1:7979')

Prints one JSON object; docs/streaming.md quotes it.
"""
import json
import statistics
import sys
import threading
import time
import urllib.request

BASE, PID = sys.argv[1], int(sys.argv[2])


def req(method, path, body=None, raw=False):
    r = urllib.request.Request(
        BASE + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(r, timeout=120) as resp:
        if raw:
            n = 0
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    return n
                n += len(chunk)
        return json.loads(resp.read() or b"null")


def vm(field):
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def largest(preset):
    knobs = {}
    for k in preset["knobs"]:
        kind = k["kind"]
        if kind["type"] in ("int", "float"):
            knobs[k["name"]] = kind["max"]
        elif kind["type"] == "bool":
            knobs[k["name"]] = True
        elif kind["type"] == "choice":
            knobs[k["name"]] = kind["default"]
    if preset["name"] == "gil-flavours":
        knobs.update(gil="ticks", check_ticks=1)  # the most events a run can make
    return knobs


def wait_state(rid, states, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        st = req("GET", f"/api/runs/{rid}")["state"]
        if st in states:
            return st
        time.sleep(0.005)
    raise SystemExit(f"run {rid} never reached {states}")


def stop_latency(spec, run_for):
    rid = req("POST", "/api/runs", spec)["id"]
    wait_state(rid, ("running", "finished", "stopped", "failed"))
    time.sleep(run_for)
    t0 = time.time()
    req("DELETE", f"/api/runs/{rid}")
    state = wait_state(rid, ("finished", "stopped", "failed"))
    return rid, time.time() - t0, state


presets = req("GET", "/api/presets")
result = {"stop_s": {}, "notes": []}
stops = []
for p in presets:
    spec = {"preset": p["name"], "knobs": largest(p)}
    rid, took, state = stop_latency(spec, 2.0)
    result["stop_s"][p["name"]] = round(took, 3)
    if state == "stopped":
        stops.append(took)
    result["peak_after_" + p["name"]] = vm("VmHWM")

# GET latency during the heaviest run.
heavy = {"preset": "gil-flavours", "knobs": {"gil": "ticks", "check_ticks": 1, "threads": 64, "work": 2000000000}}
rid = req("POST", "/api/runs", heavy)["id"]
wait_state(rid, ("running",))
gets = []
end = time.time() + 5
while time.time() < end:
    t = time.time()
    req("GET", f"/api/runs/{rid}")
    gets.append(time.time() - t)
req("DELETE", f"/api/runs/{rid}")
wait_state(rid, ("finished", "stopped", "failed"))
gets.sort()

# Eight concurrent exports of the heaviest trace.
sizes = []
def export():
    sizes.append(req("GET", f"/api/runs/{rid}/trace", raw=True))
threads = [threading.Thread(target=export) for _ in range(8)]
t = time.time()
for th in threads:
    th.start()
for th in threads:
    th.join()
export_s = time.time() - t

result.update(
    stop_p50_s=round(statistics.median(stops), 3),
    stop_p95_s=round(sorted(stops)[max(0, int(len(stops) * 0.95) - 1)], 3),
    stop_max_s=round(max(stops), 3),
    get_during_heaviest_run_p50_ms=round(gets[len(gets) // 2] * 1e3, 1),
    get_during_heaviest_run_p99_ms=round(gets[int(len(gets) * 0.99) - 1] * 1e3, 1),
    gets=len(gets),
    export_bytes=sizes[0] if sizes else 0,
    eight_exports_s=round(export_s, 1),
    peak_rss_bytes=vm("VmHWM"),
    rss_now_bytes=vm("VmRSS"),
)
print(json.dumps(result, indent=1))
