"""Label scoring with a causal LM: exact multi-token log-likelihoods, each prompt token computed once.

By default (`strategy="auto"`) a batch of prompts is run once with every label continuation packed after it
(packed_scoring: a label trie under a 4-D attention mask, LM head on the needed positions only). Models that do
not honour a custom 4-D mask use the KV-cache path: the prompt batch is run once, then every label's remaining
tokens in one more pass over the prompt cache repeated per label. Optional pieces: length normalisation,
contextual calibration (Zhao et al. 2021), an optional soft prompt (prompt tuning), and a greedy generation
path for "answer with the label only" prompting.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence

import numpy as np
import torch

from agileclf.backbones.packed_scoring import (
    accepts_packed_masks,
    build_trie,
    fits_window,
    gather_label_scores,
    last_positions,
    packed_forward,
    packed_mask,
    packed_positions,
    uses_boolean_mask,
)

# Prompts per forward pass: tokens of a batch are padded to its longest prompt, so batches are length-sorted.
DEFAULT_BATCH = 8
# auto: a prefix every prompt shares (instruction, demonstrations) of MIN_SHARED_PREFIX tokens or more is run once
# and its KV cache reused ("prefix"); else packed when the model honours 4-D masks (probed once), else the cache.
STRATEGIES = ("auto", "packed", "cache", "prefix")
MIN_SHARED_PREFIX = 32


@functools.cache
def cache_name() -> str:
    """The KV cache's keyword and output field: `cache` from transformers 5.24, `past_key_values` before."""
    import dataclasses

    from transformers.modeling_outputs import CausalLMOutputWithPast

    return "cache" if "cache" in {f.name for f in dataclasses.fields(CausalLMOutputWithPast)} else "past_key_values"


def left_pad(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """ids and attention mask, padded on the left so every row's last position is its last real token."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        if seq:
            ids[row, width - len(seq) :] = torch.as_tensor(seq)
            mask[row, width - len(seq) :] = 1
    return ids, mask


def embed_inputs(model, ids: torch.Tensor, soft_prompt: torch.Tensor | None) -> torch.Tensor:
    """Token embeddings, with the soft prompt (n_virtual, dim) prepended to every row when given."""
    embeds = model.get_input_embeddings()(ids)
    if soft_prompt is None:
        return embeds
    soft = soft_prompt.to(embeds.dtype).unsqueeze(0).expand(ids.shape[0], -1, -1)
    return torch.cat([soft, embeds], dim=1)


def positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids that skip padding, so a padded row reads exactly like the unpadded one."""
    return (mask.cumsum(-1) - 1).clamp(min=0)


def prompt_pass(model, ids: torch.Tensor, mask: torch.Tensor, soft_prompt: torch.Tensor | None = None):
    """Run left-padded prompts once: (log-probs of the next token (B, V), KV cache, full attention mask)."""
    if soft_prompt is not None:
        ones = torch.ones((ids.shape[0], soft_prompt.shape[0]), dtype=mask.dtype, device=mask.device)
        mask = torch.cat([ones, mask], dim=1)
    out = model(
        inputs_embeds=embed_inputs(model, ids, soft_prompt),
        attention_mask=mask,
        position_ids=positions(mask),
        use_cache=True,
        logits_to_keep=last_positions(mask.shape[1], 1, mask.device),
    )
    return torch.log_softmax(out.logits[:, -1].float(), dim=-1), getattr(out, cache_name()), mask


def _repeat_cache(cache, repeats: int):
    if hasattr(cache, "batch_repeat_interleave"):
        cache.batch_repeat_interleave(repeats)
        return cache
    return tuple(tuple(t.repeat_interleave(repeats, dim=0) for t in layer) for layer in cache)  # legacy tuples


@torch.no_grad()
def score_continuations(
    model,
    prompts: Sequence[Sequence[int]],
    continuations: Sequence[Sequence[int]],
    pad_id: int,
    soft_prompt: torch.Tensor | None = None,
    batch_size: int = DEFAULT_BATCH,
    first_token_only: bool = False,
    strategy: str = "auto",
) -> np.ndarray:
    """(n_prompts, n_continuations) summed log-probabilities of each continuation after each prompt.

    Exact for multi-token continuations. `first_token_only` scores only each continuation's first token
    (one forward pass; an approximation unless every continuation is one token long). `strategy` is one of
    STRATEGIES (the same scores; "packed", "cache" and "prefix" force a path, for tests and benchmarks).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if any(len(c) == 0 for c in continuations):
        raise ValueError("every continuation needs at least one token")
    if first_token_only and len({c[0] for c in continuations}) < len(continuations):
        raise ValueError("first-token scoring needs labels whose first tokens all differ")
    if first_token_only:
        continuations = [c[:1] for c in continuations]
    trie = build_trie(continuations)
    device = next(model.parameters()).device
    minimum = {"prefix": 1, "auto": MIN_SHARED_PREFIX}.get(strategy)
    prefix, prompts, soft_prompt = split_shared_prefix(model, prompts, soft_prompt, minimum)
    packed = trie.n_nodes > 0 and strategy != "cache" and (strategy == "packed" or accepts_packed_masks(model))
    result = np.zeros((len(prompts), len(continuations)), dtype=np.float64)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        ids, mask = left_pad([prompts[i] for i in rows], pad_id)
        ids, mask = ids.to(device), mask.to(device)
        if prefix is not None:
            if packed and fits_window(model, prefix[1] + ids.shape[1] + trie.n_nodes):
                scores = _prefixed_packed_batch(model, prefix, ids, mask, trie)
            else:
                scores = _cached_batch(model, ids, mask, continuations, pad_id, prefix=prefix)
            result[rows] = scores.double().cpu().numpy()
            continue
        width = ids.shape[1] + trie.n_nodes + (0 if soft_prompt is None else soft_prompt.shape[0])
        if packed and (strategy == "packed" or fits_window(model, width)):
            scores = _packed_batch(model, ids, mask, trie, soft_prompt)
        else:
            scores = _cached_batch(model, ids, mask, continuations, pad_id, soft_prompt)
        result[rows] = scores.double().cpu().numpy()
    return result


def _packed_batch(model, ids, mask, trie, soft_prompt) -> torch.Tensor:
    """(B, n_labels) scores of one left-padded batch, prompt and label trie in one forward pass."""
    nodes = torch.as_tensor(trie.tokens, dtype=torch.long, device=ids.device).expand(ids.shape[0], -1)
    if soft_prompt is not None:
        ones = torch.ones((ids.shape[0], soft_prompt.shape[0]), dtype=mask.dtype, device=mask.device)
        mask = torch.cat([ones, mask], dim=1)
    embeds = embed_inputs(model, torch.cat([ids, nodes], dim=1), soft_prompt)
    return packed_forward(model, embeds, mask, trie)


def shared_prefix_length(prompts: Sequence[Sequence[int]]) -> int:
    """Tokens every prompt starts with, leaving each at least one token of its own (0 for a single prompt)."""
    if len(prompts) < 2:
        return 0
    first, shortest = prompts[0], min(len(p) for p in prompts)
    length = 0
    while length < shortest - 1 and all(p[length] == first[length] for p in prompts):
        length += 1
    return length


def split_shared_prefix(model, prompts, soft_prompt, minimum: int | None):
    """(prefix cache and width, or None; the prompts' own endings; the soft prompt left for them): the tokens
    every prompt starts with run once after the soft prompt when they are `minimum` or more (None: never)."""
    shared = shared_prefix_length(prompts)
    if minimum is None or not shared or shared < minimum:
        return None, prompts, soft_prompt
    device = next(model.parameters()).device
    prefix = prefix_pass(model, torch.as_tensor([prompts[0][:shared]], device=device), soft_prompt)
    return prefix, [p[shared:] for p in prompts], None


def prefix_pass(model, ids: torch.Tensor, soft_prompt: torch.Tensor | None = None):
    """Run one shared prefix (1, L) after the soft prompt, if any: (its KV cache, its width in positions)."""
    width = ids.shape[1] + (0 if soft_prompt is None else soft_prompt.shape[0])
    mask = torch.ones((1, width), dtype=torch.long, device=ids.device)
    out = model(
        inputs_embeds=embed_inputs(model, ids, soft_prompt),
        attention_mask=mask,
        position_ids=positions(mask),
        use_cache=True,
        logits_to_keep=last_positions(mask.shape[1], 1, ids.device),
    )
    return getattr(out, cache_name()), mask.shape[1]


def _prefixed_packed_batch(model, prefix, ids, mask, trie) -> torch.Tensor:
    """(B, n_labels) scores of prompt endings after the shared prefix's cache, each ending and the label trie in
    one pass: the packed mask of the whole (prefix + ending + trie) sequence, its rows after the prefix."""
    prefix_cache, width = prefix
    batch = ids.shape[0]
    cache = _repeat_cache(copy.deepcopy(prefix_cache), batch)
    key_mask = torch.cat([mask.new_ones((batch, width)), mask], dim=1)
    nodes = torch.as_tensor(trie.tokens, dtype=torch.long, device=ids.device).expand(batch, -1)
    embeds = embed_inputs(model, torch.cat([ids, nodes], dim=1), None)
    full = packed_mask(key_mask, trie, embeds.dtype, uses_boolean_mask(model))
    out = model(
        inputs_embeds=embeds,
        attention_mask=full[:, :, width:, :],
        position_ids=packed_positions(key_mask, trie)[:, width:],
        use_cache=False,
        logits_to_keep=last_positions(embeds.shape[1], trie.n_nodes + 1, ids.device),
        **{cache_name(): cache},
    )
    return gather_label_scores(out.logits, trie)


def ending_pass(model, prefix, ids: torch.Tensor, mask: torch.Tensor):
    """Left-padded prompt endings (B, W) after the shared prefix's cache: (log-probs of the next token (B, V),
    KV cache, full attention mask). The padding sits between the prefix and each ending, masked out, and the
    position ids skip it."""
    prefix_cache, width = prefix
    cache = _repeat_cache(copy.deepcopy(prefix_cache), ids.shape[0])
    full_mask = torch.cat([mask.new_ones((ids.shape[0], width)), mask], dim=1)
    out = model(
        input_ids=ids,
        attention_mask=full_mask,
        position_ids=positions(full_mask)[:, width:],
        use_cache=True,
        logits_to_keep=last_positions(ids.shape[1], 1, ids.device),
        **{cache_name(): cache},
    )
    return torch.log_softmax(out.logits[:, -1].float(), dim=-1), getattr(out, cache_name()), full_mask


def _cached_batch(model, ids, mask, continuations, pad_id, soft_prompt=None, prefix=None) -> torch.Tensor:
    """(B, n_labels) scores of one left-padded batch: prompt pass with cache (after the shared prefix's cache,
    when given), then the labels' later tokens."""
    if prefix is None:
        logprobs, cache, mask = prompt_pass(model, ids, mask, soft_prompt)
    else:
        logprobs, cache, mask = ending_pass(model, prefix, ids, mask)
    scores = logprobs[:, torch.as_tensor([c[0] for c in continuations], device=ids.device)]
    longer = [k for k, c in enumerate(continuations) if len(c) > 1]
    if longer:
        scores[:, longer] += _rest_of_labels(model, cache, mask, [continuations[k] for k in longer], pad_id)
    return scores


def _rest_of_labels(model, cache, prompt_mask: torch.Tensor, labels: list[Sequence[int]], pad_id: int):
    """(B, n_labels) log-probs of every label token after the first, one pass over the repeated prompt cache."""
    batch, n = prompt_mask.shape[0], len(labels)
    device = prompt_mask.device
    inputs = [list(c[:-1]) for c in labels]  # token j is predicted from position j - 1
    width = max(len(c) for c in inputs)
    ids = torch.full((n, width), pad_id, dtype=torch.long, device=device)
    targets = torch.zeros((n, width), dtype=torch.long, device=device)
    cont_mask = torch.zeros((n, width), dtype=torch.long, device=device)
    for k, label in enumerate(labels):
        length = len(label) - 1
        ids[k, :length] = torch.as_tensor(label[:-1])
        targets[k, :length] = torch.as_tensor(label[1:])
        cont_mask[k, :length] = 1
    cache = _repeat_cache(cache, n)
    full_mask = torch.cat([prompt_mask.repeat_interleave(n, dim=0), cont_mask.repeat(batch, 1)], dim=1)
    start = prompt_mask.sum(dim=1).repeat_interleave(n).unsqueeze(1)
    out = model(
        input_ids=ids.repeat(batch, 1),
        attention_mask=full_mask,
        position_ids=start + torch.arange(width, device=device),
        use_cache=False,
        **{cache_name(): cache},
    )
    logprobs = torch.log_softmax(out.logits.float(), dim=-1)
    picked = logprobs.gather(-1, targets.repeat(batch, 1).unsqueeze(-1)).squeeze(-1)
    return (picked * cont_mask.repeat(batch, 1)).sum(dim=1).view(batch, n)


@torch.no_grad()
def naive_log_likelihood(
    model, prompt: Sequence[int], continuation: Sequence[int], soft_prompt: torch.Tensor | None = None
) -> float:
    """Summed log-probability of `continuation` from one forward pass over prompt + continuation (no cache)."""
    device = next(model.parameters()).device
    ids = torch.as_tensor([list(prompt) + list(continuation)], device=device)
    mask = torch.ones((1, ids.shape[1] + (0 if soft_prompt is None else soft_prompt.shape[0])), device=device)
    logits = model(inputs_embeds=embed_inputs(model, ids, soft_prompt), attention_mask=mask.long()).logits[0]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    offset = mask.shape[1] - ids.shape[1]
    total = 0.0
    for j, token in enumerate(continuation):
        total += float(logprobs[offset + len(prompt) + j - 1, token])
    return total


def label_probabilities(scores: np.ndarray, lengths: Sequence[int], length_norm: bool = False) -> np.ndarray:
    """Normalised label probabilities from summed log-probs, optionally averaged per token first."""
    if length_norm:
        scores = scores / np.asarray(lengths, dtype=np.float64)
    scores = scores - scores.max(axis=1, keepdims=True)
    proba = np.exp(scores)
    proba /= proba.sum(axis=1, keepdims=True)
    return proba.astype(np.float32)


def contextual_calibration(proba: np.ndarray, content_free: np.ndarray) -> np.ndarray:
    """Zhao et al. (2021): divide each row by the label distribution the same prompt gives a content-free input
    (e.g. "N/A"), then renormalise, so a prompt's bias towards one label no longer decides."""
    proba = proba / np.clip(content_free, 1e-12, None)
    return (proba / proba.sum(axis=1, keepdims=True)).astype(np.float32)


@torch.no_grad()
def greedy_generate(
    model,
    prompts: Sequence[Sequence[int]],
    pad_id: int,
    stop_ids: set[int],
    max_new_tokens: int = 8,
    soft_prompt: torch.Tensor | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> list[list[int]]:
    """Greedy continuations of each prompt, up to `max_new_tokens` or a stop token (which is dropped)."""
    device = next(model.parameters()).device
    outputs: list[list[int]] = [[] for _ in prompts]
    prefix, prompts, soft_prompt = split_shared_prefix(model, prompts, soft_prompt, MIN_SHARED_PREFIX)
    for start in range(0, len(prompts), batch_size):
        rows = list(range(start, min(start + batch_size, len(prompts))))
        ids, mask = left_pad([prompts[i] for i in rows], pad_id)
        if prefix is None:
            logprobs, cache, mask = prompt_pass(model, ids.to(device), mask.to(device), soft_prompt)
        else:
            logprobs, cache, mask = ending_pass(model, prefix, ids.to(device), mask.to(device))
        done = torch.zeros(len(rows), dtype=torch.bool, device=device)
        for _ in range(max_new_tokens):
            token = logprobs.argmax(dim=-1)
            for r, t in enumerate(token.tolist()):
                if not done[r]:
                    if t in stop_ids:
                        done[r] = True
                    else:
                        outputs[rows[r]].append(t)
            if bool(done.all()):
                break
            mask = torch.cat([mask, torch.ones((len(rows), 1), dtype=mask.dtype, device=device)], dim=1)
            out = model(
                input_ids=token.unsqueeze(1),
                attention_mask=mask,
                position_ids=mask.sum(dim=1, keepdim=True) - 1,
                use_cache=True,
                **{cache_name(): cache},
            )
            cache = getattr(out, cache_name())
            logprobs = torch.log_softmax(out.logits[:, -1].float(), dim=-1)
    return outputs


def match_label(generated: str, words: Sequence[str]) -> int:
    """Index of the label a generated answer names (its first line, case- and space-insensitive), else -1."""
    answer = " ".join(generated.strip().splitlines()[0].split()).lower().rstrip(".") if generated.strip() else ""
    choices = [" ".join(w.split()).lower() for w in words]
    if answer in choices:
        return choices.index(answer)
    starts = [i for i, c in enumerate(choices) if answer.startswith(c)]
    if starts:  # "billing issue, because ..." names billing issue; the longest matching label wins
        return max(starts, key=lambda i: len(choices[i]))
    return -1
