"""Peak resident set size of this process, from Linux's ``/proc`` (the memory benchmarks)."""

from __future__ import annotations


def status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reset_peak() -> bool:
    """Reset VmHWM, the peak RSS, to the current RSS; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False
