"""A linear-chain CRF over word tags: learned tag-to-tag scores on top of the token head's per-word scores.

Written by hand (the forward algorithm is a few tensor lines): pytorch-crf, the usual package, is unmaintained
since 2019 and has no way to keep the BIO rule (`I-x` only after `B-x` or `I-x`) a hard constraint.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from agileclf.methods.multitask.model import bio_scores

BLOCKED = -1e4  # finite, so the forward algorithm stays free of NaN; exp(-1e4) is 0 in float32


class TagCRF(nn.Module):
    """Transition and start scores over BIO tags, invalid moves blocked; trained by sequence log-likelihood."""

    def __init__(self, tags: list[str]):
        super().__init__()
        n = len(tags)
        self.transitions = nn.Parameter(torch.zeros(n, n))  # (from, to)
        self.start = nn.Parameter(torch.zeros(n))
        transitions, start = bio_scores(tags)  # -inf where the BIO rule forbids a move or a first tag
        self.register_buffer("blocked", torch.as_tensor(np.isneginf(transitions)), persistent=False)
        self.register_buffer("start_blocked", torch.as_tensor(np.isneginf(start)), persistent=False)

    def scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(transitions (from, to), start) with the invalid BIO moves blocked."""
        return self.transitions.masked_fill(self.blocked, BLOCKED), self.start.masked_fill(self.start_blocked, BLOCKED)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Summed negative log-likelihood of the gold paths; `mask` (batch, words) marks real words, a prefix
        of each row. Rows without words contribute 0."""
        transitions, start = self.scores()
        mask = mask.to(emissions.dtype)
        first = emissions[:, 0] + start
        gold = first.gather(1, tags[:, :1]).squeeze(1)
        alpha = first
        for t in range(1, emissions.shape[1]):
            step = mask[:, t]
            moved = transitions[tags[:, t - 1], tags[:, t]] + emissions[:, t].gather(1, tags[:, t : t + 1]).squeeze(1)
            gold = gold + step * moved
            advanced = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]
            alpha = torch.where(step.bool().unsqueeze(1), advanced, alpha)
        has_words = mask[:, 0]
        return ((torch.logsumexp(alpha, dim=1) - gold) * has_words).sum()

    @torch.no_grad()
    def numpy_scores(self) -> tuple[np.ndarray, np.ndarray]:
        """`scores()` as numpy arrays, for `model.viterbi_path` over a batch's utterances."""
        transitions, start = self.scores()
        return transitions.float().cpu().numpy(), start.float().cpu().numpy()
