"""Shared by the app CLI tests: prints one line per check and the closing count."""
import sys

passes = 0
failures = 0


def check(name, condition, detail=""):
    global passes, failures
    print(("ok   " if condition else "FAIL ") + name + (("  " + detail) if detail and not condition else ""))
    if condition:
        passes += 1
    else:
        failures += 1


def finish():
    print("%d passed, %d failed" % (passes, failures))
    sys.exit(1 if failures else 0)
