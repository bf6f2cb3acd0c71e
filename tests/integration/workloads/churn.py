# Thousands of short-lived functions made by exec, each freed after it ran; exits at once.
# Functions run in order f_0, f_1, ...: a profile that names a sample after an older function
# (a freed code object whose address was reused) shows up as an index going backwards.
# --nap: each function ends in a short sleep, so the thread leaves its CPU between functions
# while wall mode's iterator mostly finds it running (its off-CPU time at exit is then charged
# to the stack of its last walk, however old).
import sys
import time

COUNT = int(sys.argv[1])
NAP = "    time.sleep(0.00001)\n" if "--nap" in sys.argv[2:] else ""
for i in range(COUNT):
    ns = {}
    src = ("def f_%d():\n    end = t() + 0.0008\n    while t() < end:\n        pass\n" % i) + NAP
    exec(compile(src, "<churn-%d>" % i, "exec"), {"t": time.perf_counter, "time": time}, ns)
    ns["f_%d" % i]()
    del ns
