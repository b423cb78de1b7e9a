"""Exact multi-token label scoring (packed label trie, or the KV-cache fallback) equals the naive log-likelihood."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agileclf.backbones import scoring
from agileclf.backbones.packed_scoring import accepts_packed_masks, build_trie
from agileclf.backbones.scoring import label_probabilities, match_label, naive_log_likelihood, score_continuations

PROMPTS = [[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15, 16, 17, 18, 19, 20, 21], [30]]
LABELS = [[40], [41, 42, 43], [44, 45], [41, 46, 47, 48]]  # mixed lengths, two share a first token
# 20 labels: one-token labels, a label that is a prefix of others, deep shared prefixes, distinct tails.
MANY_LABELS = [
    [50],
    [51],
    [52, 53],
    [52, 53, 54],
    [52, 53, 55, 56],
    [52, 57],
    *([[60, 61, 62 + i, 70 + i] for i in range(8)]),
    *([[63 + i, 80 + i, 90] for i in range(6)]),
]


def tiny_model(kind: str = "llama", attn: str = "sdpa", **extra):
    """A random tiny causal LM of the given family (vocab 97), in eval mode."""
    import transformers

    torch.manual_seed(0)
    sizes = dict(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    if kind == "gpt2":
        config = transformers.GPT2Config(vocab_size=97, n_embd=32, n_layer=2, n_head=4, n_positions=128)
        return transformers.GPT2LMHeadModel._from_config(config, attn_implementation=attn).eval()
    families = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM),
    }
    config_class, model_class = families[kind]
    config = config_class(**sizes, num_key_value_heads=2, max_position_embeddings=128, **extra)
    return model_class._from_config(config, attn_implementation=attn).eval()


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny matrices gain nothing from threads; one keeps this module fast on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def random_llama():
    return tiny_model()


def naive_matrix(model, prompts, labels, soft_prompt=None) -> np.ndarray:
    return np.array([[naive_log_likelihood(model, p, c, soft_prompt) for c in labels] for p in prompts])


def test_trie_feeds_shared_prefixes_once_and_never_a_last_token():
    trie = build_trie(MANY_LABELS)
    # fed: 52, 52 53, 52 53 55 | 60, 60 61, 60 61 62+i (8) | 63+i, 63+i 80+i (12); one-token labels add nothing
    assert trie.n_nodes == 3 + 2 + 8 + 12
    assert trie.tokens.count(52) == 1 and trie.tokens.count(60) == 1 and 90 not in trie.tokens
    assert [trie.depths[trie.tokens.index(t)] for t in (52, 53, 55, 60, 61, 62)] == [0, 1, 2, 0, 1, 2]
    assert trie.sources[3] == (0, trie.tokens.index(52) + 1, trie.tokens.index(53) + 1)


@pytest.mark.parametrize("strategy", ["packed", "cache", "auto"])
@pytest.mark.parametrize("soft", [False, True])
def test_scoring_equals_naive_log_likelihood(random_llama, strategy, soft):
    torch.manual_seed(1)
    soft_prompt = torch.randn(3, 32) * 0.1 if soft else None
    scores = score_continuations(
        random_llama, PROMPTS, LABELS, pad_id=0, soft_prompt=soft_prompt, batch_size=3, strategy=strategy
    )
    assert np.abs(scores - naive_matrix(random_llama, PROMPTS, LABELS, soft_prompt)).max() < 1e-4


@pytest.mark.parametrize("strategy", ["prefix", "auto"])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize(("kind", "attn", "packed"), [("llama", "sdpa", True), ("llama", "sdpa", False),
                                                       ("llama", "eager", True), ("gpt2", "sdpa", True)])  # fmt: skip
def test_a_shared_prefix_run_once_gives_the_same_scores(strategy, soft, kind, attn, packed, monkeypatch):
    """Prompts that start alike (instruction, demonstrations): the prefix's cache is computed once and reused,
    each batch's endings left-padded after it, with the label trie packed after them (or the cache path for a
    model that takes no custom masks); the scores are the naive ones."""
    random_llama = tiny_model(kind, attn)
    monkeypatch.setattr(scoring, "MIN_SHARED_PREFIX", 4)
    monkeypatch.setattr(scoring, "accepts_packed_masks", lambda model: packed)
    shared = [[3, 4, 5, 6, 22] + p for p in PROMPTS]
    assert scoring.shared_prefix_length(shared) == 5
    torch.manual_seed(1)
    soft_prompt = torch.randn(3, random_llama.get_input_embeddings().embedding_dim) * 0.1 if soft else None
    calls = []
    real = scoring.prefix_pass
    monkeypatch.setattr(scoring, "prefix_pass", lambda *a: calls.append(a[1].shape) or real(*a))
    scores = score_continuations(random_llama, shared, MANY_LABELS, 0, soft_prompt, batch_size=3, strategy=strategy)
    assert calls == [torch.Size([1, 5])]
    assert np.abs(scores - naive_matrix(random_llama, shared, MANY_LABELS, soft_prompt)).max() < 1e-4


def test_shared_prefix_leaves_every_prompt_a_token_of_its_own():
    assert scoring.shared_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2
    assert scoring.shared_prefix_length([[1, 2], [3, 2]]) == 0
    assert scoring.shared_prefix_length([[1, 2, 3]]) == 0


@pytest.mark.parametrize(
    ("kind", "attn"), [("llama", "sdpa"), ("llama", "eager"), ("qwen2", "sdpa"), ("mistral", "eager"), ("gpt2", "sdpa")]
)
def test_packed_scoring_of_twenty_labels_with_shared_prefixes(kind, attn):
    """K = 20 in left-padded batches of different prompt lengths, with and without a soft prompt."""
    model = tiny_model(kind, attn)
    assert accepts_packed_masks(model)
    torch.manual_seed(2)
    dim = model.get_input_embeddings().embedding_dim
    for soft_prompt in (None, torch.randn(2, dim) * 0.1):
        packed = score_continuations(model, PROMPTS, MANY_LABELS, 0, soft_prompt, batch_size=4, strategy="packed")
        naive = naive_matrix(model, PROMPTS, MANY_LABELS, soft_prompt)
        assert np.abs(packed - naive).max() < 1e-4


def test_packed_scoring_through_a_peft_lora_model():
    """LoRA methods score through a PeftModel; non-zero adapters must act on the packed pass too."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    model = get_peft_model(tiny_model(), config).eval()
    assert accepts_packed_masks(model)
    scores = score_continuations(model, PROMPTS, MANY_LABELS, pad_id=0, batch_size=3)
    assert np.abs(scores - naive_matrix(model, PROMPTS, MANY_LABELS)).max() < 1e-4
    with model.disable_adapter():
        plain = naive_matrix(model, PROMPTS[:1], MANY_LABELS)
    assert np.abs(scores[:1] - plain).max() > 1e-4  # the adapters changed the scores


class IgnoresCustomMasks(torch.nn.Module):
    """A causal LM that drops a 4-D mask (like a kernel that only reads padding), or raises on one."""

    def __init__(self, inner, reject: bool):
        super().__init__()
        self.inner, self.reject, self.config = inner, reject, inner.config

    def get_input_embeddings(self):
        return self.inner.get_input_embeddings()

    def forward(self, attention_mask=None, position_ids=None, **kwargs):
        if attention_mask is not None and attention_mask.dim() == 4:
            if self.reject:
                raise ValueError("4-D attention masks are not supported")
            attention_mask = position_ids = None
        return self.inner(attention_mask=attention_mask, position_ids=position_ids, **kwargs)


@pytest.mark.parametrize("reject", [True, False])
def test_models_that_ignore_or_reject_custom_masks_fall_back_to_the_cache(random_llama, reject):
    model = IgnoresCustomMasks(random_llama, reject)
    assert not accepts_packed_masks(model)
    scores = score_continuations(model, PROMPTS, MANY_LABELS, pad_id=0, batch_size=3)
    assert np.abs(scores - naive_matrix(random_llama, PROMPTS, MANY_LABELS)).max() < 1e-4
    if not reject:  # forced packing through a model that ignores the mask is wrong, which the probe catches
        forced = score_continuations(model, PROMPTS, MANY_LABELS, pad_id=0, batch_size=3, strategy="packed")
        assert np.abs(forced - naive_matrix(random_llama, PROMPTS, MANY_LABELS)).max() > 1e-2


def test_sliding_window_longer_than_the_packed_sequence_uses_the_cache():
    """A custom mask would bypass the window, so prompts + labels wider than it take the cache path."""
    model = tiny_model("mistral", "sdpa", sliding_window=4)
    scores = score_continuations(model, PROMPTS, LABELS, pad_id=0, batch_size=2)
    assert np.abs(scores - naive_matrix(model, PROMPTS, LABELS)).max() < 1e-4


def test_first_token_scoring_is_one_pass_and_needs_distinct_first_tokens(random_llama):
    distinct = [[40, 1], [41, 2], [42]]
    scores = score_continuations(random_llama, PROMPTS, distinct, pad_id=0, first_token_only=True)
    naive = np.array([[naive_log_likelihood(random_llama, p, c[:1]) for c in distinct] for p in PROMPTS])
    assert np.abs(scores - naive).max() < 1e-4
    with pytest.raises(ValueError, match="first tokens"):
        score_continuations(random_llama, PROMPTS, LABELS, pad_id=0, first_token_only=True)
    with pytest.raises(ValueError, match="strategy"):
        score_continuations(random_llama, PROMPTS, LABELS, pad_id=0, strategy="fast")


def test_length_normalisation():
    scores = np.log(np.array([[0.5, 0.5 * 0.5]]))  # one token at 0.5; two tokens at 0.5 each
    assert label_probabilities(scores, [1, 2])[0].argmax() == 0
    normalised = label_probabilities(scores, [1, 2], length_norm=True)[0]
    assert normalised[0] == pytest.approx(normalised[1], abs=1e-6)


def test_match_label_reads_the_first_line():
    words = ["billing", "billing issue", "other"]
    assert match_label(" Billing issue\nmore", words) == 1
    assert match_label("other.", words) == 2
    assert match_label("billing, I think", words) == 0
    assert match_label("no idea", words) == -1
    assert match_label("", words) == -1


def test_greedy_generation_after_a_shared_prefix_writes_the_same_tokens(random_llama, monkeypatch):
    shared = [[3, 4, 5, 6, 22] + p for p in PROMPTS]
    monkeypatch.setattr(scoring, "MIN_SHARED_PREFIX", 10**6)
    plain = scoring.greedy_generate(random_llama, shared, pad_id=0, stop_ids={96}, max_new_tokens=6, batch_size=3)
    monkeypatch.setattr(scoring, "MIN_SHARED_PREFIX", 4)
    calls = []
    real = scoring.prefix_pass
    monkeypatch.setattr(scoring, "prefix_pass", lambda *a: calls.append(a[1].shape) or real(*a))
    reused = scoring.greedy_generate(random_llama, shared, pad_id=0, stop_ids={96}, max_new_tokens=6, batch_size=3)
    assert calls == [torch.Size([1, 5])]
    assert reused == plain and all(len(tokens) == 6 for tokens in plain)
