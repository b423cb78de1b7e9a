"""Generation prompts in the papers' style and batched sampling from a local causal LM."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from agileclf.backbones.scoring import left_pad
from agileclf.errors import ConfigError

INSTRUCTION = (
    "Few examples of {task} having {kind} {label} are given. Generate more examples of {task} having {kind} {label}."
)
EXAMPLE = "Example: {text}"
OPEN = "Example:"
# With a chat template the request ends the user turn and the assistant's answer is prefilled with OPEN, so the
# model writes the example itself, not text about the task ("Here are 4 more examples ...", measured on SmolLM2).
CHAT_REQUEST = "Write one new example like these, on one line."


@dataclass(frozen=True)
class GenerationSettings:
    """How candidates are sampled: one new text per prompt, `batch_size` prompts per `generate` call."""

    # 0.7, not 1.0, on 4-per-label samples of three sets with SmolLM2-135M (benchmarks/synth_temperature_dev.py, dev
    # and training rows): an oracle agrees with the label a row was written for +5.8 / +11.5 / +15.7 points more
    # often (SST-2 / TREC / AG News), at 1.2-1.6x the candidates per kept row (more repeats)
    temperature: float = 0.7
    top_p: float = 0.95
    max_new_tokens: int = 48
    batch_size: int = 16
    task: str = "texts"
    label_kind: str = "label"
    chat_template: bool = True
    examples_per_prompt: int = 0  # real examples shown per prompt, a seeded draw of the class's (0: all of them)

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise ConfigError("temperature must be > 0 and top-p in (0, 1]")
        if self.examples_per_prompt < 0:
            raise ConfigError("examples per prompt must be >= 0 (0: all of the class's examples)")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise ConfigError("max new tokens and batch size must be >= 1")


def generation_prompt(label_words: str, examples: Sequence[str], settings: GenerationSettings) -> str:
    """'Few examples of <task> having <kind> <label> are given. Generate more ...', the examples, an open slot."""
    head = INSTRUCTION.format(task=settings.task, kind=settings.label_kind, label=label_words)
    return "\n".join([head, *(EXAMPLE.format(text=" ".join(t.split())) for t in examples), OPEN])


_LEAD = re.compile(r"^\s*(?:example\s*\d*\s*:|\d+[.)]|[-*•])\s*", re.IGNORECASE)


def first_text(continuation: str) -> str:
    """The generated example: the first non-empty line, without an 'Example:' or list-number lead."""
    for line in continuation.splitlines():
        line = _LEAD.sub("", line).strip()
        if line:
            return line
    return ""


class LMGenerator:
    """Samples one continuation per prompt with `model.generate` (left-padded batches, seeded per call)."""

    def __init__(self, backbone, settings: GenerationSettings):
        self.backbone = backbone
        self.settings = settings

    def prompt_ids(self, prompt: str) -> list[int]:
        """Token ids of the rendered prompt; examples are dropped from the front when it would not fit."""
        backbone, room = self.backbone, self.backbone.max_positions - self.settings.max_new_tokens
        chat = backbone.uses_chat_template(self.settings.chat_template)
        head, *lines = prompt.split("\n")
        while True:
            if chat and lines and lines[-1] == OPEN:  # prefill the assistant turn with the open slot
                user = "\n".join([head, *lines[:-1], CHAT_REQUEST])
                ids = backbone.encode(backbone.render(user) + OPEN)
            else:
                ids = backbone.encode(backbone.render("\n".join([head, *lines]), chat=self.settings.chat_template))
            if len(ids) <= room or len(lines) <= 1:
                break
            lines = lines[1:]
        if len(ids) > room:
            raise ConfigError(f"the generation prompt alone has {len(ids)} tokens; the model takes {room} + answer")
        return ids

    @torch.no_grad()
    def __call__(self, prompts: Sequence[str], seed: int) -> list[str]:
        """One generated example text per prompt (empty when the model wrote nothing usable)."""
        cfg, backbone = self.settings, self.backbone
        tokenizer, model = backbone.tokenizer, backbone.model
        texts: list[str] = []
        for start in range(0, len(prompts), cfg.batch_size):
            batch = [self.prompt_ids(p) for p in prompts[start : start + cfg.batch_size]]
            ids, mask = left_pad(batch, tokenizer.pad_token_id)
            generator_seed = seed * 1_000_003 + start
            torch.manual_seed(generator_seed)
            output = model.generate(
                input_ids=ids.to(backbone.device),
                attention_mask=mask.to(backbone.device),
                do_sample=True,
                temperature=cfg.temperature,
                top_p=cfg.top_p,
                top_k=0,
                max_new_tokens=cfg.max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                stop_strings=["\n"],  # one example is one line (the chat turn's end is EOS)
                tokenizer=tokenizer,
            )
            new = output[:, ids.shape[1] :]
            texts += [first_text(t) for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
        return texts
