#!/usr/bin/env python3
"""Times whole commands alternating, so a noisy machine's drift falls on all of them alike.

    python3 bench/alternate.py ROUNDS NAME='COMMAND ...' [NAME='COMMAND ...' ...]

Each round runs every command once, in the order given (stdout and stderr to /dev/null, arguments
split as a shell would, no shell started); a command that exits non-zero stops the run. Prints the
median, the quartile and the best wall-clock time of each. Used for `gen speech` against flite in
models/vocoder/MODEL_CARD.md:

    S="the quick brown fox jumps over the lazy dog"
    python3 bench/alternate.py 50 gen=".build/release/gen speech '$S' -o /tmp/g.wav" \\
        flite="flite -voice slt -t '$S' -o /tmp/f.wav"
"""
import shlex
import statistics
import subprocess
import sys
import time


def main(argv):
    if len(argv) < 3 or not argv[1].isdigit() or any("=" not in a for a in argv[2:]):
        sys.exit(__doc__)
    rounds = int(argv[1])
    commands = dict((name, shlex.split(cmd)) for name, cmd in (a.split("=", 1) for a in argv[2:]))
    times = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            start = time.perf_counter()
            done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"{name}: exit status {done.returncode}: {shlex.join(cmd)}")
    for name, t in times.items():
        t.sort()
        print(f"{name:12s} median {statistics.median(t) * 1000:7.1f} ms   p25 {t[len(t) // 4] * 1000:7.1f}   best {t[0] * 1000:7.1f}   ({rounds} runs)")


if __name__ == "__main__":
    main(sys.argv)
