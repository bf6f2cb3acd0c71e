# SPDX-License-Identifier: MIT
"""bench/run.py's pieces: interpreters, profilers, one run, analysis, reports."""
