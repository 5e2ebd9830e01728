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


def expected_address_layout():
    """What pkio-bench and pkio-maxsend should report: "fixed" where this kernel lets a process
    turn address randomisation off (setarch -R does the same), "randomised" where it does not
    (a container's seccomp profile may refuse it)."""
    import subprocess
    try:
        ok = subprocess.run(["setarch", "-R", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return "fixed" if ok else "randomised"
