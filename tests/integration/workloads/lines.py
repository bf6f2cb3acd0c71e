# A hot loop on known lines: reports the f_lineno values the frame itself shows there.
import json
import sys
import time

DURATION = float(sys.argv[1])
seen = set()


def hot():
    end = time.perf_counter() + DURATION
    while time.perf_counter() < end:
        seen.add(sys._getframe().f_lineno)
        total = sum(range(300))
        seen.add(sys._getframe().f_lineno)
    return total


hot()
with open(sys.argv[2], "w") as f:
    json.dump({"lines": sorted(seen), "firstline": hot.__code__.co_firstlineno}, f)
