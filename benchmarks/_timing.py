"""Timing shared by the benchmark scripts."""

import statistics
import time

import torch


def timed(function, repeats):
    """Median wall time of ``repeats`` calls (CUDA work included) and the last result.

    Parameters
    ----------
    function : callable
        Called with no arguments.
    repeats : int

    Returns
    -------
    seconds : float
    result : object
    """
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
