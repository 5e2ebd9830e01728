#!/usr/bin/env python3
"""Prints one closing line "N passed, N failed" over the meson test logs given as arguments."""
import json
import sys

passed = failed = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            result = json.loads(line).get("result")
            if result == "OK":
                passed += 1
            elif result in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"):
                failed += 1
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or not passed else 0)
