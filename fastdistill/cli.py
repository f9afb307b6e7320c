"""The ``fastdistill`` command line: a thin layer over the public API."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``fastdistill`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser with one sub-command per job.

    Examples
    --------
    >>> build_parser().parse_args(["demo"]).command
    'demo'
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="fastdistill",
        description="Fast model distillation with unsupervised learning.",
    )
    parser.add_argument("--version", action="version", version=f"fastdistill {__version__}")
    parser.add_argument(
        "--threads", type=int, default=None, help="number of threads (default: all cores)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", help="run the built-in demonstration (no files needed)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastdistill`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        Exit status: 0 on success, 2 on bad usage or bad input.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from ._threads import set_num_threads

    try:
        if args.threads is not None:
            set_num_threads(args.threads)
        if args.command == "demo":
            from ._demo import run_demo

            return run_demo(sys.stdout)
    except (ValueError, TypeError, OSError) as exc:
        print(f"fastdistill: error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2
