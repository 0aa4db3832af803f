#!/usr/bin/python3
"""How many tests ran, passed, failed and skipped, per ctest label.

    ctest_summary.py BUILD_DIR JUNIT_XML [--no-skips LABEL ...]

ctest writes JUNIT_XML with --output-junit; the labels come from ctest itself
(--show-only=json-v1), so every test of the build is counted, including those the run
left out. With --no-skips, a skipped test of one of those labels makes the exit code 1:
ctest counts a skip as a success, and a CI that lost its privileges would otherwise pass
with no kernel check at all.
"""
import argparse
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree


def labels_by_test(build_dir):
    listing = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build_dir, check=True,
                             capture_output=True, text=True).stdout
    labels = {}
    for test in json.loads(listing)["tests"]:
        names = [p["value"] for p in test.get("properties", []) if p["name"] == "LABELS"]
        labels[test["name"]] = names[0] if names else ["(none)"]
    return labels


def skip_reason(output):
    # GoogleTest prints the skip's message on the lines before "[  SKIPPED ]".
    lines = (output or "").splitlines()
    for index, line in enumerate(lines):
        if line.startswith("[  SKIPPED ]"):
            before = [l for l in lines[max(0, index - 3):index] if l and not l.startswith("[")]
            return " ".join(before).strip() or "no reason given"
    return "no reason given"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("junit")
    parser.add_argument("--no-skips", nargs="*", default=[], metavar="LABEL")
    args = parser.parse_args()

    labels = labels_by_test(args.build_dir)
    counts = {}
    skipped = []
    for case in ElementTree.parse(args.junit).getroot().iter("testcase"):
        name = case.get("name")
        status = case.get("status")
        kind = {"run": "passed", "fail": "failed", "skipped": "skipped",
                "disabled": "skipped", "notrun": "not run"}.get(status, status)
        for label in labels.get(name, ["(none)"]):
            row = counts.setdefault(label, {"ran": 0, "passed": 0, "failed": 0, "skipped": 0,
                                            "not run": 0})
            row[kind] = row.get(kind, 0) + 1
            if kind != "not run":
                row["ran"] += 1
            if kind == "skipped":
                skipped.append((label, name, skip_reason(case.findtext("system-out"))))

    print(f"{'label':<12} {'ran':>5} {'passed':>7} {'failed':>7} {'skipped':>8}")
    for label in sorted(counts):
        row = counts[label]
        print(f"{label:<12} {row['ran']:>5} {row['passed']:>7} {row['failed']:>7} "
              f"{row['skipped']:>8}")
    refused = 0
    for label, name, reason in skipped:
        forbidden = label in args.no_skips
        refused += forbidden
        verdict = "NOT ALLOWED" if forbidden else "skipped"
        print(f"  {verdict}: {name}: {reason}")
    if refused:
        print(f"{refused} test(s) skipped where skipping is not allowed "
              f"({', '.join(args.no_skips)}): see above")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
