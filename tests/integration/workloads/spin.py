# Spins for argv[1] seconds; argv[2] is a marker for finding the process.
import sys
import time


def spin(seconds):
    end = time.time() + seconds
    while time.time() < end:
        sum(range(300))


spin(float(sys.argv[1]))
