#!/usr/bin/env python3
"""Sorts ThreadSanitizer reports into talkgate's and third-party ones.

Debian's libcpprest, libspdlog and libstdc++ are not built with TSan: objects they hand between
their own threads look unsynchronised to it. A report counts as talkgate's when either racing
access has a frame in talkgate's code (its namespaces, or a source under app/, ari-client/ or
tests/); those fail the run. The others are printed with their summary line and do not.

usage: tsan_triage.py REPORT_FILE...   exit 1 when any report is talkgate's
"""
import re
import sys

OURS = re.compile(r"\b(talkgate|ari)::|\(\.\./\.\./(app|ari-client|tests)/")
# The sections of a report that are the racing accesses (not where memory or threads came from).
ACCESS = re.compile(r"^  (Previous )?(Atomic )?(read|write)", re.IGNORECASE)
SECTION = re.compile(r"^  \S")


def reports(text):
    parts = text.split("WARNING: ThreadSanitizer:")
    return ["WARNING: ThreadSanitizer:" + p for p in parts[1:]]


def is_ours(report):
    in_access = False
    for line in report.splitlines():
        if SECTION.match(line):
            in_access = bool(ACCESS.match(line))
        elif in_access and OURS.search(line):
            return True
    return False


def main(paths):
    ours = 0
    for path in paths:
        with open(path, errors="replace") as f:
            for report in reports(f.read()):
                summary = next((l for l in report.splitlines() if l.startswith("SUMMARY")), "")
                if is_ours(report):
                    ours += 1
                    print(f"--- {path}: talkgate's code races:\n{report}", file=sys.stderr)
                else:
                    print(f"tsan_triage: third-party only (ignored): {path}: {summary}")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
