"""Measures the multiprocessing figures gilscope is calibrated against (docs/processes.md).

Run: python3 docs/calibration/measure_mp.py   (about 30 s; run it on a quiet machine)
Prints one JSON object. Each figure is the best (fastest) of REPEAT runs after a warm-up,
because a shared 2-core machine only ever makes things slower.
"""
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time

REPEAT = 3
N = 100_000


def best(f, repeat=REPEAT):
    return min(f() for _ in range(repeat))


def warm_up():
    end = time.perf_counter() + 1.5
    x = 0
    while time.perf_counter() < end:
        for i in range(10_000):
            x += i


def noop():
    pass


def process_start():
    # p.start() .. target running, seen from the child's first instruction (fork method).
    def once():
        q = mp.SimpleQueue()
        t0 = time.monotonic()
        p = mp.Process(target=_report, args=(q,))
        p.start()
        t1 = q.get()
        p.join()
        return t1 - t0
    return sorted(once() for _ in range(9))[4]


def _report(q):
    q.put(time.monotonic())


def start_join():
    def once():
        t0 = time.perf_counter()
        p = mp.Process(target=noop)
        p.start()
        p.join()
        return time.perf_counter() - t0
    return sorted(once() for _ in range(9))[4]


def _consume(q, n):
    for _ in range(n):
        q.get()


def queue_1to1(n=N):
    def once():
        q = mp.Queue()
        c = mp.Process(target=_consume, args=(q, n))
        c.start()
        t0 = time.perf_counter()
        for i in range(n):
            q.put(i)
        c.join()
        return time.perf_counter() - t0
    return n / best(once)


def _sem_consumer(v, full, empty, n):
    total = 0
    for _ in range(n):
        full.acquire()
        total += v.value
        empty.release()


def value_semaphores(n=N):
    def once():
        v = mp.Value("q", 0)
        full, empty = mp.Semaphore(0), mp.Semaphore(1)
        c = mp.Process(target=_sem_consumer, args=(v, full, empty, n))
        c.start()
        t0 = time.perf_counter()
        for i in range(n):
            empty.acquire()
            v.value = i
            full.release()
        c.join()
        return time.perf_counter() - t0
    return n / best(once)


def _poll_consumer(v, seq, n):
    seen = 0
    while seen < n:
        with v.get_lock():
            if seq.value > seen:
                seen = seq.value
    return seen


def _poll_consumer_each(v, seq, n):
    got = 0
    while got < n:
        with seq.get_lock():
            if seq.value == 1:  # a message waits
                x = v.value
                seq.value = 0
                got += 1


def value_polled(n=N):
    # The producer writes a message and raises a flag under the lock; the consumer polls
    # the flag under the lock and takes the message: one message per hand-over.
    def once():
        v = mp.Value("q", 0, lock=False)
        seq = mp.Value("i", 0)
        c = mp.Process(target=_poll_consumer_each, args=(v, seq, n))
        c.start()
        t0 = time.perf_counter()
        sent = 0
        while sent < n:
            with seq.get_lock():
                if seq.value == 0:
                    v.value = sent
                    seq.value = 1
                    sent += 1
        c.join()
        return time.perf_counter() - t0
    return n / best(once)


def value_increment_ns(lock, n=200_000):
    v = mp.Value("i", 0)
    def once():
        t0 = time.perf_counter()
        if lock:
            for _ in range(n):
                with v.get_lock():
                    v.value += 1
        else:
            for _ in range(n):
                v.value += 1
        return time.perf_counter() - t0
    return best(once) / n * 1e9


def _inc(v, n, lock):
    if lock:
        for _ in range(n):
            with v.get_lock():
                v.value += 1
    else:
        for _ in range(n):
            v.value += 1


def shared_value(procs, n, lock):
    v = mp.Value("i", 0)
    ps = [mp.Process(target=_inc, args=(v, n, lock)) for _ in range(procs)]
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    return v.value, time.perf_counter() - t0


def square(x):
    return x * x


def pool_map_us_per_item(n=10_000):
    with mp.Pool(2) as pool:
        pool.map(square, range(100))
        def once():
            t0 = time.perf_counter()
            pool.map(square, range(n))
            return time.perf_counter() - t0
        return best(once) / n * 1e6


def apply_async_us_per_task(n=2_000):
    with mp.Pool(2) as pool:
        pool.map(square, range(100))
        def once():
            t0 = time.perf_counter()
            rs = [pool.apply_async(square, (x,)) for x in range(n)]
            [r.get() for r in rs]
            return time.perf_counter() - t0
        return best(once) / n * 1e6


def count(n):
    x = 0
    for i in range(n // 7):
        x += i
    return x


def cpu_processes(procs, work=100_000_000):
    def par():
        ps = [mp.Process(target=count, args=(work // procs,)) for _ in range(procs)]
        t0 = time.perf_counter()
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        return time.perf_counter() - t0
    t0 = time.perf_counter()
    count(work)
    seq = time.perf_counter() - t0
    return seq / par()


def _results_file(i, items, d):
    with open(os.path.join(d, f"{i}.txt"), "w") as f:
        for x in items:
            f.write(f"{x * x}\n")


def _results_queue(items, q):
    for x in items:
        q.put(x * x)


def return_values(n=10_000, workers=4):
    parts = [range(i, n, workers) for i in range(workers)]
    def files():
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            ps = [mp.Process(target=_results_file, args=(i, parts[i], d)) for i in range(workers)]
            for p in ps:
                p.start()
            for p in ps:
                p.join()
            out = []
            for i in range(workers):
                with open(os.path.join(d, f"{i}.txt")) as f:
                    out += [int(line) for line in f]
            assert len(out) == n
            return time.perf_counter() - t0
    def queue():
        q = mp.Queue()
        t0 = time.perf_counter()
        ps = [mp.Process(target=_results_queue, args=(parts[i], q)) for i in range(workers)]
        for p in ps:
            p.start()
        out = [q.get() for _ in range(n)]
        for p in ps:
            p.join()
        return time.perf_counter() - t0
    def pool():
        t0 = time.perf_counter()
        with mp.Pool(workers) as pl:
            out = pl.map(square, range(n))
        return time.perf_counter() - t0
    return {k: best(f) * 1e3 for k, f in [("file", files), ("queue", queue), ("pool", pool)]}


def _put_one(q, n, go):
    for i in range(n):
        go.acquire()
        q.put(i)


def empty_while_item(tries=1000):
    # In the same process: put, then ask empty() and qsize() at once.
    q = mp.Queue()
    c = mp.Process(target=_consume, args=(q, tries))
    c.start()
    mism = 0
    for i in range(tries):
        q.put(i)
        if q.empty() and q.qsize() >= 1:
            mism += 1
    c.join()
    return mism


if __name__ == "__main__":
    mp.set_start_method("fork")
    warm_up()
    out = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    out["process_start_ms"] = process_start() * 1e3
    out["start_join_ms"] = start_join() * 1e3
    out["queue_1to1_per_s"] = queue_1to1()
    out["value_semaphores_per_s"] = value_semaphores()
    out["value_polled_per_s"] = value_polled()
    out["value_inc_ns"] = value_increment_ns(False)
    out["value_inc_lock_ns"] = value_increment_ns(True)
    total, wall = shared_value(4, 100_000, False)
    out["shared_value_4x100k_lost_pct"] = 100 * (1 - total / 400_000)
    out["shared_value_nolock_s"] = wall
    total, wall = shared_value(4, 100_000, True)
    out["shared_value_lock_exact"] = total == 400_000
    out["shared_value_lock_s"] = wall
    out["pool_map_us_per_item"] = pool_map_us_per_item()
    out["apply_async_us_per_task"] = apply_async_us_per_task()
    out["cpu_processes_speedup_2"] = cpu_processes(2)
    out["cpu_processes_speedup_4"] = cpu_processes(4)
    out["return_values_ms"] = return_values()
    out["empty_true_while_item_of_1000"] = empty_while_item()
    print(json.dumps(out, indent=1))
