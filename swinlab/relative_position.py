"""Lesson 04: the relative position bias.

The paper: "we follow [...] by including a relative position bias B in computing similarity:
Attention(Q, K, V) = SoftMax(QK^T/sqrt(d) + B)V. Since the relative position along each axis lies
in the range [-M+1, M-1], we parameterize a smaller-sized bias matrix B_hat in R^{(2M-1)x(2M-1)},
and values in B are taken from B_hat."
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._utils import pair

__all__ = [
    "relative_coordinates",
    "relative_position_index",
    "relative_position_bias",
    "resize_bias_table",
    "RelativePositionBias",
]


def relative_coordinates(window_size: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairwise offsets between the tokens of one window, on each axis.

    Returns ``(dy, dx)``, each ``(Mh*Mw, Mh*Mw)`` int64, with ``dy[i, j] = row(i) - row(j)`` and
    ``dx[i, j] = col(i) - col(j)`` for tokens numbered row by row. Values lie in ``[-M+1, M-1]``.
    """
    mh, mw = pair(window_size, "window_size")
    rows, cols = torch.meshgrid(torch.arange(mh), torch.arange(mw), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()  # Mh*Mw each: token i sits at (rows[i], cols[i])
    return rows[:, None] - rows[None, :], cols[:, None] - cols[None, :]


def relative_position_index(window_size: int | tuple[int, int]) -> torch.Tensor:
    """Index into the ``(2Mh-1)*(2Mw-1)`` bias table for every pair of tokens in a window.

    ``(Mh*Mw, Mh*Mw)`` int64. Step 1: shift both axes by ``M-1`` so offsets start at 0.
    Step 2: multiply the row offset by ``2Mw-1`` and add the column offset.
    For ``M=2``: ``[[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]``.
    """
    mh, mw = pair(window_size, "window_size")
    dy, dx = relative_coordinates((mh, mw))
    dy, dx = dy + (mh - 1), dx + (mw - 1)  # step 1: 0 .. 2M-2 on each axis
    return dy * (2 * mw - 1) + dx  # step 2: one number per (dy, dx) pair


def relative_position_bias(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Gather the bias of every token pair from the table.

    ``table (nTable, heads)``, ``index (N, N) -> (heads, N, N)``. The index of an ``Mh x Mw`` window reads
    entries ``0 .. (2Mh-1)(2Mw-1) - 1``, so the table must have exactly ``(2Mh-1)(2Mw-1)`` rows.
    """
    if table.dim() != 2:
        raise ValueError(f"table must be 2-D (nTable, heads), got shape {tuple(table.shape)}")
    if index.dim() != 2 or index.shape[0] != index.shape[1]:
        raise ValueError(
            f"index must be square (N, N) with N = M*M tokens, got shape {tuple(index.shape)}: "
            "build it with relative_position_index(M)"
        )
    if index.dtype.is_floating_point or index.dtype == torch.bool:
        raise ValueError(f"index must be an integer tensor (torch.long), got {index.dtype}: use index.long()")
    n = index.shape[0]
    lo, hi = (int(v) for v in torch.aminmax(index))
    if lo < 0 or table.shape[0] != hi + 1:
        m = round(n**0.5)
        window = f"M={m} ({n} tokens)" if m * m == n else f"{n} tokens"
        reads = f"has a negative entry ({lo})" if lo < 0 else f"reads table entries 0 .. {hi}"
        raise ValueError(
            f"the index of a window of {window} {reads}, so the table needs {hi + 1} rows, one per offset; "
            f"got a table of shape {tuple(table.shape)}: build the table for the index's window "
            "(RelativePositionBias(M, heads)), or resize a table made for another window with resize_bias_table"
        )
    return _gather(table, index)


def _gather(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    # (nTable, heads) gathered by (N, N) -> (heads, N, N). No checks: the module calls this on every forward
    # pass with a table and index it built together (load_state_dict keeps their shapes).
    n = index.shape[0]
    return table[index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1).contiguous()


def resize_bias_table(
    table: torch.Tensor, window_size: int | tuple[int, int], new_window_size: int | tuple[int, int]
) -> torch.Tensor:
    """The bias table of one window size, interpolated (bicubic) for another: ``((2Mh-1)*(2Mw-1), heads) ->
    ((2Mh'-1)*(2Mw'-1), heads)``.

    Each head's column is a ``(2Mh-1) x (2Mw-1)`` image over the offsets (dy, dx); it is resized like an image,
    as the official code does when it fine-tunes a 224-pixel checkpoint (M=7) at 384 pixels (M=12).
    """
    mh, mw = pair(window_size, "window_size")
    nh, nw = pair(new_window_size, "new_window_size")
    if table.dim() != 2 or table.shape[0] != (2 * mh - 1) * (2 * mw - 1):
        raise ValueError(
            f"a table for window {mh}x{mw} has shape ((2Mh-1)*(2Mw-1), heads) = "
            f"({(2 * mh - 1) * (2 * mw - 1)}, heads), got {tuple(table.shape)}: pass the window the table was made for"
        )
    if (nh, nw) == (mh, mw):
        return table.clone()
    heads = table.shape[1]
    image = table.T.reshape(1, heads, 2 * mh - 1, 2 * mw - 1)  # 1, heads, 2Mh-1, 2Mw-1: one image per head
    resized = F.interpolate(image, size=(2 * nh - 1, 2 * nw - 1), mode="bicubic", align_corners=False)
    return resized.reshape(heads, -1).T.contiguous()  # (2Mh'-1)*(2Mw'-1), heads


class RelativePositionBias(nn.Module):
    """A learnable ``((2Mh-1)*(2Mw-1), heads)`` table and its gather into a ``(heads, M², M²)`` bias.

    Names follow the official checkpoints: ``relative_position_bias_table`` (parameter) and
    ``relative_position_index`` (buffer). :class:`swinlab.attention.WindowAttention` builds on this
    class, so the names land exactly where the official model has them (``attn.relative_position_*``).
    """

    def __init__(self, window_size: int | tuple[int, int], num_heads: int) -> None:
        super().__init__()
        if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(f"num_heads must be a positive int, got {num_heads!r}")
        self.window_size = pair(window_size, "window_size")
        self.num_heads = num_heads
        mh, mw = self.window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * mh - 1) * (2 * mw - 1), num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(self.window_size))

    def relative_bias(self) -> torch.Tensor:
        """The bias ``B`` added to every window's attention logits: ``(heads, M², M²)``."""
        return _gather(self.relative_position_bias_table, self.relative_position_index)

    def forward(self) -> torch.Tensor:
        return self.relative_bias()
