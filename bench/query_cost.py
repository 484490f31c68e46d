"""CPU cost of parsing one query string, per shape: the worst a client can send, in milliseconds.

Each shape is a query as long as a client may send: as many pairs as fit in the default URL limit
(8 KiB), at most 1,000 (the default parameter limit); `--pairs 1000` ignores the URL limit, for
the worst case of a larger `HOOKLINE_URL_LIMIT`. Each is built to hit a different path of the qs
rules: many repeats of one key, many distinct keys, deep and unbalanced brackets, indices around
the list limit, sparse and huge indices, list/object conflicts, percent-encoded brackets and
Object.prototype names. The figure is the median CPU time (of this thread) of `--runs` parses.

    taskset -c 0 .venv/bin/python bench/query_cost.py
    taskset -c 0 .venv/bin/python bench/query_cost.py --qs-codec   # also qs_codec, the old parser
    taskset -c 0 .venv/bin/python bench/query_cost.py --pairs 1000

`--qs-codec` times `qs_codec.decode` (a test dependency) on the same queries, with the same
options: what hookline used for any query with brackets before it had its own parser.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from hookline.trigger.query import parse_query

PAIRS = 1000
"""hookline's default `HOOKLINE_QUERY_PARAMETER_LIMIT`."""

URL_LIMIT = 8 * 1024
"""hookline's default `HOOKLINE_URL_LIMIT`, in bytes: the query cannot be longer."""


def _pairs(make: Callable[[int], str]) -> Callable[[int, int], str]:
    """A shape: the query of pairs `make(0)`, `make(1)`, … that fits in a byte and a pair budget."""

    def build(max_bytes: int, max_pairs: int) -> str:
        pairs: list[str] = []
        size = -1
        for n in range(max_pairs):
            pair = make(n)
            size += len(pair) + 1
            if size > max_bytes:
                break
            pairs.append(pair)
        return "&".join(pairs)

    return build


def _one(query: str) -> Callable[[int, int], str]:
    """A shape of one pair, already within the URL limit."""
    return lambda max_bytes, max_pairs: query


SHAPES: dict[str, Callable[[int, int], str]] = {
    "k{i}=v (flat, distinct)": _pairs(lambda n: f"k{n}=v"),
    "a=v (one key repeated)": _pairs(lambda n: "a=v"),
    "a[]=v": _pairs(lambda n: "a[]=v"),
    "a[b]=v": _pairs(lambda n: "a[b]=v"),
    "a[b][]=v": _pairs(lambda n: "a[b][]=v"),
    "k{i}[x]=v (distinct)": _pairs(lambda n: f"k{n}[x]=v"),
    "a[b][c][d][e][f{i}]=v (deep)": _pairs(lambda n: f"a[b][c][d][e][f{n}]=v"),
    "a[b]{i}=v (aliases of one path)": _pairs(lambda n: f"a[b]{n}=v"),
    "a[{i}]=v (indices 0..999)": _pairs(lambda n: f"a[{n}]=v"),
    "a[99..101] mix": _pairs(lambda n: f"a[{99 + n % 3}]=v"),
    "a[{i%100}][{i}]=v (sparse)": _pairs(lambda n: f"a[{n % 100}][{n}]=v"),
    "k{i}[99]=v (sparse, distinct)": _pairs(lambda n: f"k{n}[99]=v"),
    "k{i}=v&k{i}[99]=v (list overflow)": _pairs(lambda n: f"k{n // 2}=v" if n % 2 else f"k{n // 2}[99]=v"),
    "a[{i}][b]=v&a[{i}]=v (conflicts)": _pairs(lambda n: f"a[{n // 2}][b]=v" if n % 2 else f"a[{n // 2}]=v"),
    "a[b]=v&a=v&a[c{i}]=v (mixed)": _pairs(lambda n: ("a[b]=v", "a=v", f"a[c{n}]=v")[n % 3]),
    "a[{huge i}]=v": _pairs(lambda n: f"a[{10**20 + n * 10**5}]=v"),
    "a%5Bb%5D%5B%5D=v (encoded)": _pairs(lambda n: "a%5Bb%5D%5B%5D=v"),
    "a[__proto__][b]=v, toString=v": _pairs(lambda n: "a[__proto__][b]=v" if n % 2 else "toString=v"),
    "a[[b]]{i}=v (nested groups)": _pairs(lambda n: f"a[[b]]{n}=v"),
    "[[]...[]] 4,000 alternating": _one("[" + "[]" * 4000 + "]=v"),
    "[[[... 8,000 brackets": _one("[" * 8000 + "=v"),
    "a[[[...]]] 4,000 nested": _one("a" + "[" * 4000 + "]" * 4000 + "=v"),
    "a[b][c]... 2,000 groups": _one("a" + "[b]" * 2000 + "=v"),
    "8 KB of %E2%9C%93 in one value": _one("a=" + "%E2%9C%93" * 900),
}


def median_ms(parse: Callable[[str], Any], query: str, runs: int) -> float:
    """The median wall time of `runs` parses of `query`, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.thread_time()
        parse(query)
        times.append(time.thread_time() - started)
    return statistics.median(times) * 1000


def _qs_codec() -> Callable[[str], Any]:
    from qs_codec import DecodeOptions, decode

    options = DecodeOptions(list_limit=100, depth=5, parameter_limit=10**6, strict_null_handling=True)
    return lambda query: decode(query, options)


def main() -> None:
    """Print the cost of each shape: bytes, pairs, and milliseconds per parse."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="parses per shape (default 9)")
    parser.add_argument("--qs-codec", action="store_true", help="also time qs_codec.decode")
    parser.add_argument(
        "--pairs", type=int, help="pairs per shape, ignoring the URL limit (default: what fits in 8 KiB)"
    )
    args = parser.parse_args()
    old = _qs_codec() if args.qs_codec else None
    max_bytes, max_pairs = (URL_LIMIT, PAIRS) if args.pairs is None else (10**9, args.pairs)
    header = f"{'shape':<38} {'bytes':>6} {'pairs':>5} {'ms':>7}"
    print(header + (f" {'qs_codec ms':>11}" if old else ""))
    worst = 0.0
    for name, shape in SHAPES.items():
        query = shape(max_bytes, max_pairs)
        cost = median_ms(parse_query, query, args.runs)
        worst = max(worst, cost)
        line = f"{name:<38} {len(query):>6} {query.count('&') + 1:>5} {cost:>7.2f}"
        if old is not None:
            line += f" {median_ms(old, query, max(3, args.runs // 3)):>11.2f}"
        print(line)
    print(f"worst: {worst:.2f} ms")


if __name__ == "__main__":
    main()
