# Methods, classmethods and a plain function, each about a third of the CPU; writes the truth it
# measured to argv[2]. On 3.14+ the callee's self arrives as a borrowed (tagged) stack reference.
import json
import sys
import time

DURATION = float(sys.argv[1])
spent = {"area": 0.0, "build": 0.0, "plain": 0.0}


def work(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


class Shape:
    def __init__(self, n):
        self.n = n

    def area(self):
        return work(self.n)

    @classmethod
    def build(cls, n):
        work(n)
        return cls(n)


def plain(n):
    return work(n)


def main():
    shape = Shape(20000)
    end = time.perf_counter() + DURATION
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        shape.area()
        t1 = time.perf_counter()
        Shape.build(20000)
        t2 = time.perf_counter()
        plain(20000)
        t3 = time.perf_counter()
        spent["area"] += t1 - t0
        spent["build"] += t2 - t1
        spent["plain"] += t3 - t2
    with open(sys.argv[2], "w") as f:
        json.dump(spent, f)


main()
