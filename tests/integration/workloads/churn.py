# Thousands of short-lived functions made by exec, each freed after it ran; exits at once.
# Functions run in order f_0, f_1, ...: a profile that names a sample after an older function
# (a freed code object whose address was reused) shows up as an index going backwards.
import sys
import time

COUNT = int(sys.argv[1])
for i in range(COUNT):
    ns = {}
    src = "def f_%d():\n    end = t() + 0.0008\n    while t() < end:\n        pass\n" % i
    exec(compile(src, "<churn-%d>" % i, "exec"), {"t": time.perf_counter}, ns)
    ns["f_%d" % i]()
    del ns
