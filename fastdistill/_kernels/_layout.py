"""How row-blocked reductions split their work (shared by every kernel family)."""

from __future__ import annotations

__all__ = ["block_layout"]


def block_layout(n_samples: int, n_cols: int, itemsize: int) -> tuple[int, int]:
    """Choose the row-block size and slot count for a blocked reduction.

    Parameters
    ----------
    n_samples : int
        Rows in the data.
    n_cols : int
        Columns of the per-block buffer (features plus outputs).
    itemsize : int
        Bytes per element.

    Returns
    -------
    block_rows : int
        Rows per block (the buffer is about 1 MiB, at least 64 rows).
    n_slots : int
        Independent partial sums: at most 32, fewer when the (n_cols, n_cols)
        accumulators would exceed 64 MiB together. Depends only on the shape.
    """
    block_rows = int(max(64, min(4096, (1 << 20) // max(1, n_cols * itemsize))))
    n_blocks = -(-n_samples // block_rows)
    by_memory = max(1, (64 << 20) // max(1, n_cols * n_cols * 8))
    n_slots = int(max(1, min(n_blocks, 32, by_memory)))
    return block_rows, n_slots
