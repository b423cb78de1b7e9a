"""One shared encoder with sequence heads (mean-pooled) and a token head (per word), and its batching."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

IGNORE = -100  # cross-entropy's ignore_index: special tokens and every sub-token after a word's first


class JointEncoder(nn.Module):
    """A transformer with named sequence heads on its mean-pooled output and an optional token head."""

    def __init__(
        self,
        transformer: nn.Module,
        sequence_sizes: dict[str, int],
        token_size: int,
        dropout: float,
        sentence_to_tokens: bool = False,
        layer_mix: bool = False,
        crf: nn.Module | None = None,
    ):
        super().__init__()
        self.transformer = transformer
        dim = transformer.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.sequence_heads = nn.ModuleDict({name: nn.Linear(dim, size) for name, size in sequence_sizes.items()})
        # With sentence_to_tokens each word's tag is read from [word; mean-pooled utterance]: the slot a word
        # fills depends on what the whole utterance asks for (a date to set an alarm vs. to look up the news).
        self.sentence_to_tokens = sentence_to_tokens
        token_inputs = 2 * dim if sentence_to_tokens else dim
        self.token_head = nn.Linear(token_inputs, token_size) if token_size else None
        # With layer_mix the token head reads a learned softmax-weighted sum of every layer's output (ELMo's
        # scalar mix): word-level tags may draw on lower layers than the sentence heads.
        self.layer_weights = nn.Parameter(torch.zeros(transformer.config.num_hidden_layers + 1)) if layer_mix else None
        self.layer_scale = nn.Parameter(torch.ones(())) if layer_mix else None
        self.crf = crf  # learned tag transitions over the token head's word scores (multitask/crf.py)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **extra) -> dict[str, torch.Tensor]:
        """Logits: one (batch, labels) tensor per sequence head, and 'tokens' (batch, length, tags)."""
        mixing = self.layer_weights is not None
        if mixing:
            extra["output_hidden_states"] = True
        outputs = self.transformer(input_ids=input_ids, attention_mask=attention_mask, **extra)
        hidden = outputs.last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # the pooling all-MiniLM was trained with
        out = {name: head(self.dropout(pooled)) for name, head in self.sequence_heads.items()}
        if self.token_head is not None:
            if mixing:
                weights = torch.softmax(self.layer_weights, 0).to(hidden.dtype)
                hidden = self.layer_scale * torch.einsum("l,lbtd->btd", weights, torch.stack(outputs.hidden_states))
            if self.sentence_to_tokens:
                hidden = torch.cat([hidden, pooled.unsqueeze(1).expand_as(hidden)], dim=-1)
            out["tokens"] = self.token_head(self.dropout(hidden))
        return out

    def head_state(self) -> dict[str, torch.Tensor]:
        """The heads' weights only (the transformer is saved as its own folder)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("transformer.")}


def word_positions(encoded, n_words: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(batch, words) index of each word's first sub-token, and a mask of the words the tokenizer kept
    (truncation drops a suffix of words)."""
    width = max(max(n_words, default=0), 1)
    index = torch.zeros(len(n_words), width, dtype=torch.long)
    mask = torch.zeros(len(n_words), width, dtype=torch.bool)
    for b, n in enumerate(n_words):
        kept = [p for p in first_token_positions(encoded.word_ids(b), n) if p is not None]
        index[b, : len(kept)] = torch.as_tensor(kept, dtype=torch.long)
        mask[b, : len(kept)] = True
    return index, mask


def align_word_labels(word_ids: list[int | None], word_labels: list[int]) -> list[int]:
    """Token labels from word labels: a word's first sub-token carries its label, the rest and specials IGNORE."""
    aligned, previous = [], None
    for word in word_ids:
        aligned.append(IGNORE if word is None or word == previous else word_labels[word])
        previous = word
    return aligned


def first_token_positions(word_ids: list[int | None], n_words: int) -> list[int | None]:
    """For each word, the position of its first sub-token (None when truncation cut the word off)."""
    positions: list[int | None] = [None] * n_words
    for position, word in enumerate(word_ids):
        if word is not None and positions[word] is None:
            positions[word] = position
    return positions


def encode_words(tokenizer, words: list[list[str]], max_length: int):
    """Tokenize pre-split words (fast tokenizer required: word ids come from it), padded to the batch's longest."""
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError("token labels need a fast tokenizer (word ids); this backbone's tokenizer is slow")
    # An utterance of only whitespace has no words; one empty word keeps it a valid sequence.
    words = [w if w else [""] for w in words]
    return tokenizer(
        words, is_split_into_words=True, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
    )


def allowed_transitions(tags: list[str]) -> np.ndarray:
    """(from, to) mask of valid BIO moves: `I-x` only after `B-x` or `I-x`; anything else may follow anything."""
    allowed = np.ones((len(tags), len(tags)), dtype=bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            allowed[:, j] = [prev in (f"B-{tag[2:]}", tag) for prev in tags]
    return allowed


def bio_scores(tags: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(transitions, start) for `viterbi_path` that allow every valid BIO path and score them alike.

    Argmax per word can emit `I-x` after `O` or `B-y`, which seqeval counts as extra, broken spans.
    """
    transitions = np.where(allowed_transitions(tags), 0.0, -np.inf)
    return transitions, np.array([-np.inf if t.startswith("I-") else 0.0 for t in tags])


def viterbi_path(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray) -> list[int]:
    """Argmax over tag paths of start[y0] + sum(emissions[t, y_t]) + sum(transitions[y_{t-1}, y_t]).

    Written by hand: a dozen lines of numpy; torch-struct and pytorch-crf would add a dependency for them.
    """
    if len(emissions) == 0:
        return []
    score = start + emissions[0]
    back = []
    for row in emissions[1:]:
        candidates = score[:, None] + transitions  # (from, to)
        back.append(candidates.argmax(0))
        score = candidates.max(0) + row
    path = [int(score.argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1]
