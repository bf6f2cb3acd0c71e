# SPDX-License-Identifier: MIT
"""The CPython interpreters found on this machine: pyenv's 3.6 to 3.13 and /usr/bin's."""
import glob
import os
import re
import subprocess

MIN_VERSION = (3, 6)
MAX_VERSION = (3, 13)


class Python:
    def __init__(self, label, path, version):
        self.label = label
        self.path = path
        self.version = version

    def __repr__(self):
        return "Python(%s)" % self.label


def pyenv_root():
    try:
        out = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True)
        return out.stdout.decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return os.path.expanduser("~/.pyenv")


def version_of(path):
    match = re.search(r"python(\d+)\.(\d+)$", path)
    return (int(match.group(1)), int(match.group(2))) if match else None


def supported(version):
    return version is not None and MIN_VERSION <= version <= MAX_VERSION


def pyenv_pythons():
    found = []
    for path in sorted(glob.glob(os.path.join(pyenv_root(), "versions", "3.*", "bin",
                                              "python3.*"))):
        version = version_of(path)
        if supported(version) and os.access(path, os.X_OK):
            release = path.split(os.sep)[-3]
            found.append(Python(release, path, version))
    return found


def system_pythons():
    found = []
    for path in sorted(glob.glob("/usr/bin/python3.*")):
        version = version_of(path)
        if supported(version) and os.access(path, os.X_OK):
            found.append(Python("sys-%d.%d" % version, path, version))
    return found


def discover():
    """Every interpreter, oldest first; pyenv's before the system's for the same version."""
    return sorted(pyenv_pythons() + system_pythons(), key=lambda p: p.version)


def pick(pythons, version):
    """The first interpreter of a given (major, minor) version, or None."""
    for python in pythons:
        if python.version == version:
            return python
    return None
