"""A synthetic language and a tiny Llama-style model "pretrained" on it, built in-process for the learning tests.

The language: texts are 3-4 made-up words of one of four topics. Classification documents use the built-in
`classify` prompt template with the labels blue, gold, green, red; which topic gets which label depends on a
"dialect" (four cyclic shifts). A document shows its dialect by a marker line (`mode2`) most of the time, and
may carry labelled demonstrations. Dialect 0 is the common one (half of all documents): with uniform dialects
the label would be a parity-like function of topic and dialect, with no first-order signal, and a tiny model
sits on the ln 4 loss plateau for thousands of steps (measured: 600 steps, loss 1.38, accuracy 25%). The common
dialect gives topic features a gradient first; the marker's shift is learned on top. With torch 2.13 and
transformers 5.24 (requirements.lock) 800 steps teach only `mode0` (100%): behind `mode1`, `mode2`, `mode3` it
answers 49, 12.5 and 47.5% of 80 texts right, so the frozen model holds no cue for dialect 2 and soft prompts stay
near 45%. At 1200 and 1600 steps every marker is 100%, yet test_learning's text-initialised soft prompt often stays
in the common dialect's basin (0 / 0 / 0% and 55 / 100 / 100% over its three seeds); at 2400 steps prompt tuning and
IPT reach 100% on every seed, for pretraining seeds 0 and 1 alike. (As first written, before the lock: markers
learned by ~400 steps, and 800 steps enough for prompt tuning.)
The task the tests learn is dialect 2 with no marker in the prompt: zero-shot answers in the common dialect and
scores near 0, and a method learns the task by finding the cue (a soft prompt that acts like the marker,
demonstrations, or weights).
"""

from __future__ import annotations

import hashlib
import inspect
import random
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from agileclf.backbones.prompts import BUILTIN_TEMPLATES

TOPICS = [
    ["zorp", "blik", "quan", "flem", "drav", "mosk", "tiv", "yurn"],
    ["pell", "grom", "saff", "wunk", "lorb", "chiz", "nept", "vash"],
    ["kreb", "dulo", "spiv", "hamp", "fozz", "rilk", "tenn", "jabo"],
    ["mirt", "glas", "prog", "ulve", "snek", "bawd", "kitz", "orra"],
]
LABELS = ["blue", "gold", "green", "red"]  # LabelSet order (sorted)
TASK_DIALECT = 2
DIALECT_WEIGHTS = (0.5, 1 / 6, 1 / 6, 1 / 6)
MARKER_RATE = 0.8
COMMITTED_DIR = Path(__file__).parent / "tiny_llama"  # build_pretrained's output at 2400 steps, seed 0
BUILD_KEY_FILE = "build.sha256"


def label_of(topic: int, dialect: int) -> str:
    return LABELS[(topic + dialect) % len(LABELS)]


def sample_text(rng: random.Random, topic: int) -> str:
    return " ".join(rng.choice(TOPICS[topic]) for _ in range(rng.randint(3, 4)))


def task_split(n_per_class: int, seed: int) -> tuple[list[str], list[str]]:
    """Texts and labels of the classification task (dialect 2), `n_per_class` of each label, shuffled."""
    rng = random.Random(seed)
    rows = [(sample_text(rng, t), label_of(t, TASK_DIALECT)) for t in range(4) for _ in range(n_per_class)]
    rng.shuffle(rows)
    return [r[0] for r in rows], [r[1] for r in rows]


def pretraining_document(rng: random.Random) -> str:
    """One document of the synthetic corpus (prompt and answer in the classify template's layout)."""
    template = BUILTIN_TEMPLATES["classify"]
    dialect = rng.choices(range(4), weights=DIALECT_WEIGHTS)[0]
    n_demos = 0 if rng.random() < 0.6 else rng.randint(1, 2)
    demos = []
    for _ in range(n_demos):
        topic = rng.randrange(4)
        demos.append((sample_text(rng, topic), label_of(topic, dialect)))
    topic = rng.randrange(4)
    prompt = template.render(sample_text(rng, topic), LABELS, demos)
    if rng.random() < MARKER_RATE:
        prompt = f"mode{dialect}\n{prompt}"
    return prompt + template.answer(label_of(topic, dialect))


def build_tokenizer(corpus: list[str], directory: Path, vocab_size: int = 400):
    """A byte-level BPE tokenizer trained on the corpus, saved as a Hugging Face fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    fast.save_pretrained(str(directory))
    return fast


def build_model(vocab_size: int, hidden: int = 64, layers: int = 2, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        eos_token_id=0,
        pad_token_id=0,
        bos_token_id=None,
    )
    return LlamaForCausalLM(config)


def answer_targets(tokenizer, batch: dict) -> torch.Tensor:
    """Targets for the token after each `Label:` (the answers); every other position is ignored (-100).

    The rest of a document is template text or random topic words; training on the answers only makes the
    few hundred steps count.
    """
    ids = batch["input_ids"]
    colon = tokenizer.convert_tokens_to_ids(":")
    label = tokenizer.convert_tokens_to_ids("Label")
    after = torch.zeros_like(ids, dtype=torch.bool)
    after[:, 2:] = (ids[:, :-2] == label) & (ids[:, 1:-1] == colon)
    return ids.masked_fill(~after | (batch["attention_mask"] == 0), -100)


def pretrain(model, tokenizer, corpus: list[str], steps: int, batch_size: int = 32, lr: float = 6e-3, seed: int = 0):
    """Next-token training on the corpus's answers (full fine-tuning of every weight)."""
    from transformers import get_cosine_schedule_with_warmup

    torch.manual_seed(seed)
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = get_cosine_schedule_with_warmup(optimizer, steps // 10, steps)
    model.train()
    for _ in range(steps):
        batch = tokenizer(rng.sample(corpus, batch_size), padding=True, return_tensors="pt")
        labels = answer_targets(tokenizer, batch)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    model.eval()
    return float(loss.detach())


def pretraining_corpus(seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [pretraining_document(rng) for _ in range(6000)]


def build_pretrained(directory: Path, steps: int = 2400, seed: int = 0) -> Path:
    """Tokenizer + tiny Llama, pretrained on the synthetic corpus, saved with save_pretrained."""
    corpus = pretraining_corpus(seed)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(corpus, directory)
    model = build_model(len(tokenizer), seed=seed)
    pretrain(model, tokenizer, corpus, steps=steps, seed=seed)
    model.save_pretrained(str(directory))
    (directory / BUILD_KEY_FILE).write_text(build_key(steps, seed) + "\n")
    return directory


def build_key(steps: int, seed: int) -> str:
    """sha256 of everything the pretrained model is made from: the corpus (hence the language and the built-in
    template), the code that tokenizes, builds and trains, and the step count and seed."""
    digest = hashlib.sha256(f"steps={steps} seed={seed}\n".encode())
    for function in (build_tokenizer, build_model, answer_targets, pretrain):
        digest.update(inspect.getsource(function).encode())
    for document in pretraining_corpus(seed):
        digest.update(document.encode() + b"\0")
    return digest.hexdigest()


def committed_pretrained(directory: Path, steps: int = 2400, seed: int = 0) -> Path:
    """The pretrained model of `build_pretrained`, copied from the one committed beside this file (pretraining
    costs about 150 s of one core, more than any test); built afresh, with a warning, when the committed copy was
    made from another corpus, code, step count or seed."""
    committed = COMMITTED_DIR / BUILD_KEY_FILE
    if committed.is_file() and committed.read_text().strip() == build_key(steps, seed):
        shutil.copytree(COMMITTED_DIR, directory, dirs_exist_ok=True)
        return directory
    warnings.warn(
        f"{COMMITTED_DIR} is stale (the corpus, code, steps or seed changed): pretraining a new tiny LM (~150 s); "
        "to commit a fresh one run: python tests/methods/causal/causal_synthetic.py",
        stacklevel=2,
    )
    return build_pretrained(directory, steps, seed)


def build_untrained(directory: Path, hidden: int = 32) -> Path:
    """Tokenizer + an untrained tiny Llama, saved: a distinct base model, or a writer of arbitrary strings."""
    corpus = [pretraining_document(random.Random(i)) for i in range(300)]
    tokenizer = build_tokenizer(corpus, directory)
    build_model(len(tokenizer), hidden=hidden).save_pretrained(str(directory))
    return directory


@contextmanager
def single_torch_thread() -> Iterator[None]:
    """One torch thread: tiny models and their training are then bit-identical on every run of the same machine
    type (thread count changes float summation order), and tiny matrices gain nothing from more."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    # Rebuild the committed model (one thread, as the tests train): into a temporary sibling, then swapped in.
    with single_torch_thread(), tempfile.TemporaryDirectory(dir=COMMITTED_DIR.parent) as scratch:
        fresh = build_pretrained(Path(scratch) / "tiny_llama")
        shutil.rmtree(COMMITTED_DIR, ignore_errors=True)
        fresh.rename(COMMITTED_DIR)
    print(f"wrote {COMMITTED_DIR}")
