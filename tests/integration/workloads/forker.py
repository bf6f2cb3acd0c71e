# Starts argv[1] children that exit at once (/bin/true, spawned: cheaper than a fork of
# Python), then forks one that runs late_child() for argv[2] s.
# More short-lived children than the kernel's follow table holds (PYI_MAX_PROCS): the late
# child is followed only if exited children leave the table.
import os
import sys
import time


def late_child(seconds):
    end = time.time() + seconds
    while time.time() < end:
        sum(range(300))


def main():
    n, seconds = int(sys.argv[1]), float(sys.argv[2])
    for _ in range(n):
        os.waitpid(os.posix_spawn("/bin/true", ["true"], {}), 0)
    pid = os.fork()
    if pid == 0:
        late_child(seconds)
        os._exit(0)
    os.waitpid(pid, 0)


main()
