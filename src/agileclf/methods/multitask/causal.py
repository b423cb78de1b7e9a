"""Multi-task with a causal LM: one prompt asking for a JSON frame (intent and slots, the papers' consolidated
style), trained with LoRA or full fine-tuning on the label JSON (loss on the target tokens and EOS only).

Prediction generates the frame greedily and parses it with `parse_frame_output`, which never raises: invalid
JSON and unknown labels are counted (`parse_rates`). The intent's probabilities come, by default, from exact
scoring of each intent as the JSON's opening `{"intent": "<label>"` (a real distribution over the known
intents); `intent_proba=generate` uses the parsed generation instead (one-hot, uniform when unreadable).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from agileclf.backbones.scoring import greedy_generate, label_probabilities, score_continuations
from agileclf.data.labels import LabelSet
from agileclf.data.sampling import sample_rows, stratified_holdout
from agileclf.data.slots import OUTSIDE, check_word_tags, parent_of, spans_from_tags
from agileclf.errors import ConfigError, DataError
from agileclf.evaluate.slots import frame_exact_match, slot_scores
from agileclf.methods.base import Method, param
from agileclf.methods.causal.lora import wrap_lora
from agileclf.methods.causal.training import LabelLoss, LoopConfig, run_training
from agileclf.methods.multitask.encoder import FramePrediction, _fingerprint, frame_of
from agileclf.methods.multitask.json_output import frame_prompt, frame_target, frames_from_generations
from agileclf.methods.registry import register

CAUSAL_TASKS = ("intent", "intent+slots", "label+parent")
STATE_KEY = "multitask"  # agileclf.json: slot types and parents, as the encoder multitask model keeps them


@dataclass
class MultitaskCausalConfig(LoopConfig):
    task: str = param("intent+slots", "intent | intent+slots | label+parent (the parent is read off the label)")
    parent_sep: str = param(".", "label+parent: separator between parent and child ('comp.graphics' -> 'comp')")
    adapter: str = param("lora", "'lora' (PEFT adapters; base weights frozen) or 'full' (every weight)")
    lr: float | None = param(None, "learning rate; none: 2e-4 with lora, 2e-5 with full")
    min_steps: int = param(200, "with epochs=0, the number of optimizer updates to aim for")
    rank: int = param(16, "LoRA rank r")
    alpha: float = param(32.0, "LoRA alpha (the update is scaled by alpha / rank)")
    dropout: float = param(0.05, "dropout on the LoRA input")
    target_modules: list[str] = param(["all-linear"], "LoRA layers, e.g. q_proj,v_proj; all-linear: every linear")
    intent_proba: str = param("score", "'score' each intent as the JSON's first field, or 'generate' (one-hot)")
    chat_template: bool = param(True, "wrap prompts in the tokenizer's chat template when it has one")
    max_text_tokens: int = param(128, "tokens kept of each utterance")
    max_new_tokens: int = param(128, "tokens generated per frame (generation stops at EOS or a newline)")
    batch_size: int = param(8, "prompts per forward pass at inference")
    max_valid: int = param(200, "validation rows generated at each check (a seeded sample of the held-out ones)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.task not in CAUSAL_TASKS:
            raise ValueError(f"task must be one of {', '.join(CAUSAL_TASKS)} with a causal LM, not {self.task!r}")
        if self.adapter not in ("lora", "full"):
            raise ValueError(f"adapter must be 'lora' or 'full', not {self.adapter!r}")
        if self.intent_proba not in ("score", "generate"):
            raise ValueError(f"intent_proba must be 'score' or 'generate', not {self.intent_proba!r}")
        if self.lr is None:
            self.lr = 2e-4 if self.adapter == "lora" else 2e-5
        if min(self.rank, self.max_new_tokens, self.batch_size, self.max_text_tokens, self.max_valid) < 1:
            raise ValueError("rank, max_new_tokens, max_text_tokens, batch_size and max_valid must be >= 1")


@register
class MultitaskCausalLM(Method):
    """A causal LM taught to answer one prompt with the whole frame as JSON; the artifact keeps only the
    learned weights (the LoRA adapter, or the full state) and checks the base model's fingerprint on load."""

    name = "multitask"
    fits_from_labels_alone = False  # its default task needs slot tags
    kinds = ("causal-lm",)
    config_class = MultitaskCausalConfig

    def __init__(self, backbone=None, config=None, **params):
        super().__init__(backbone, config, **params)
        self.slot_names: list[str] = []
        self.parent_set: LabelSet | None = None
        self.model = None
        self.peft_model = None
        self.weights: dict[str, torch.Tensor] = {}

    @property
    def has_slots(self) -> bool:
        return self.config.task == "intent+slots"

    @property
    def has_parent(self) -> bool:
        return self.config.task == "label+parent"

    def parent_of(self, label: str) -> str:
        return parent_of(label, self.config.parent_sep)

    # ---- training ----------------------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str] | None = None,
        valid: tuple[Sequence[str], Sequence[str], Sequence[Sequence[str]] | None] | None = None,
        label_set: LabelSet | None = None,
        tags: Sequence[Sequence[str]] | None = None,
    ) -> MultitaskCausalLM:
        """Train on texts with labels and (intent+slots) word-level BIO tags, one tag per whitespace word.

        `valid` is (texts, labels, tags or None); without it a stratified slice is held back when every label
        has `holdout_min_per_class` examples. The checkpoint with the best validation score (the mean of intent
        accuracy, slot F1 and frame exact match) is kept.
        """
        cfg = self.config
        texts = [str(t) for t in texts]
        if not texts:
            raise DataError("multi-task training needs examples")
        if labels is None or len(labels) != len(texts):
            raise DataError(f"task {cfg.task} needs one label per text")
        labels = [str(label) for label in labels]
        self.labels = label_set or LabelSet.from_labels(labels)
        if len(self.labels) < 2:
            raise DataError(f"a classifier needs at least 2 labels, got {self.labels.names}")
        self._set_frame_vocabulary(texts, tags)
        self.__dict__.pop("intent_ids", None)  # a refit may change the labels
        targets = [self._target_text(i, texts, labels, tags) for i in range(len(texts))]
        self.train_fingerprint = _fingerprint(texts, labels, tags)
        self.train_size = len(texts)

        rng = np.random.Generator(np.random.PCG64(cfg.seed))
        rows = list(range(len(texts)))
        if valid is None:
            y = self.labels.encode(labels)
            rows, _, held = stratified_holdout(rows, y, cfg.holdout_fraction, cfg.holdout_min_per_class, rng)
            if held is not None:
                held_rows = held[0]
                valid = (
                    [texts[i] for i in held_rows],
                    [labels[i] for i in held_rows],
                    None if tags is None else [tags[i] for i in held_rows],
                )
        if valid is not None and len(valid[0]) > cfg.max_valid:
            keep = sample_rows(len(valid[0]), cfg.max_valid, cfg.seed)
            valid = tuple(None if part is None else [part[i] for i in keep] for part in valid)
        torch.manual_seed(cfg.seed)
        self._build_model()
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        examples = [(self._prompt_ids(texts[i]), self._target_ids(targets[i])) for i in rows]
        score = None if valid is None else (lambda: self._validation_score(*valid))
        self.validation_score, _ = run_training(self, LabelLoss(self.model), parameters, examples, score)
        self.model.requires_grad_(False)
        self.model.eval()
        self.weights = self._snapshot()
        return self

    def _set_frame_vocabulary(self, texts: list[str], tags) -> None:
        """Slot types (intent+slots) and parents (label+parent) the prompt and the outputs use."""
        if self.has_slots:
            check_word_tags(self.config.task, [t.split() for t in texts], tags, texts, "intent+slots")
            self.slot_names = sorted({tag.split("-", 1)[1] for row in tags for tag in row if tag != OUTSIDE})
        if self.has_parent:
            self.parent_set = LabelSet.from_labels(self.parent_of(name) for name in self.labels.names)

    def _target_text(self, i: int, texts: list[str], labels: list[str], tags) -> str:
        """The JSON frame row `i` is trained to write."""
        spans = spans_from_tags(texts[i], list(tags[i])) if self.has_slots else None
        return frame_target(labels[i], spans)

    def _build_model(self) -> None:
        """A private copy of the base model: LoRA adapters injected (base frozen), or every weight trainable."""
        cfg = self.config
        if cfg.adapter == "lora":
            self.peft_model, self.model = wrap_lora(self.backbone, cfg.rank, cfg.alpha, cfg.dropout, cfg.target_modules)
        else:
            self.model = self.backbone.load_model()
            self.model.requires_grad_(True)

    def _snapshot(self) -> dict[str, torch.Tensor]:
        if self.config.adapter == "lora":
            from peft import get_peft_model_state_dict

            return {k: v.detach().to("cpu", copy=True) for k, v in get_peft_model_state_dict(self.peft_model).items()}
        return full_state(self.model)

    def _load_snapshot(self, snapshot: dict[str, torch.Tensor]) -> None:
        if self.config.adapter == "lora":
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(self.peft_model, snapshot)
            return
        missing, unexpected = self.model.load_state_dict(snapshot, strict=False)
        tied = set(self.model.state_dict()) - set(full_state(self.model, copy=False))
        if unexpected or set(missing) - tied:
            raise ConfigError(f"saved weights do not fit this base model: missing {missing}, unexpected {unexpected}")

    def _validation_score(self, texts, labels, tags) -> float:
        outputs = self.predict_outputs(texts)
        predicted = [self.labels.names[i] for i in outputs.proba.argmax(axis=1)]
        parts = [float(np.mean([p == t for p, t in zip(predicted, labels, strict=True)]))]
        if self.has_slots and tags is not None:
            parts.append(slot_scores(tags, outputs.tags)["slot_f1"])
            parts.append(frame_exact_match(labels, predicted, tags, outputs.tags))
        return float(np.mean(parts))

    # ---- prompts -----------------------------------------------------------------------------------------
    @property
    def chat(self) -> bool:
        return self.backbone.uses_chat_template(self.config.chat_template)

    def _prompt_ids(self, text: str) -> list[int]:
        slots = self.slot_names if self.has_slots else None
        prompt = frame_prompt(self.backbone.clip(text, self.config.max_text_tokens), self.labels.names, slots)
        return self.backbone.encode(self.backbone.render(prompt, self.config.chat_template), self.config.chat_template)

    def _answer_ids(self, answer: str) -> list[int]:
        """`answer`'s tokens as the tokenizer splits them after the prompt (SentencePiece splits a leading space
        alone differently), via CausalLMBackbone.encode_answer on a reference prompt."""
        slots = self.slot_names if self.has_slots else None
        reference = self.backbone.render(frame_prompt("-", self.labels.names, slots), self.config.chat_template)
        return self.backbone.encode_answer(reference, answer, self.config.chat_template)

    @property
    def _answer_prefix(self) -> str:
        """A space after `JSON:` in a plain prompt; nothing at the start of a chat template's assistant turn."""
        return "" if self.chat else " "

    def _target_ids(self, target: str) -> list[int]:
        return self._answer_ids(self._answer_prefix + target) + [self.backbone.tokenizer.eos_token_id]

    @property
    def intent_ids(self) -> list[list[int]]:
        """Each intent's continuation as the frame opens: the tokens of `{"intent": "<label>"` as they appear
        in the trained target, up to and including the token that holds the closing quote (recomputed when the
        labels or the chat switch change, e.g. on a refit)."""
        key = (tuple(self.labels.names), self.has_slots, self.chat)
        if getattr(self, "_intent_key", None) != key:
            self._intent_ids, self._intent_key = self._intent_continuations(), key
        return self._intent_ids

    def _intent_continuations(self) -> list[list[int]]:
        tokenizer = self.backbone.tokenizer
        continuations = []
        for label in self.labels.names:
            text = self._answer_prefix + frame_target(label, [] if self.has_slots else None)
            quoted = json.dumps(label, ensure_ascii=False)
            end = text.index(quoted) + len(quoted)
            ids = self._answer_ids(text)
            # The shortest token prefix whose text covers the closing quote (what follows it is the same
            # fixed JSON in every target, so these tokens are the target's own).
            k = next(k for k in range(1, len(ids) + 1) if len(tokenizer.decode(ids[:k])) >= end)
            continuations.append(ids[:k])
        return continuations

    @cached_property
    def stop_ids(self) -> set[int]:
        """EOS and every token that writes a newline: a frame is one line."""
        tokenizer = self.backbone.tokenizer
        pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        newline = {i for i, p in enumerate(pieces) if p and ("\n" in p or "Ċ" in p or p == "<0x0A>")}
        return newline | ({tokenizer.eos_token_id} - {None})

    # ---- prediction --------------------------------------------------------------------------------------
    def _check_model(self) -> None:
        self._check_fitted()
        if self.model is None:
            raise ConfigError("this multitask classifier has no model; fit it or load a saved one")

    @torch.inference_mode()
    def generate_frames(self, texts: Sequence[str]) -> list[str]:
        """The raw JSON generations (greedy; shortest prompts batched together)."""
        self._check_model()
        prompts = [self._prompt_ids(t) for t in texts]
        return self._generate(prompts)

    def _generate(self, prompts: list[list[int]]) -> list[str]:
        tokenizer = self.backbone.tokenizer
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        self.model.eval()
        generated = greedy_generate(
            self.model,
            [prompts[i] for i in order],
            pad_id=tokenizer.pad_token_id,
            stop_ids=self.stop_ids,
            max_new_tokens=self.config.max_new_tokens,
            batch_size=self.config.batch_size,
        )
        outputs = [""] * len(prompts)
        for position, i in enumerate(order):
            outputs[i] = tokenizer.decode(generated[position], skip_special_tokens=True)
        return outputs

    def _score(self, prompts: list[list[int]]) -> np.ndarray:
        self.model.eval()
        scores = score_continuations(
            self.model,
            prompts,
            self.intent_ids,
            pad_id=self.backbone.tokenizer.pad_token_id,
            batch_size=self.config.batch_size,
        )
        return label_probabilities(scores, [len(ids) for ids in self.intent_ids])

    @torch.inference_mode()
    def predict_outputs(self, texts: Sequence[str]) -> FramePrediction:
        """Intent (and parent) probabilities, word-level slot tags from the parsed generation, and parse rates."""
        self._check_model()
        texts = [str(t) for t in texts]
        if not texts:
            empty = np.zeros((0, len(self.labels)), dtype=np.float32)
            return FramePrediction(empty, None, [] if self.has_slots else None, {}, 1)
        prompts = [self._prompt_ids(t) for t in texts]
        generations = self._generate(prompts)
        names = self.labels.names
        generated, tags, rates = frames_from_generations(texts, generations, names, self.slot_names)
        rates.pop("n", None)
        if self.config.intent_proba == "score":
            proba, calls = self._score(prompts), 2
            best = [names[i] for i in proba.argmax(axis=1)]
            rates["generated_intent_agreement"] = float(np.mean([g == b for g, b in zip(generated, best, strict=True)]))
        else:
            proba, calls = one_hot(generated, names), 1
        parent = proba @ self._membership() if self.has_parent else None
        return FramePrediction(proba, parent, tags if self.has_slots else None, rates, calls)

    def _membership(self) -> np.ndarray:
        """(labels, parents) 0/1 matrix: a parent's probability is the sum of its children's."""
        matrix = np.zeros((len(self.labels), len(self.parent_set)), dtype=np.float32)
        for i, name in enumerate(self.labels.names):
            matrix[i, self.parent_set.names.index(self.parent_of(name))] = 1.0
        return matrix

    def predict_frames(self, texts: Sequence[str]) -> list[dict]:
        """Per text: the intent with its probability and the slot spans with character offsets (or the parent)."""
        texts = list(texts)
        outputs = self.predict_outputs(texts)
        return [frame_of(self, outputs, i, text) for i, text in enumerate(texts)]

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        self._check_model()
        if self.config.intent_proba == "generate":
            return self.predict_outputs(texts).proba
        with torch.inference_mode():
            return self._score([self._prompt_ids(t) for t in texts])

    # ---- saving and loading ------------------------------------------------------------------------------
    def save(self, path, extra: dict | None = None):
        state = {"slots": self.slot_names, "parents": self.parent_set.names if self.parent_set else None}
        return super().save(path, extra={**(extra or {}), STATE_KEY: state})

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        return self.weights

    def _load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        state = getattr(self, "meta", {}).get(STATE_KEY, {})
        self.slot_names = list(state.get("slots") or [])
        if state.get("parents"):
            self.parent_set = LabelSet(state["parents"])
        self._build_model()
        self._load_snapshot({k: v.to(self.backbone.device) for k, v in tensors.items()})
        self.model.requires_grad_(False)
        self.model.eval()
        self.weights = dict(tensors)


def full_state(model: torch.nn.Module, copy: bool = True) -> dict[str, torch.Tensor]:
    """Every weight once, on the CPU: tied weights (input embedding = output layer) share storage, which
    safetensors refuses to save twice; loading restores the tie."""
    seen, state = set(), {}
    for name, tensor in model.state_dict().items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if key in seen:
            continue
        seen.add(key)
        state[name] = tensor.detach().to("cpu", copy=True) if copy else tensor
    return state


def one_hot(predicted: Sequence[str | None], names: Sequence[str]) -> np.ndarray:
    """Rows with 1 at the predicted label; uniform rows where the generation named no known label."""
    proba = np.full((len(predicted), len(names)), 1.0 / len(names), dtype=np.float32)
    for row, label in enumerate(predicted):
        if label is not None:
            proba[row] = 0.0
            proba[row, names.index(label)] = 1.0
    return proba
