"""The notebook's CPU lesson, run with the machine's python3 (standard library only).

Usage: notebook_pool.py <target_ms_per_item> <items> <repeats>. Finds the n for which much_cpu(n) takes
about target_ms here, then prints one JSON line: seconds for the inline loop, for N independent processes
doing the same split, and for multiprocessing.Pool.map, on `items` calls of much_cpu(n).
"""
import json
import sys
import time
from multiprocessing import Pool, Process, cpu_count


def much_cpu(n):
    result = 0
    for i in range(n):
        result += i * i
    return result


def run_share(n, count):
    for _ in range(count):
        much_cpu(n)


def calibrate(target_ms):
    n = 100_000
    while True:
        t = time.perf_counter()
        much_cpu(n)
        ms = (time.perf_counter() - t) * 1000
        if ms > target_ms / 4:
            return max(1, round(n * target_ms / ms))
        n *= 2


def main():
    target_ms, items, repeats = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    n = calibrate(target_ms)
    processes = cpu_count()
    inline, independent, pool = [], [], []
    with Pool(processes) as p:
        p.map(much_cpu, [1000] * processes)  # warm the pool, as chunkmill's workers are warm
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(items):
                much_cpu(n)
            inline.append(time.perf_counter() - t)

            shares = [items // processes + (1 if k < items % processes else 0) for k in range(processes)]
            procs = [Process(target=run_share, args=(n, share)) for share in shares]
            t = time.perf_counter()
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join()
            independent.append(time.perf_counter() - t)

            t = time.perf_counter()
            results = p.map(much_cpu, [n] * items, chunksize=1)
            pool.append(time.perf_counter() - t)
            assert results[0] == much_cpu(n)
    print(json.dumps({"n": n, "processes": processes, "inline": inline, "independent": independent, "pool": pool}))


if __name__ == "__main__":
    main()
