"""``neuroalign report``: bundle a results folder into one self-contained HTML file."""

from pathlib import Path

NAME = "report"
HELP = "bundle a results folder's figures and tables into one HTML report"
DESCRIPTION = (
    "Write one self-contained HTML file (figures inlined, no external links) from a "
    "results folder: RESULTS_DIR/results.csv, RESULTS_DIR/figures/*.png with their "
    ".json sidecars, and RESULTS_DIR/run.json."
)


def add_arguments(parser):
    """Add the report's arguments.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument("results_dir", type=Path, metavar="RESULTS_DIR", help="results folder")
    parser.add_argument(
        "--out", type=Path, default=None, help="output file (default: RESULTS_DIR/report.html)"
    )
    parser.add_argument(
        "--title", default=None, help="page title (default: run.json's name or the folder name)"
    )


def run(args):
    """Build the report and print where it is.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    status : int
    """
    from neuroalign.report import build_report

    path = build_report(args.results_dir, out=args.out, title=args.title)
    print(f"Report written to {path}")
    return 0
