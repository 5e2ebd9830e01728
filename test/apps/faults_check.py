"""Bad values, files, outputs and signals: the checks pkio-bench and pkio-maxsend share (pkio-gen's
are in gen_cli_test.py). Each case must end with one line and its documented exit status."""
import json
import os
import signal
import subprocess
import time

from cli_check import check


def one_line(r, program):
    return len([line for line in r.stderr.splitlines() if line.startswith(program + ":")]) == 1


def bad_values(app, program, cases):
    for args in cases:
        r = subprocess.run([app, "--"] + args, capture_output=True, text=True, timeout=60)
        check(f"{program} {args!r} exits 2 with one line", r.returncode == 2 and one_line(r, program)
              and "\x1b" not in r.stderr, r.stderr[-300:])


def outputs(app, program, quick, tmp):
    """Outputs checked before measuring; a full disk, a closed pipe and the same path twice."""
    r = subprocess.run([app, "--"] + quick + ["--json", os.path.join(tmp, "no", "such", "dir.json")],
                       capture_output=True, text=True, timeout=60)
    check(f"{program}: a --json that cannot be opened exits 2 before measuring",
          r.returncode == 2 and one_line(r, program) and "No such file" in r.stderr and "Mpps" not in r.stdout,
          r.stderr[-300:])
    r = subprocess.run([app, "--"] + quick + ["--json", "/dev/full"], capture_output=True, text=True, timeout=120)
    check(f"{program}: --json /dev/full exits 3 with the reason", r.returncode == 3 and "No space" in r.stderr,
          r.stderr[-300:])
    report = os.path.join(tmp, program + ".json")
    p = subprocess.Popen(f"'{app}' -- {' '.join(quick)} --json '{report}' | head -1", shell=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.communicate(timeout=120)
    ok = os.path.exists(report) and json.load(open(report)) is not None
    check(f"{program}: a pipe closed early (| head -1) does not cost the JSON report", ok)


def early_signals(app, program, quick):
    """A signal at any moment once main has started (the first tens of ms go to the dynamic loader
    mapping DPDK's libraries: nothing of the program runs yet) ends the run with exit 0."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        for delay in (0.1, 0.3, 0.6):
            p = subprocess.Popen([app, "--"] + quick, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(delay)
            p.send_signal(sig)
            try:
                out, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                check(f"{program}: {sig.name} after {delay}s ends within 60 s", False)
                continue
            check(f"{program}: {sig.name} after {delay}s ends with exit 0", p.returncode == 0,
                  f"rc={p.returncode} {err[-200:]}")
