# %load_ext pyinst_bpf, then %%pyinstrument and %pyinstrument in an IPython shell; prints one
# JSON line: what display() got, the times of the cell's functions and the truth measured.
import json

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "pyinst_bpf")
ip.run_cell("""
import time
spent = {}
def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
def crunch():
    t0 = time.perf_counter(); spin(0.4); spent["crunch"] = time.perf_counter() - t0
def doze():
    t0 = time.perf_counter(); time.sleep(0.3); spent["doze"] = time.perf_counter() - t0
""")
with capture_output() as cap:
    ip.run_cell("%%pyinstrument\ncrunch()\ndoze()\n")
with capture_output() as line_cap:
    ip.run_cell("%pyinstrument crunch()")
data = cap.outputs[0].data
text = data["text/plain"]


def seconds(name):
    """The time on the text tree's line for name (ASCII tree: `|- 0.401 crunch  ...`)."""
    for line in text.splitlines():
        parts = line.replace("|", " ").replace("`-", " ").replace("|-", " ").split()
        for i, p in enumerate(parts[:-1]):
            if parts[i + 1] == name:
                try:
                    return float(p)
                except ValueError:
                    pass
    return 0.0


print(json.dumps({
    "mimetypes": sorted(data), "text": text, "html": data["text/html"],
    "line_text": line_cap.outputs[0].data["text/plain"] if line_cap.outputs else "",
    "crunch": seconds("crunch"), "doze": seconds("doze"), "truth": ip.user_ns["spent"],
}))
