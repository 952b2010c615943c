"""The measuring child's peak memory, as source text: the benchmarks' children are scripts
given to ``python -c``, so each puts this function into its script (``import resource`` first).

The process's own peak RSS is VmHWM (``/proc/self/status``), which starts anew at exec;
``ru_maxrss`` keeps the parent's peak across fork + exec, so after a benchmark has written a
10k-run store in-process every child read at least that much. ``ru_maxrss`` stays the fallback
off Linux.
"""

PEAK_MB = """def peak_mb():
    # this process's own peak RSS: VmHWM starts anew at exec, while ru_maxrss keeps the parent's
    # peak at the fork (a benchmark that has just written a 10k-run store would floor every figure)
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
