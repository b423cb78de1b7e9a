"""Exact multi-token label scoring in one forward pass: every label continuation packed after the prompt.

The labels' token sequences form a trie. Each trie node that some label continues from is fed once, right after
the prompt, under a 4-D attention mask: a label token sees the prompt and its own earlier label tokens only, and
its position id continues from the prompt's end at its depth. A shared prefix is fed once; a label's last token
is never fed (nothing is predicted from it). The LM head runs only on the positions whose next-token
distribution is needed: the prompt's last one and the fed nodes, which are exactly the last `1 + n_nodes`
positions (`logits_to_keep`).

transformers (5.x) passes a 4-D mask through unchanged to the attention function: sdpa takes a boolean mask
(True = attend), eager adds it to the scores, so it gets an additive float mask. Models whose attention ignores
or rejects such a mask (flash-attention kernels, flex attention, custom code) are found by a one-time probe,
`accepts_packed_masks`, and scored on the KV-cache path instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LabelTrie:
    """The fed label tokens (parents before children) and, per label, where each of its tokens is predicted."""

    tokens: tuple[int, ...]  # token of each fed node
    parents: tuple[int, ...]  # parent node of each fed node (-1: the prompt's last position)
    depths: tuple[int, ...]  # 0 for a label's first token; position id = prompt length + depth
    sources: tuple[tuple[int, ...], ...]  # per label and token: index into the kept logits (0: prompt's last)
    targets: tuple[tuple[int, ...], ...]  # per label: its tokens

    @property
    def n_nodes(self) -> int:
        return len(self.tokens)


def build_trie(labels: Sequence[Sequence[int]]) -> LabelTrie:
    """The trie of the label token sequences; every proper prefix of a label is one fed node."""
    index: dict[tuple[int, ...], int] = {}
    tokens: list[int] = []
    parents: list[int] = []
    for label in labels:
        for end in range(1, len(label)):
            prefix = tuple(label[:end])
            if prefix not in index:
                index[prefix] = len(tokens)
                tokens.append(label[end - 1])
                parents.append(index.get(prefix[:-1], -1))
    depths = [0] * len(tokens)
    for node, parent in enumerate(parents):
        depths[node] = 0 if parent < 0 else depths[parent] + 1
    sources = tuple(tuple(0 if j == 0 else index[tuple(label[:j])] + 1 for j in range(len(label))) for label in labels)
    return LabelTrie(tuple(tokens), tuple(parents), tuple(depths), sources, tuple(tuple(c) for c in labels))


def _ancestors(trie: LabelTrie) -> torch.Tensor:
    """(n, n) bool: node a may attend to node b when b is a itself or one of its ancestors."""
    n = trie.n_nodes
    seen = torch.eye(n, dtype=torch.bool)
    for node, parent in enumerate(trie.parents):  # parents come first, so their rows are complete
        if parent >= 0:
            seen[node] |= seen[parent]
    return seen


def packed_mask(key_mask: torch.Tensor, trie: LabelTrie, dtype: torch.dtype, boolean: bool) -> torch.Tensor:
    """(B, 1, W + n, W + n) mask for left-padded prompts (`key_mask`, (B, W)) followed by the trie's nodes.

    Prompt positions are causal over real tokens; a node sees every real prompt token and its ancestors. Each
    position also sees itself, so a padding row is never empty (its output is unused).
    """
    batch, width = key_mask.shape
    n, device = trie.n_nodes, key_mask.device
    real = key_mask.bool()[:, None, :]
    causal = torch.ones((width, width), dtype=torch.bool, device=device).tril()
    top = torch.cat([causal & real, torch.zeros((batch, width, n), dtype=torch.bool, device=device)], dim=2)
    top |= torch.eye(width, width + n, dtype=torch.bool, device=device)
    bottom = torch.cat([real.expand(batch, n, width), _ancestors(trie).to(device).expand(batch, n, n)], dim=2)
    allowed = torch.cat([top, bottom], dim=1).unsqueeze(1)
    if boolean:
        return allowed
    blocked = torch.tensor(torch.finfo(dtype).min, dtype=dtype, device=device)
    return torch.where(allowed, torch.zeros((), dtype=dtype, device=device), blocked)


def packed_positions(key_mask: torch.Tensor, trie: LabelTrie) -> torch.Tensor:
    """Position ids: the prompt's skip padding; a node's continue from the prompt's end at its depth."""
    prompt = (key_mask.cumsum(-1) - 1).clamp(min=0)
    depths = torch.as_tensor(trie.depths, dtype=torch.long, device=key_mask.device)
    return torch.cat([prompt, key_mask.sum(dim=1, keepdim=True) + depths], dim=1)


def gather_label_scores(logits: torch.Tensor, trie: LabelTrie) -> torch.Tensor:
    """(B, n_labels) summed log-probs from the kept logits (B, 1 + n_nodes, V), normalised once per position."""
    logits = logits.float()
    log_norm = torch.logsumexp(logits, dim=-1)  # (B, 1 + n): the softmax denominator at each kept position
    length = max(len(s) for s in trie.sources)
    sources = torch.zeros((len(trie.sources), length), dtype=torch.long, device=logits.device)
    targets = torch.zeros_like(sources)
    valid = torch.zeros(sources.shape, dtype=logits.dtype, device=logits.device)
    for k, (source, target) in enumerate(zip(trie.sources, trie.targets, strict=True)):
        sources[k, : len(source)] = torch.as_tensor(source)
        targets[k, : len(target)] = torch.as_tensor(target)
        valid[k, : len(source)] = 1.0
    picked = logits[:, sources, targets] - log_norm[:, sources]  # (B, n_labels, length)
    return (picked * valid).sum(dim=-1)


def last_positions(width: int, count: int, device: torch.device) -> torch.Tensor:
    """`logits_to_keep` as indices of the last `count` of `width` positions.

    The model then gathers those hidden states into a contiguous copy; the strided slice an int gives makes the
    LM head's nn.Linear 2-4x slower on CPU (measured with torch 2.13 on the 34.5M test Llama).
    """
    return torch.arange(width - count, width, device=device)


def uses_boolean_mask(model) -> bool:
    """sdpa takes a boolean mask; eager (and anything else) adds the mask to the scores."""
    return getattr(model.config, "_attn_implementation", None) == "sdpa"


def packed_forward(model, inputs_embeds: torch.Tensor, key_mask: torch.Tensor, trie: LabelTrie) -> torch.Tensor:
    """(B, n_labels) label scores from one forward pass over the prompt embeddings followed by the trie's nodes.

    `inputs_embeds` (B, W + n, D) already holds the node embeddings at its end; `key_mask` (B, W) marks real
    prompt positions (soft prompt included).
    """
    mask = packed_mask(key_mask, trie, inputs_embeds.dtype, uses_boolean_mask(model))
    out = model(
        inputs_embeds=inputs_embeds,
        attention_mask=mask,
        position_ids=packed_positions(key_mask, trie),
        use_cache=False,
        logits_to_keep=last_positions(inputs_embeds.shape[1], trie.n_nodes + 1, inputs_embeds.device),
    )
    return gather_label_scores(out.logits, trie)


def fits_window(model, width: int) -> bool:
    """A custom mask bypasses sliding-window masking, so the packed sequence must fit inside the window."""
    window = getattr(model.config, "sliding_window", None)
    return not isinstance(window, int) or window <= 0 or width <= window


_PROBED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@torch.no_grad()
def accepts_packed_masks(model) -> bool:
    """Whether the model honours a custom 4-D mask with custom position ids (probed once per model object).

    Two labels share no prefix: packed after a one-token prompt, the second label's first token must read
    exactly like the same token right after the prompt; a model that ignores the mask lets it see the first
    label's token, and one that rejects the mask raises.
    """
    if model in _PROBED:
        return _PROBED[model]
    vocab = model.get_input_embeddings().num_embeddings
    a, b, c = vocab // 3, vocab // 2, (2 * vocab) // 3
    device = next(model.parameters()).device
    trie = build_trie([[b, a], [c, a]])
    embed = model.get_input_embeddings()
    try:
        ids = torch.tensor([[a, *trie.tokens]], device=device)
        key_mask = torch.ones((1, 1), dtype=torch.long, device=device)
        mask = packed_mask(key_mask, trie, embed.weight.dtype, uses_boolean_mask(model))
        packed = model(
            inputs_embeds=embed(ids),
            attention_mask=mask,
            position_ids=packed_positions(key_mask, trie),
            use_cache=False,
            logits_to_keep=1,
        ).logits[0, -1]
        plain = model(input_ids=torch.tensor([[a, c]], device=device), logits_to_keep=1).logits[0, -1]
        error = float((packed.float() - plain.float()).norm() / plain.float().norm().clamp(min=1e-12))
        ok = error < (1e-4 if embed.weight.dtype == torch.float32 else 3e-2)
    except Exception:  # any rejection of a custom mask (flash / flex kernels, remote code) means: use the cache
        ok = False
    _PROBED[model] = ok
    return ok
