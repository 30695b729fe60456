//! The Python `return-values` mirrors: the three ways, and the `shared` knob's Value.

pub const PYTHON: &str = r#"import multiprocessing as mp
import os
import tempfile
import time

PROCESSES = {{processes}}
ITEMS = {{items}}  # results, computed by PROCESSES workers
SHARED = {{shared}}  # also count the results in a shared Value: none, argument, initializer, manager


def square(x):
    return x * x


def to_file(i, d):
    with open(os.path.join(d, f"{i}.txt"), "w") as f:
        for x in range(i, ITEMS, PROCESSES):
            f.write(f"{square(x)}\n")


def to_queue(i, q):
    for x in range(i, ITEMS, PROCESSES):
        q.put(square(x))


counter = None


def init(c):  # pool initializer: the Value reaches each worker by inheritance
    global counter
    counter = c


def square_counted(x):
    with counter.get_lock():
        counter.value += 1
    return x * x


def square_managed(args):
    x, value, lock = args  # proxies of a Manager's objects can be pickled
    with lock:
        value.value += 1
    return x * x


def files():
    with tempfile.TemporaryDirectory() as d:
        ps = [mp.Process(target=to_file, args=(i, d)) for i in range(PROCESSES)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        out = []
        for i in range(PROCESSES):
            with open(os.path.join(d, f"{i}.txt")) as f:
                out += [int(line) for line in f]
        return out


def queue():
    q = mp.Queue()
    ps = [mp.Process(target=to_queue, args=(i, q)) for i in range(PROCESSES)]
    for p in ps:
        p.start()
    out = [q.get() for _ in range(ITEMS)]
    for p in ps:
        p.join()
    return out


def pool():
    if SHARED == "initializer":
        v = mp.Value("i", 0)
        with mp.Pool(PROCESSES, initializer=init, initargs=(v,)) as p:
            out = p.map(square_counted, range(ITEMS))
        assert v.value == ITEMS
        return out
    if SHARED == "manager":
        with mp.Manager() as m:
            v, lock = m.Value("i", 0), m.Lock()
            with mp.Pool(PROCESSES) as p:
                out = p.map(square_managed, [(x, v, lock) for x in range(ITEMS)])
            assert v.value == ITEMS
            return out
    if SHARED == "argument":
        v = mp.Value("i", 0)
        try:
            with mp.Pool(PROCESSES) as p:
                p.map(square_managed, [(x, v, v.get_lock()) for x in range(ITEMS)])
        except RuntimeError as e:
            print(f"RuntimeError: {e}")
    with mp.Pool(PROCESSES) as p:
        return p.map(square, range(ITEMS))


if __name__ == "__main__":
    for way in (files, queue, pool):
        start = time.perf_counter()
        out = way()
        ms = (time.perf_counter() - start) * 1e3
        assert sorted(out) == [x * x for x in range(ITEMS)]
        print(f"{way.__name__}: {ms:.1f} ms")
"#;
