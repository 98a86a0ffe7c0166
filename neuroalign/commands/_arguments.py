"""Argument types shared by several commands."""

import argparse

__all__ = ["positive_int"]


def positive_int(text):
    """An argparse type for integers of at least 1.

    Parameters
    ----------
    text : str

    Returns
    -------
    value : int

    Examples
    --------
    >>> positive_int("3")
    3
    """
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value
