"""Multi-task encoder classifier: intent, slots, intent+slots, or label+parent from one shared encoder."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agileclf.artifact import BACKBONE_DIR
from agileclf.backbones.encoder import warn_truncated
from agileclf.data.labels import LabelSet
from agileclf.data.slots import OUTSIDE, check_word_tags, parent_of, spans_from_tags
from agileclf.errors import ConfigError, DataError
from agileclf.methods.base import Method, param
from agileclf.methods.heads import check_class_weight, class_weight_param, class_weights, weighted_cross_entropy
from agileclf.methods.multitask.crf import TagCRF
from agileclf.methods.multitask.model import (
    IGNORE,
    JointEncoder,
    align_word_labels,
    bio_scores,
    encode_words,
    first_token_positions,
    viterbi_path,
    word_positions,
)
from agileclf.methods.registry import register
from agileclf.methods.training import AccelerateConfig, module_device, run_loop

TASKS = ("intent", "slots", "intent+slots", "label+parent")
LABEL_HEAD, PARENT_HEAD = "label", "parent"


@dataclass
class MultitaskConfig(AccelerateConfig):
    task: str = param("intent+slots", "intent | slots | intent+slots | label+parent")
    parent_sep: str = param(".", "label+parent: separator between parent and child ('comp.graphics' -> 'comp')")
    # 10 epochs with token_weight 2 over 5 with 1: MASSIVE dev (2,033 utterances, MiniLM), slot F1 82.80 vs 81.32,
    # +1.47 [+0.40, +2.59] paired; twice the fit (14 vs 7 min on 11,514 utterances). lr 2e-4: -0.41 [-1.31, +0.51]
    epochs: int = param(10, "passes over the training data")
    batch_size: int = param(32, "examples per update")
    lr: float = param(1e-4, "AdamW learning rate of the encoder")
    head_lr: float = param(1e-3, "AdamW learning rate of the heads")
    weight_decay: float = param(0.01, "AdamW weight decay")
    warmup_ratio: float = param(0.1, "fraction of updates with a linearly rising learning rate")
    dropout: float = param(0.1, "dropout before every head")
    max_length: int = param(128, "sub-tokens per text; words past it are tagged O")
    token_weight: float = param(2.0, "weight of the token (slot) loss against the sequence losses (1: equal)")
    # on: MASSIVE dev slot F1 -0.64 [-1.61, +0.32] against off (session 30, benchmarks/massive-slots-dev.sh, D)
    sentence_to_tokens: bool = param(False, "slot tags read each word beside the whole utterance's mean vector")
    # on: MASSIVE dev slot F1 +0.79 [-0.13, +1.73] against off (session 38, benchmarks/massive-slots-dev.sh, E)
    crf: bool = param(False, "slots: a CRF with learned tag transitions, trained on whole tag paths, not per word")
    # on: MASSIVE dev slot F1 -0.86 [-1.88, +0.16], intent -0.74 against off (session 38, same script, F)
    layer_mix: bool = param(False, "slots: the token head reads a learned mix of every encoder layer, not the last")
    decode: str = param("viterbi", "slot tags: 'viterbi' (best valid BIO path) or 'argmax' (per word)")
    class_weight: str | dict | None = class_weight_param()

    def __post_init__(self) -> None:
        super().__post_init__()
        check_class_weight(self.class_weight)
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if self.decode not in ("viterbi", "argmax"):
            raise ValueError(f"decode must be 'viterbi' or 'argmax', not {self.decode!r}")


@dataclass
class FramePrediction:
    """Everything one prediction gives: label and parent probabilities (or None) and word-level tags; a
    generating model adds how well its outputs parsed (`parse_rates`) and its model calls per text."""

    proba: np.ndarray | None
    parent_proba: np.ndarray | None
    tags: list[list[str]] | None
    parse_rates: dict | None = None
    model_calls: int = 1


@register
class MultitaskEncoder(Method):
    """A shared encoder with a sequence head (intent/label), a token head (slots) or a second sequence head
    (parent); heads are trained together with equally weighted cross-entropy."""

    name = "multitask"
    fits_from_labels_alone = False  # its default task needs slot tags
    kinds = ("encoder",)
    config_class = MultitaskConfig
    stores_backbone = True

    def __init__(self, backbone=None, config=None, **params):
        super().__init__(backbone, config, **params)
        self.tag_set: LabelSet | None = None
        self.parent_set: LabelSet | None = None
        self.network: JointEncoder | None = None

    # ---- what the task asks for --------------------------------------------------------------------------
    @property
    def has_label(self) -> bool:
        return self.config.task != "slots"

    @property
    def has_slots(self) -> bool:
        return "slots" in self.config.task

    @property
    def has_parent(self) -> bool:
        return self.config.task == "label+parent"

    # ---- training ----------------------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str] | None = None,
        valid=None,
        label_set: LabelSet | None = None,
        tags: Sequence[Sequence[str]] | None = None,
    ) -> MultitaskEncoder:
        """Train on texts with labels (intent, label+parent) and/or word-level BIO tags (slots).

        `tags[i]` has one tag per whitespace word of `texts[i]`. `valid` is unused: the epochs are fixed.
        """
        texts = [str(t) for t in texts]
        words = [t.split() for t in texts]
        if self.has_label:
            if labels is None or len(labels) != len(texts):
                raise DataError(f"task {self.config.task} needs one label per text")
            self.labels = label_set or LabelSet.from_labels(labels)
            if len(self.labels) < 2:
                raise DataError(f"a classifier needs at least 2 labels, got {self.labels.names}")
        if self.has_slots:
            check_word_tags(self.config.task, words, tags, texts, "intent+slots or slots")
            self.tag_set = LabelSet.from_labels([OUTSIDE, *(tag for row in tags for tag in row)])
            if not self.has_label:
                self.labels = self.tag_set
        if self.has_parent:
            self.parent_set = LabelSet.from_labels(parent_of(name, self.config.parent_sep) for name in self.labels)
        if not texts:
            raise DataError("multi-task training needs examples")
        targets = self._targets(labels, tags)
        self.train_fingerprint = _fingerprint(texts, labels, tags)
        self.train_size = len(texts)
        self._train(words, targets)
        return self

    def _targets(self, labels, tags) -> dict[str, list]:
        targets: dict[str, list] = {}
        if self.has_label:
            targets[LABEL_HEAD] = self.labels.encode(list(labels)).tolist()
        if self.has_parent:
            targets[PARENT_HEAD] = self.parent_set.encode([self.parent_of(y) for y in labels]).tolist()
        if self.has_slots:
            targets["tokens"] = [self.tag_set.encode(list(row)).tolist() for row in tags]
        return targets

    def _build_network(self, transformer: nn.Module) -> JointEncoder:
        sizes = {}
        if self.has_label:
            sizes[LABEL_HEAD] = len(self.labels)
        if self.has_parent:
            sizes[PARENT_HEAD] = len(self.parent_set)
        token_size = len(self.tag_set) if self.has_slots else 0
        cfg = self.config
        crf = TagCRF(self.tag_set.names) if self.has_slots and cfg.crf else None
        network = JointEncoder(transformer, sizes, token_size, cfg.dropout, cfg.sentence_to_tokens, cfg.layer_mix, crf)
        return network.to(module_device(transformer))  # heads on the encoder's device

    def _train(self, words: list[list[str]], targets: dict[str, list]) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        rng = np.random.Generator(np.random.PCG64(cfg.seed))
        base = self.backbone.origin  # a refit starts from the untuned encoder, like a fresh object
        sentence_model = base.trainable_copy()
        tokenizer = sentence_model.tokenizer
        warn_truncated(tokenizer, [" ".join(w) for w in words], cfg.max_length, self.name)
        network = self._build_network(sentence_model[0].auto_model)
        heads = [p for n, p in network.named_parameters() if not n.startswith("transformer.")]
        optimizer = torch.optim.AdamW(
            [{"params": network.transformer.parameters(), "lr": cfg.lr}, {"params": heads, "lr": cfg.head_lr}],
            weight_decay=cfg.weight_decay,
        )
        weights = {}
        if LABEL_HEAD in targets:
            weights[LABEL_HEAD] = class_weights(cfg.class_weight, np.asarray(targets[LABEL_HEAD]), self.labels.names)
        if PARENT_HEAD in targets and cfg.class_weight == "balanced":  # a {label: weight} names children only
            weights[PARENT_HEAD] = class_weights("balanced", np.asarray(targets[PARENT_HEAD]), self.parent_set.names)

        def epoch_batches():
            return length_bucketed_batches([len(w) for w in words], cfg.batch_size, rng)

        def loss_of(module, rows) -> torch.Tensor:
            return self._batch_loss(module, tokenizer, [words[i] for i in rows], targets, rows, weights)

        run_loop(
            network, optimizer, epoch_batches, loss_of, epochs=cfg.epochs,
            batches_per_epoch=math.ceil(len(words) / cfg.batch_size), warmup_ratio=cfg.warmup_ratio, max_grad_norm=1.0,
            mixed_precision=cfg.mixed_precision, grad_accumulation=cfg.grad_accumulation,
            desc=f"multitask {cfg.task}, {len(words)} examples",
        )  # fmt: skip
        self.network = network
        self.backbone = base.with_model(sentence_model)  # the tuned copy; `base` stays untouched

    def _batch_loss(self, network, tokenizer, words, targets, rows, weights=None) -> torch.Tensor:
        weights = weights or {}
        encoded = encode_words(tokenizer, words, self.config.max_length).to(module_device(network))
        logits = network(**encoded)
        loss = torch.zeros((), device=encoded["input_ids"].device)
        for head in (LABEL_HEAD, PARENT_HEAD):
            if head in targets:
                gold = torch.as_tensor([targets[head][i] for i in rows])
                loss = loss + weighted_cross_entropy(logits[head], gold, weights.get(head))
        if "tokens" in targets and network.crf is not None:
            loss = loss + self.config.token_weight * _crf_loss(network.crf, encoded, logits["tokens"], targets, rows)
        elif "tokens" in targets:
            gold = torch.as_tensor(
                [align_word_labels(encoded.word_ids(b), targets["tokens"][i]) for b, i in enumerate(rows)]
            )
            token_loss = nn.functional.cross_entropy(
                logits["tokens"].flatten(0, 1), gold.flatten().to(logits["tokens"].device), ignore_index=IGNORE
            )
            loss = loss + self.config.token_weight * token_loss
        return loss

    # ---- prediction --------------------------------------------------------------------------------------
    def parent_of(self, label: str) -> str:
        return parent_of(label, self.config.parent_sep)

    @torch.inference_mode()
    def predict_outputs(self, texts: Sequence[str], batch_size: int = 64) -> FramePrediction:
        """Label and parent probabilities and word tags of every text, in one encoder pass per batch."""
        self._check_fitted()
        texts = list(texts)
        words = [t.split() for t in texts]
        proba = np.zeros((len(texts), len(self.labels)), dtype=np.float32) if self.has_label else None
        parent = np.zeros((len(texts), len(self.parent_set)), dtype=np.float32) if self.has_parent else None
        tags: list[list[str]] | None = [[] for _ in texts] if self.has_slots else None
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad little
        tokenizer = self.backbone.model.tokenizer
        path_scores = self._path_scores() if tags is not None and self.config.decode == "viterbi" else None
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            encoded = encode_words(tokenizer, [words[i] for i in rows], self.config.max_length)
            logits = self.network(**encoded.to(module_device(self.network)))
            if proba is not None:
                proba[rows] = torch.softmax(logits[LABEL_HEAD], -1).float().cpu().numpy()
            if parent is not None:
                parent[rows] = torch.softmax(logits[PARENT_HEAD], -1).float().cpu().numpy()
            if tags is not None:
                log_probs = torch.log_softmax(logits["tokens"], -1).float().cpu().numpy()
                for b, i in enumerate(rows):
                    tags[i] = self._decode_tags(log_probs[b], encoded.word_ids(b), len(words[i]), path_scores)
        return FramePrediction(proba, parent, tags)

    def _path_scores(self) -> tuple[np.ndarray, np.ndarray]:
        """(transitions, start) that Viterbi adds to the word scores: the CRF's learned ones (log-softmax shifts
        every path alike, so they apply to log-probabilities as to logits), or 0 on every valid BIO move."""
        return self.network.crf.numpy_scores() if self.network.crf is not None else bio_scores(self.tag_set.names)

    def _decode_tags(self, log_probs: np.ndarray, word_ids: list[int | None], n_words: int, path_scores) -> list[str]:
        """Word tags from one row of token log-probabilities, by Viterbi with `path_scores` (None: argmax per
        word); words cut off by truncation are O."""
        positions = first_token_positions(word_ids, n_words)
        kept = [p for p in positions if p is not None]
        best = iter(viterbi_path(log_probs[kept], *path_scores) if path_scores else log_probs[kept].argmax(-1))
        return [OUTSIDE if p is None else self.tag_set.names[next(best)] for p in positions]

    def predict_frames(self, texts: Sequence[str]) -> list[dict]:
        """Per text: the label with its probability, the slot spans with character offsets, the parent."""
        texts = list(texts)
        outputs = self.predict_outputs(texts)
        return [frame_of(self, outputs, i, text) for i, text in enumerate(texts)]

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        if not self.has_label:
            raise ConfigError("a slots-only model has no sequence label; use predict_frames or --task slots")
        return self.predict_outputs(texts).proba

    # ---- saving and loading ------------------------------------------------------------------------------
    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        sets = {
            "tags": self.tag_set.names if self.tag_set else None,
            "parents": self.parent_set.names if self.parent_set else None,
        }
        return super().save(path, extra={**(extra or {}), "multitask": sets})

    def _state_tensors(self):
        return self.network.head_state()

    def _load_state_tensors(self, tensors) -> None:
        sets = getattr(self, "meta", {}).get("multitask", {})
        if sets.get("tags"):
            self.tag_set = LabelSet(sets["tags"])
        if sets.get("parents"):
            self.parent_set = LabelSet(sets["parents"])
        self.network = self._build_network(self.backbone.model[0].auto_model)
        self.network.to(module_device(self.network.transformer))  # heads beside the encoder (CPU or GPU)
        missing, unexpected = self.network.load_state_dict(tensors, strict=False)
        if unexpected or any(not k.startswith("transformer.") for k in missing):
            raise ConfigError(f"saved heads do not fit this task: missing {missing}, unexpected {unexpected}")
        self.network.eval()

    def _save_files(self, directory: Path) -> None:
        self.backbone.save(directory / BACKBONE_DIR)


def _crf_loss(crf: TagCRF, encoded, token_logits: torch.Tensor, targets: dict, rows) -> torch.Tensor:
    """The CRF's negative log-likelihood per kept word, on each word's first sub-token scores."""
    gold_rows = [targets["tokens"][i] for i in rows]
    index, mask = word_positions(encoded, [len(row) for row in gold_rows])
    index, mask = index.to(token_logits.device), mask.to(token_logits.device)
    emissions = token_logits.gather(1, index.unsqueeze(-1).expand(-1, -1, token_logits.shape[-1]))
    gold = torch.zeros_like(index)
    for b, row in enumerate(gold_rows):
        kept = int(mask[b].sum())
        gold[b, :kept] = torch.as_tensor(row[:kept], dtype=torch.long)
    return crf.nll(emissions.float(), gold, mask) / mask.sum().clamp(min=1)


def length_bucketed_batches(lengths: list[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar lengths: shuffle, sort within windows of 50 batches, shuffle the batches.

    Padding to the longest text of a batch then wastes little compute, while every epoch still differs.
    """
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches.extend(np.array(chunk[i : i + batch_size]) for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def frame_of(classifier: MultitaskEncoder, outputs: FramePrediction, i: int, text: str) -> dict:
    """One prediction as JSON-ready fields: label, probability, slots, parent, parent_probability."""
    frame: dict = {}
    if outputs.proba is not None:
        best = int(outputs.proba[i].argmax())
        frame["label"] = classifier.labels.names[best]
        frame["probability"] = round(float(outputs.proba[i, best]), 6)
    if outputs.parent_proba is not None:
        best = int(outputs.parent_proba[i].argmax())
        frame["parent"] = classifier.parent_set.names[best]
        frame["parent_probability"] = round(float(outputs.parent_proba[i, best]), 6)
    if outputs.tags is not None:
        frame["slots"] = spans_from_tags(text, outputs.tags[i])
    return frame


def _fingerprint(texts, labels, tags) -> str:
    digest = hashlib.sha256()
    for i, text in enumerate(texts):
        row = [text, None if labels is None else labels[i], None if tags is None else list(tags[i])]
        digest.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()
