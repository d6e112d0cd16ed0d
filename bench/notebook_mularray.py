"""The notebook's array multiply, run with the machine's python3 (standard library only).

Usage: notebook_mularray.py <elements> <repeats>. Builds X and Y of random floats (not timed), then times
the notebook's `mularray` (a list comprehension over zip) in one process, and its multiprocessing.Pool
version (Run #2: imap over 16 row blocks, the parts joined), and prints one JSON line of seconds.
"""
import json
import random
import sys
import time
from multiprocessing import Pool

COLS = 16
X = []
Y = []


def mularray(X, Y):
    return [x * y for x, y in zip(X, Y)]


def pmul(bounds):
    start, end = bounds
    return mularray(X[start:end], Y[start:end])


def main():
    global X, Y
    elements, repeats = int(sys.argv[1]), int(sys.argv[2])
    X = [random.random() for _ in range(elements)]
    Y = [random.random() for _ in range(elements)]
    rows = -(-elements // COLS)
    blocks = [(c * rows, min(elements, (c + 1) * rows)) for c in range(COLS)]
    single, pool = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        Z = mularray(X, Y)
        single.append(time.perf_counter() - t)
        assert len(Z) == elements
    # The pool is forked after X and Y exist, as in the notebook: the children inherit them.
    with Pool() as p:
        t = time.perf_counter()
        Z = []
        for part in p.imap(pmul, blocks):
            Z += part
        pool.append(time.perf_counter() - t)
        assert len(Z) == elements
    print(json.dumps({"elements": elements, "single": single, "pool": pool}))


if __name__ == "__main__":
    main()
