#!/usr/bin/env python3
"""Compile JSON Lines releases with a reference merger, for bench/compile.sh.

Usage: reference_compile.py {ocdsmerge,ocdsmerge-rs} SCHEMA IN.jsonl OUT.jsonl [--versioned]

Groups releases by ocid in order of first appearance (as ocdskit does) and writes one
compiled (or versioned) release per line. The schema is a local file: there is no internet.
"""

import json
import sys


def main():
    tool, schema_path, in_path, out_path = sys.argv[1:5]
    versioned = "--versioned" in sys.argv[5:]
    with open(schema_path) as f:
        schema = json.load(f)
    if tool == "ocdsmerge":
        import ocdsmerge

        merger = ocdsmerge.Merger(schema=schema)
        merge = merger.create_versioned_release if versioned else merger.create_compiled_release
    elif tool == "ocdsmerge-rs":
        import ocdsmerge_rs

        merger = ocdsmerge_rs.Merger(rules=ocdsmerge_rs.Merger.get_rules(ocdsmerge_rs.Merger.dereference(schema)))
        merge = merger.create_versioned_release if versioned else merger.create_compiled_release
    else:
        sys.exit(f"unknown tool {tool}")

    by_ocid = {}
    with open(in_path) as f:
        for line in f:
            if line.strip():
                release = json.loads(line)
                by_ocid.setdefault(release["ocid"], []).append(release)
    with open(out_path, "w") as out:
        for releases in by_ocid.values():
            # ocdsmerge-rs requires date order; ocdsmerge sorts itself (stable).
            releases.sort(key=lambda r: r.get("date", ""))
            out.write(json.dumps(merge(releases), ensure_ascii=False, separators=(",", ":")))
            out.write("\n")


if __name__ == "__main__":
    main()
