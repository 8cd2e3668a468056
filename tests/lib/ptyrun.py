#!/usr/bin/env python3
"""Run a command on a fresh pseudo-terminal, as a user at a terminal would.

  ptyrun.py [--size RxC] [STEP...] -- CMD [ARG...]

The pty's window starts at RxC.  Everything the command writes to the
terminal is copied to stdout, byte for byte.  The steps run in order:

  --expect TEXT          wait until the output so far holds TEXT
  --send TEXT            type TEXT (Python escapes: \\n, \\x04)
  --resize RxC           change the window size (the command gets SIGWINCH)
  --send-until TEXT PAT  type TEXT until the output after it holds PAT: for
                         what reaches the command asynchronously (a resize)

Exits with the command's exit status (128+N for signal N).  With
--check-restored it exits 98 instead when the terminal's modes after the
command are not the ones it started with (a raw mode left behind).  A step
that waits more than 60 s fails with exit 97 and the output so far on stderr.
"""
import fcntl
import os
import select
import struct
import sys
import termios
import time

TIMEOUT = 60


def winsize(fd, spec):
    rows, cols = (int(x) for x in spec.split("x"))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main(argv):
    steps, size, check = [], "24x80", False
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--size":
            size = argv.pop(0)
        elif opt == "--check-restored":
            check = True
        elif opt in ("--expect", "--send", "--resize"):
            steps.append((opt, argv.pop(0)))
        elif opt == "--send-until":
            steps.append((opt, (argv.pop(0), argv.pop(0))))
        else:
            sys.exit("ptyrun.py: unknown option " + opt)
    cmd = argv[1:]
    if not cmd:
        sys.exit(__doc__)
    master, slave = os.openpty()
    winsize(slave, size)
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        os.execvp(cmd[0], cmd)
    out = bytearray()
    closed = False

    def pump(wait):
        """False once the terminal is closed; None when nothing came in wait s."""
        nonlocal closed
        if closed:
            return False
        r, _, _ = select.select([master], [], [], wait)
        if not r:
            return None
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            closed = True
            return False
        out.extend(data)
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return True

    def wait_for(text, start):
        deadline = time.monotonic() + TIMEOUT
        while text not in out[start:]:
            if time.monotonic() > deadline or pump(0.2) is False:
                if text in out[start:]:
                    return
                sys.stderr.write("ptyrun.py: no %r in the output: %r\n" % (text, bytes(out)))
                os.kill(pid, 9)
                sys.exit(97)

    for kind, arg in steps:
        if kind == "--expect":
            wait_for(arg.encode().decode("unicode_escape").encode("latin-1"), 0)
        elif kind == "--send":
            os.write(master, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif kind == "--resize":
            winsize(master, arg)
        else:
            text = arg[0].encode().decode("unicode_escape").encode("latin-1")
            pat = arg[1].encode()
            for _ in range(50):
                start = len(out)
                os.write(master, text)
                # the reply to this line, then is the pattern in it
                deadline = time.monotonic() + 0.5
                while time.monotonic() < deadline and pump(0.1) is not False:
                    if pat in out[start:]:
                        break
                if pat in out[start:]:
                    break
            else:
                wait_for(pat, len(out))
    # the command's output until it exits (EIO once every holder of the slave closed it)
    while pump(1.0) is not False:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got:
            while pump(0.1):
                pass  # what is still buffered
            break
    else:
        _, status = os.waitpid(pid, 0)
    if check and termios.tcgetattr(slave) != before:
        sys.stderr.write("ptyrun.py: the terminal's modes were not restored\n")
        sys.exit(98)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main(sys.argv[1:])
