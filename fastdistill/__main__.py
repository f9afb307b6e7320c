"""``python -m fastdistill``: same as the ``fastdistill`` command."""

if __name__ == "__main__":
    from fastdistill.cli import main

    raise SystemExit(main())
