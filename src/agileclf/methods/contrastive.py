"""SetFit-style contrastive tuning of the encoder, then a logistic head on the tuned embeddings.

SetFit samples sentence pairs as data (pairs grow with n^2, or 2 x num_iterations x n) and feeds each pair
through the encoder. Here a batch of b texts (a group-by-label sampler puts 2+ of a label together) is encoded
once and the loss looks at every pair or triplet inside it: sentence-transformers' in-batch triplet losses
(`batch-all`, the default) or SetFit's cosine objective (`batch-cosine`). One epoch costs one forward/backward
pass per example: the cost is linear in the data.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from agileclf.artifact import BACKBONE_DIR
from agileclf.backbones.encoder import average_models
from agileclf.errors import DataError
from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.contrastive_losses import (
    LOSSES,
    LengthBuckets,
    ZeroLossSkipsBackward,
    in_batch_loss,
    zero_loss_stop,
)
from agileclf.methods.finetune import SentenceClassifier
from agileclf.methods.heads import (
    LogisticHeadState,
    check_class_weight,
    class_weight_param,
    class_weights,
    fit_logistic_head,
    head_arrays,
    head_proba,
    weighted_cross_entropy,
)
from agileclf.methods.inference import FastInference, check_inference, inference_param
from agileclf.methods.registry import register
from agileclf.methods.training import (
    check_mixed_precision,
    drop_autocast,
    prepare_mixed_precision,
    run_loop,
    shuffled_batches,
)
from agileclf.progress import is_quiet, progress, quiet_loading

# Label anchors on the dev splits at 8 shots (docs/setfit-comparison.md, "Label anchors"): ag_news +1.2 [+0.1, +2.4],
# sst2 +3.2 [+0.3, +6.5], massive_en +1.0 [-0.3, +2.4]; trec, whose names (ABBR, DESC, ...) say little, -0.7 [-1.7,
# +0.3]. So anchors follow from how much the names say on the examples. On 500 8-shot draws from each training file
# (benchmarks/anchor_gate.py), 0.2 turns them on for all ag_news and massive_en draws, 73% of sst2's, 12% of trec's
# (0.1: 87% and 72%)
AUTO_ANCHORS = 2
NAME_SIGNAL = 0.2


@dataclass
class ContrastiveConfig(MethodConfig):
    # batch-all over batch-cosine (chosen on test accuracy before the protocol), on the dev splits at 8 shots:
    # sst2 70.83 vs 70.95 (-0.1 [-1.4, +1.2]), massive_en 74.52 vs 73.00 (+1.5 [+0.9, +2.2]);
    # see docs/setfit-comparison.md
    loss: str = param("batch-all", f"in-batch loss: {', '.join(LOSSES)}")
    margin: float = param(0.25, "triplet margin on cosine distance (triplet losses except batch-hard-soft-margin)")
    passes: float = param(4.0, "passes over the data (the cost is linear in it)")
    min_steps: int = param(160, "at least this many updates, so a handful of examples still moves the encoder")
    # 16 per label: on massive_en's dev split (60 intents, 8 shots, seeds 0-1) 960 updates over 160 gave 76.3 / 76.6
    # vs 74.5 / 74.6; on GoEmotions' (28 labels, multi-label) 480 over 160 gave +3.7 macro-F1. 2-6 labels: unchanged
    steps_per_label: int = param(16, "at least this many updates per label: a batch holds few pairs of any one label")
    batch_size: int = param(16, "examples per update (even, >= 4); pairs and triplets are formed inside each batch")
    # 8 on the dev splits at 8 shots (docs/setfit-comparison.md, "Stopping at zero loss"): sst2 -0.3 [-1.2, +0.4]
    # with 33-53 of 160 updates, ag_news -0.0 [-0.4, +0.3] with 60-75, trec -0.1 [-0.4, +0.3] with 88-142; 4 cost
    # sst2 0.7 points (-0.7 [-1.7, +0.1])
    stop_after_zero_loss: int = param(
        8,
        "stop tuning after this many updates in a row at zero loss (every in-batch triplet meets the margin, "
        "so the encoder has stopped moving); 0: always run every update",
    )
    lr: float = param(2e-5, "learning rate of the encoder")
    # SetFit's 0.1; 0 on the dev splits at 8 shots: sst2 -0.6 [-1.4, +0.2] for 6-8 fewer of its 33-53 updates
    warmup_ratio: float = param(0.1, "fraction of updates with a linearly rising learning rate")
    # bf16 where native: on the dev rows at 8 shots within noise of fp32 at about 30% less fit CPU
    # (docs/setfit-comparison.md, "bf16 autocast")
    mixed_precision: str = param(
        "auto",
        "autocast while tuning, 'no', 'bf16' or 'fp16' (GPU); weights and optimizer stay fp32. 'auto': bf16 where the "
        "CPU (AVX512-BF16, AMX) or GPU multiplies bfloat16 natively, else 'no' (emulated bf16 is slower than fp32)",
    )
    # fixed on the dev rows (docs/setfit-comparison.md, "Fixed embeddings"), 8 shots: sst2 -0.4 [-1.1, +0.3], trec
    # +0.1 [-0.3, +0.5], ag_news -0.0 [-0.4, +0.4]; 64: sst2 -0.3 [-0.8, +0.2], trec +0.0; 6-16% less fit CPU
    tune_embeddings: bool = param(
        False,
        "also tune the embedding layer (MiniLM: 12M of its 23M weights); fixed, an update skips their gradient, "
        "clipping and optimizer step",
    )
    length_buckets: int = param(
        1,
        "encode each batch in this many groups of texts of similar length, each padded only to its own longest "
        "(the same embeddings, fewer padded positions computed); 1: one padded pass",
    )
    max_length: int = param(128, "tokens per text; longer texts are truncated")
    anchors: int | None = param(
        None,
        "copies of each label's name (or description) added to the tuning data as its examples (AncSetFit); "
        f"None: {AUTO_ANCHORS} when the names alone classify the examples at least {NAME_SIGNAL:.0%} of the way "
        "from chance to all right and the names' words tell them apart ('0' / '1', 'LABEL_0' / 'LABEL_1' say nothing), "
        "else 0",
    )
    anchor_template: str = param("{label}", "text of a label's anchor; {label} is its name or description")
    c: float | None = param(None, "head's inverse regularisation; None picks it by cross-validation")
    end_to_end: int = param(
        0,
        "epochs of SetFit's optional second phase: encoder and head (from the fitted one) tuned together on "
        "cross-entropy (0: off)",
    )
    end_to_end_head: str = param(
        "fitted", "second phase's head start: 'fitted' (the logistic head) or 'zeros' (SetFit)"
    )
    end_to_end_lr: float = param(1e-5, "second phase: learning rate of the encoder (SetFit's default)")
    end_to_end_head_lr: float = param(1e-2, "second phase: learning rate of the head (SetFit's default)")
    class_weight: str | dict | None = class_weight_param()
    inference: str = inference_param()

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        if self.batch_size < 4 or self.batch_size % 2:
            raise ValueError(f"batch_size must be even and >= 4, got {self.batch_size}")
        check_inference(self.inference)
        check_class_weight(self.class_weight)
        if self.anchors is not None and self.anchors < 0:
            raise ValueError(f"anchors must be >= 0, got {self.anchors}")
        if self.end_to_end_head not in ("fitted", "zeros"):
            raise ValueError(f"end_to_end_head must be 'fitted' or 'zeros', not {self.end_to_end_head!r}")
        if self.stop_after_zero_loss < 0:
            raise ValueError(f"stop_after_zero_loss must be >= 0, got {self.stop_after_zero_loss}")
        check_mixed_precision(self.mixed_precision)
        if self.length_buckets < 1:
            raise ValueError(f"length_buckets must be >= 1, got {self.length_buckets}")
        if self.end_to_end < 0:
            raise ValueError(f"end_to_end must be >= 0 epochs, got {self.end_to_end}")
        if "{label}" not in self.anchor_template:
            raise ValueError(f"anchor_template must contain {{label}}, got {self.anchor_template!r}")


def training_steps(n_examples: int, n_labels: int, cfg: ContrastiveConfig) -> int:
    """Updates for n examples of n_labels labels: `passes` epochs' worth, at least `min_steps` and
    `steps_per_label` per label (linear in n and in the labels, never n^2)."""
    floor = max(cfg.min_steps, cfg.steps_per_label * n_labels)
    return max(floor, math.ceil(cfg.passes * n_examples / cfg.batch_size))


def check_tunable(y: np.ndarray, names: list[str]) -> None:
    """Contrastive tuning needs pairs of a label: two labels with two or more examples each. Without them it
    would be a linear probe under another name, so it is an error that says what to use instead."""
    counts = np.bincount(y, minlength=len(names))
    if (counts >= 2).sum() < 2:
        shown = ", ".join(f"{name} ({count})" for name, count in zip(names, counts, strict=True))
        raise DataError(
            "contrastive tuning needs at least two labels with two or more examples each (same-label pairs); "
            f"the examples per label are: {shown}. Add examples, or use linear-probe or zero-shot"
        )


def name_hits(backbone, texts: list[str], y: np.ndarray, names: list[str]) -> np.ndarray:
    """Per example: is its nearest label name (cosine, untuned encoder) its own label's?"""
    similarity = backbone.embed(texts, normalize=True) @ backbone.embed(names, normalize=True).T
    return similarity.argmax(axis=1) == y


def above_chance(accuracy: float, n_labels: int) -> float:
    """Accuracy on a scale from chance (0) to every example right (1); below 0 when worse than chance."""
    chance = 1 / n_labels
    return (accuracy - chance) / (1 - chance)


def name_signal(backbone, texts: list[str], y: np.ndarray, names: list[str]) -> float:
    """How far the label names alone get on the examples, from chance (0) to every example right (1)."""
    return above_chance(float(name_hits(backbone, texts, y, names).mean()), len(names))


@register
class Contrastive(LogisticHeadState, FastInference, Method):
    """Metric learning of the encoder on in-batch pairs (linear cost), then a CV-tuned logistic head."""

    name = "contrastive"
    tunes_backbone = True
    kinds = ("encoder",)
    config_class = ContrastiveConfig
    stores_backbone = True
    FIT_CHOICES = {"chosen_c": "c", "steps": "steps", "anchors_used": "anchors", "name_signal": "name_signal"}

    def _fit(self, texts, y, valid) -> None:
        cfg = self.config
        base = self.backbone.origin  # a refit starts from the untuned encoder, like a fresh object
        model = base.trainable_copy(cfg.max_length)
        base.warn_truncated(texts, cfg.max_length, self.name)
        self.steps = self._train_encoder(model, texts, y)
        model.eval()
        self.backbone = base.with_model(model)  # the tuned copy; `base` stays untouched
        self._fit_head(self.backbone.embed(texts, normalize=True), y)
        if cfg.end_to_end:
            self._tune_end_to_end(texts, y)

    def _train_encoder(self, model, texts: list[str], y: np.ndarray) -> int:
        """Tune `model` in place; the number of updates made (fewer than scheduled after a zero-loss stop)."""
        check_tunable(y, self.labels.names)  # the sampler needs 2 labels with 2+ rows; never a silent probe
        steps = training_steps(len(texts), len(self.labels), self.config)
        anchor_texts, anchor_y = self._anchors(texts, y)
        targets = [int(v) for v in y] + anchor_y
        return _train(
            model,
            list(texts) + anchor_texts,
            targets,
            self.config,
            steps,
            in_batch_loss(model, self.config.loss, self.config.margin),
        )

    def _anchor_texts(self) -> list[str]:
        return [self.config.anchor_template.format(label=self.labels.describe(n)) for n in self.labels.names]

    def _anchors(self, texts: list[str], y: np.ndarray) -> tuple[list[str], list[int]]:
        """Each label's name or description, `anchors` times, as extra tuning rows of that label: the in-batch
        loss then pulls a label's examples toward its name and away from the other names (AncSetFit's idea)."""
        copies, anchor_texts = self.config.anchors, self._anchor_texts()
        if copies is None:
            self.name_signal = name_signal(self.backbone.origin, texts, y, anchor_texts)
            # names without words of their own ('0', 'LABEL_1') say nothing, yet on 16 rows the signal reaches 0.2 by
            # chance (p=0.23)
            meaningful = not self.labels.wordless()
            copies = AUTO_ANCHORS if meaningful and self.name_signal >= NAME_SIGNAL else 0
        self.anchors_used = copies
        return anchor_texts * copies, list(range(len(self.labels))) * copies

    @property
    def refits_head_alone(self) -> bool:
        """Can this tuned model refit only its head (auto's refit=head)? Not after the second phase (end_to_end),
        whose head was tuned with the encoder: a logistic refit would throw that head away."""
        return not self.config.end_to_end

    def refit_head(self, texts: list[str], labels: list[str]) -> Contrastive:
        """Keep the tuned encoder and fit the head again on these examples (`auto`'s `refit=head`: a fold's tuned
        encoder with a head that sees every example)."""
        texts, labels = list(texts), list(labels)
        self._fit_head(self.backbone.embed(texts, normalize=True), self.labels.encode(labels))
        self._record_training_data(texts, labels)
        return self

    def soup(self, others: list[Contrastive]) -> Contrastive:
        """Average this classifier's tuned encoder with the tuned encoders of `others` (the same pretrained encoder
        tuned on other folds): `auto`'s refit=soup. Refit the head afterwards (refit_head)."""
        model = average_models([self.backbone.model, *(other.backbone.model for other in others)])
        self.backbone = self.backbone.origin.with_model(model)  # a new backbone: no embedder of the old weights stays
        return self

    def _fit_head(self, features: np.ndarray, y: np.ndarray) -> None:
        cfg = self.config
        weights = class_weights(cfg.class_weight, y, self.labels.names)
        self.weight, self.bias, self.chosen_c = fit_logistic_head(
            features, y, len(self.labels), cfg.c, cfg.seed, class_weight=weights
        )

    def _tune_end_to_end(self, texts: list[str], y: np.ndarray) -> None:
        """SetFit's second phase: the tuned encoder and a head trained together on cross-entropy, the head starting
        from the fitted logistic one (or from zeros, as SetFit's fresh head). The backbone's model is tuned in
        place."""
        cfg, model = self.config, self.backbone.model
        torch.manual_seed(cfg.seed)
        rng = np.random.Generator(np.random.PCG64(cfg.seed))
        head = torch.nn.Linear(self.weight.shape[1], len(self.labels), device=model.device)
        fitted = cfg.end_to_end_head == "fitted"
        # a label absent from the examples has bias -1e4 (heads.py); -30 still never predicts it, on a scale the
        # head's learning rate can move
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(self.weight) if fitted else torch.zeros_like(head.weight))
            head.bias.copy_(torch.from_numpy(np.maximum(self.bias, -30.0) if fitted else np.zeros_like(self.bias)))
        network = SentenceClassifier(model, head, normalize=True)
        optimizer = torch.optim.AdamW(
            [
                {"params": model.parameters(), "lr": cfg.end_to_end_lr},
                {"params": head.parameters(), "lr": cfg.end_to_end_head_lr},
            ]
        )
        weights = class_weights(cfg.class_weight, y, self.labels.names)
        targets = torch.as_tensor(y)

        def loss_of(module, batch) -> torch.Tensor:
            return weighted_cross_entropy(module([texts[i] for i in batch]), targets[batch], weights)

        model.train()
        run_loop(
            network, optimizer, shuffled_batches(rng, len(texts), cfg.batch_size), loss_of, epochs=cfg.end_to_end,
            batches_per_epoch=math.ceil(len(texts) / cfg.batch_size), warmup_ratio=cfg.warmup_ratio,
            desc=f"contrastive end-to-end {len(texts)} examples",
        )  # fmt: skip
        model.eval()
        self.weight, self.bias = head_arrays(head)

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return head_proba(self._prediction_features(texts, normalize=True), self.weight, self.bias)

    def _save_files(self, directory: Path) -> None:
        self.backbone.save(directory / BACKBONE_DIR)


def _train(model, texts: list[str], targets: list, cfg: ContrastiveConfig, steps: int, loss, batch_sampler=None) -> int:
    """sentence-transformers' trainer (default: a group-by-label batch sampler); nothing is written or logged.
    `targets` is the label column the loss receives (a label id, or a multi-hot row). Returns the updates made."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    train = Dataset.from_dict({"sentence": list(texts), "label": list(targets)})
    precision = prepare_mixed_precision(cfg.mixed_precision, model.device)  # the trainer's Accelerator takes it
    layer = None if cfg.tune_embeddings else embedding_layer(model)
    fixed = [p for p in layer.parameters() if p.requires_grad] if layer is not None else []
    with tempfile.TemporaryDirectory(prefix="agileclf-contrastive-") as tmp, quiet_loading(), frozen(fixed):
        if cfg.length_buckets > 1:
            loss = LengthBuckets(loss, model, cfg.length_buckets)
        loss = ZeroLossSkipsBackward(loss, model)  # after freezing: it zero-fills only what is tuned
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp,
            max_steps=steps,
            per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.lr,
            warmup_steps=cfg.warmup_ratio,  # transformers 5 reads a float below 1 as a ratio
            batch_sampler=batch_sampler or BatchSamplers.GROUP_BY_LABEL,
            seed=cfg.seed,
            data_seed=cfg.seed,
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=is_quiet(),
            use_cpu=model.device.type == "cpu",
            bf16=precision == "bf16",
            fp16=precision == "fp16",
        )
        trainer = _cardless_trainer(f"contrastive {len(texts)} examples", model=model, args=args, train_dataset=train,
                                    loss=loss)  # fmt: skip
        if cfg.stop_after_zero_loss:
            trainer.add_callback(zero_loss_stop(loss, cfg.stop_after_zero_loss))
        trainer.train()
        drop_autocast(model)
        return trainer.state.global_step


def embedding_layer(model) -> torch.nn.Module | None:
    """A sentence-transformers model's embedding layer: BERT-style `embeddings` (tokens, positions, types and their
    norm), else the token embeddings; None without a transformer (a static embedding model is nothing else)."""
    network = getattr(model[0], "auto_model", None)
    if network is None:
        return None
    layer = getattr(network, "embeddings", None)
    return layer if isinstance(layer, torch.nn.Module) else network.get_input_embeddings()


@contextlib.contextmanager
def frozen(parameters: list[torch.nn.Parameter]):
    """These parameters take no gradient inside the block, and do again after it (a later phase may tune them)."""
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in parameters:
            parameter.requires_grad_(True)


def _cardless_trainer(desc: str, **kwargs):
    """sentence-transformers' trainer that shows agileclf's progress bar (named `desc`, gone when training ends, also
    when it stops early) and nothing else: no model card is written here, so its callback (which samples "widget
    examples" behind a bar of its own) is left out, and the final metrics dict is not printed."""
    from sentence_transformers import SentenceTransformerTrainer
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class CardlessTrainer(SentenceTransformerTrainer):
        def add_model_card_callback(self, default_args_dict: dict) -> None:
            pass

    class BarOnly(ProgressCallback):
        def on_train_begin(self, args, state, control, **kwargs) -> None:
            if state.is_world_process_zero:
                self.training_bar = progress(total=state.max_steps, desc=desc)
            self.current_step = 0

        def on_log(self, args, state, control, logs=None, **kwargs) -> None:
            pass

    trainer = CardlessTrainer(**kwargs)
    trainer.remove_callback(PrinterCallback)  # used instead of the bar with disable_tqdm
    if trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(BarOnly())
    return trainer
