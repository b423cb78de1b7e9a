import itertools

import numpy as np
import torch

from agileclf.methods.multitask.crf import BLOCKED, TagCRF
from agileclf.methods.multitask.model import allowed_transitions, viterbi_path

TAGS = ["O", "B-date", "I-date", "B-time"]


def _path_score(crf: TagCRF, emissions: torch.Tensor, path) -> torch.Tensor:
    transitions, start = crf.scores()
    score = start[path[0]] + emissions[0, path[0]]
    for t in range(1, len(path)):
        score = score + transitions[path[t - 1], path[t]] + emissions[t, path[t]]
    return score


def _random_crf(seed: int) -> TagCRF:
    torch.manual_seed(seed)
    crf = TagCRF(TAGS)
    with torch.no_grad():
        crf.transitions.normal_()
        crf.start.normal_()
    return crf


def test_nll_is_the_log_partition_minus_the_gold_path_score_over_every_path():
    crf = _random_crf(0)
    emissions = torch.randn(2, 3, len(TAGS))
    gold = torch.tensor([[0, 1, 2], [3, 0, 0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])  # the second row has two words
    expected = 0.0
    for row, length in enumerate((3, 2)):
        paths = list(itertools.product(range(len(TAGS)), repeat=length))
        scores = torch.stack([_path_score(crf, emissions[row], p) for p in paths])
        expected += torch.logsumexp(scores, 0) - _path_score(crf, emissions[row], gold[row, :length].tolist())
    assert torch.allclose(crf.nll(emissions, gold, mask), expected, atol=1e-4)


def test_a_row_without_words_adds_nothing():
    crf = _random_crf(1)
    emissions = torch.randn(1, 2, len(TAGS))
    empty = crf.nll(emissions, torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2, dtype=torch.bool))
    assert empty.item() == 0.0


def test_decode_is_the_best_valid_bio_path():
    crf = _random_crf(2)
    allowed = allowed_transitions(TAGS)
    rng = np.random.default_rng(0)
    for _ in range(20):
        emissions = rng.normal(size=(4, len(TAGS))).astype(np.float32)
        emissions[:, 2] += 3.0  # "I-date" everywhere is what argmax per word would say
        best = max(
            (p for p in itertools.product(range(len(TAGS)), repeat=4)
             if TAGS[p[0]] != "I-date" and all(allowed[a, b] for a, b in itertools.pairwise(p))),
            key=lambda p: _path_score(crf, torch.as_tensor(emissions), p).item(),
        )  # fmt: skip
        assert viterbi_path(emissions, *crf.numpy_scores()) == list(best)
    assert viterbi_path(np.zeros((0, len(TAGS)), dtype=np.float32), *crf.numpy_scores()) == []


def test_invalid_moves_stay_blocked_whatever_the_learned_scores():
    crf = _random_crf(3)
    with torch.no_grad():
        crf.transitions.fill_(50.0)
        crf.start.fill_(50.0)
    transitions, start = crf.scores()
    assert transitions[0, 2] == BLOCKED and transitions[3, 2] == BLOCKED and start[2] == BLOCKED
    assert transitions[1, 2] == 50.0 and transitions[2, 2] == 50.0
