"""The notebook's approach to many HTTP requests: multiprocessing.pool.ThreadPool with urllib.

Standard library only. Usage: python3 fetch_threadpool.py BASE_URL COUNT THREADS
Fetches BASE_URL/data/2.5/weather?q=...&n=i for i < COUNT with THREADS threads, extracts
data['main']['temp'] like the notebook's get_temp, and prints {"ms": wall time, "ok": successes} as JSON.
"""
import json
import sys
import time
from multiprocessing.pool import ThreadPool
from urllib.parse import urlencode
from urllib.request import urlopen

CITIES = ['Boulder', 'Atlanta', 'San Francisco', 'Reno', 'Honolulu', 'Zurich', 'Dubai', 'Dublin', 'Stuttgart',
          'Rome', 'Singapore', 'Bangalore', 'Hyderabad', 'Hong Kong', 'Durham', 'New Orleans', 'Portland']


def get_temp(url):
    with urlopen(url, timeout=30) as resp:
        data = json.load(resp)
        return data['main']['temp']


def main():
    base, count, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    urls = [f"{base}/data/2.5/weather?{urlencode({'q': CITIES[i % len(CITIES)], 'units': 'metric', 'n': i})}" for i in range(count)]
    started = time.perf_counter()
    with ThreadPool(threads) as pool:
        temps = pool.map(get_temp, urls)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(json.dumps({'ms': elapsed_ms, 'ok': sum(1 for t in temps if t is not None)}))


if __name__ == '__main__':
    main()
