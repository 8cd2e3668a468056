#!/usr/bin/env python3
"""Run a command; print "WALL_S CPU_S PEAK_RSS_KB".

usage: measure.py [--daemon PID] -- CMD...

Everything dirty is flushed to disk first (sync), so each tool starts on a
quiet disk.  With --daemon, the CPU time the daemon (and its live children, e.g.
containerd) spent during the command is added, and the peak RSS is the sum
of their VmHWM (dockerd + helpers) plus the client's.
"""
import os
import resource
import subprocess
import sys
import time


def tree(pid):
    pids = [pid]
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        pids += tree(int(p))
            except OSError:
                pass
    return pids


def cpu(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
        except OSError:
            pass
    return total


def hwm(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


args = sys.argv[1:]
daemon = None
if args[0] == "--daemon":
    daemon = int(args[1])
    args = args[2:]
args = args[1:]  # "--"
pids = tree(daemon) if daemon else []
# Flush what earlier steps wrote (archive, registry uploads): no tool should
# wait for another's writeback.
os.sync()
c0 = cpu(pids)
t0 = time.monotonic()
proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
# The kernel's ru_maxrss of a child also counts this Python process's pages
# from before the exec, so the command's peak is read from /proc while it runs:
# the sum over the command and its children (a shell pipeline's processes).
peak = 0
while proc.poll() is None:
    peak = max(peak, hwm(tree(proc.pid)))
    time.sleep(0.01)
wall = time.monotonic() - t0
if proc.returncode:
    sys.exit(f"measure.py: {args[0]} exited {proc.returncode}")
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu_s = ru.ru_utime + ru.ru_stime + (cpu(pids) - c0 if daemon else 0)
rss = peak + (hwm(tree(daemon)) if daemon else 0)
print(f"{wall:.3f} {cpu_s:.3f} {rss}")
