#!/usr/bin/env python3
"""Compare two JSON Lines files of compiled/versioned releases as JSON values, keyed by ocid.

Usage: compare_outputs.py EXPECTED.jsonl ACTUAL.jsonl [LIMIT]
Exits 1 and shows the first differences when any ocid's output differs or is missing.
"""

import json
import sys


def load(path):
    items = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                item = json.loads(line)
                items[item["ocid"]] = item
    return items


def main():
    expected, actual = load(sys.argv[1]), load(sys.argv[2])
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
    ocids = list(expected)[:limit] if limit else list(expected)
    bad = [ocid for ocid in ocids if expected[ocid] != actual.get(ocid)]
    extra = set(actual) - set(expected)
    print(f"compared {len(ocids)} ocids: {len(ocids) - len(bad)} equal, {len(bad)} different, {len(extra)} unexpected")
    for ocid in bad[:3]:
        print(f"  {ocid}:\n    expected {json.dumps(expected[ocid])[:400]}\n    actual   {json.dumps(actual.get(ocid))[:400]}")
    sys.exit(1 if bad or extra else 0)


if __name__ == "__main__":
    main()
