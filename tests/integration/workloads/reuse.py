# A pid reused: a child runs first_life() and exits; a second child is created with the same
# pid (clone3 with set_tid, root only) and execs this script to run second_life(). Each life
# must have its own session. argv[1]: seconds each; argv[2] == "second" in the second life.
import ctypes
import os
import struct
import sys
import time

SYS_CLONE3 = 435
SIGCHLD = 17


def burn(seconds):
    end = time.time() + seconds
    while time.time() < end:
        sum(range(300))


def first_life(seconds):
    burn(seconds)


def second_life(seconds):
    burn(seconds)


def clone_with_pid(pid):
    """fork() into the given pid: clone3's set_tid (CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    tid = (ctypes.c_int * 1)(pid)
    args = ctypes.create_string_buffer(struct.pack(
        "11Q", 0, 0, 0, 0, SIGCHLD, 0, 0, 0, ctypes.addressof(tid), 1, 0))
    return libc.syscall(SYS_CLONE3, args, ctypes.c_size_t(88)), ctypes.get_errno()


def main():
    seconds = float(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "second":
        second_life(seconds)
        return
    pid = os.fork()
    if pid == 0:
        first_life(seconds)
        os._exit(0)
    os.waitpid(pid, 0)
    time.sleep(0.2)
    child, err = clone_with_pid(pid)
    if child == 0:
        os.execv(sys.executable, [sys.executable, sys.argv[0], sys.argv[1], "second"])
    if child < 0:
        print("clone3 set_tid: errno %d" % err, file=sys.stderr)
        sys.exit(3)
    os.waitpid(child, 0)
    print("reused %d" % child, file=sys.stderr)


main()
