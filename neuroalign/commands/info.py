"""``neuroalign info``: versions, compute devices and installed extras."""

NAME = "info"
HELP = "print versions, compute devices and installed extras"


def add_arguments(parser):
    """This command takes no arguments.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """


def run(args):
    """Print the installation summary.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    status : int
    """
    from neuroalign._info import format_info

    print(format_info())
    return 0
