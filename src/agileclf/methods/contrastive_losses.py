"""The in-batch losses of contrastive tuning, and the zero-loss shortcut and stop around them.

sentence-transformers' triplet losses take a batch of texts and their labels; SetFit's cosine objective is written
here for the same in-batch form (SetFit feeds it pairs as data).
"""

from __future__ import annotations

import torch

LOSSES = ("batch-all", "batch-hard", "batch-semi-hard", "batch-hard-soft-margin", "batch-cosine")


def in_batch_loss(model, name: str, margin: float) -> torch.nn.Module:
    """The loss `name` (one of LOSSES) over the texts of a batch; `margin` for the triplet losses."""
    from sentence_transformers.sentence_transformer import losses

    cosine = losses.BatchHardTripletLossDistanceFunction.cosine_distance
    if name == "batch-cosine":
        return BatchCosineSimilarityLoss(model)
    if name == "batch-hard-soft-margin":
        return losses.BatchHardSoftMarginTripletLoss(model, distance_metric=cosine)
    cls = {
        "batch-all": losses.BatchAllTripletLoss,
        "batch-hard": losses.BatchHardTripletLoss,
        "batch-semi-hard": losses.BatchSemiHardTripletLoss,
    }[name]
    return cls(model, distance_metric=cosine, margin=margin)


class BatchCosineSimilarityLoss(torch.nn.Module):
    """SetFit's objective, cosine similarity regressed to 1 (same label) or 0, over every pair inside a batch.

    sentence-transformers' CosineSimilarityLoss needs the pairs as data (SetFit's n^2 sampling); here a batch of
    b texts gives b(b-1)/2 pairs for b forward passes. Same- and different-label pairs are averaged separately,
    then weighted equally, as SetFit's oversampling balances them.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, sentence_features, labels: torch.Tensor) -> torch.Tensor:
        return self.compute_loss_from_embeddings([self.model(sentence_features[0])["sentence_embedding"]], labels)

    def compute_loss_from_embeddings(self, embeddings: list[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """The loss of embeddings already computed (sentence-transformers' losses have the same method)."""
        return pair_similarity_loss(torch.nn.functional.normalize(embeddings[0], dim=-1), self.targets(labels))

    @staticmethod
    def targets(labels: torch.Tensor) -> torch.Tensor:
        """Target cosine of each pair: 1 for the same label, else 0."""
        return (labels[:, None] == labels[None, :]).float()


def pair_similarity_loss(embeddings: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error between each pair's cosine and its target, over the pairs of a batch; pairs with a target
    above 0 and pairs at 0 are averaged separately, then weighted equally (SetFit's balanced sampling)."""
    similarity = embeddings @ embeddings.T
    upper = torch.ones_like(similarity, dtype=torch.bool).triu(diagonal=1)
    positive, negative = (target > 0) & upper, (target <= 0) & upper
    terms = [((similarity - target) ** 2)[positive], (similarity**2)[negative]]
    present = [t.mean() for t in terms if t.numel()]
    return torch.stack(present).mean()


class LengthBuckets(torch.nn.Module):
    """An in-batch loss whose batch is encoded in `buckets` groups of texts of similar length, each padded only to its
    own longest text, then scored together: the attention mask already hides padding from every real token, so the
    embeddings (and the loss) are those of one padded pass, for fewer token positions computed. Written here:
    sentence-transformers pads a batch to its longest text; its length grouping works across batches, not inside
    one, and the in-batch losses need the whole batch in one loss."""

    def __init__(self, loss: torch.nn.Module, model, buckets: int):
        super().__init__()
        self.loss = loss
        self.encoder = [model]  # a list: the trainer's model owns the weights, not this loss
        self.buckets = buckets
        self.left_padded = getattr(getattr(model, "tokenizer", None), "padding_side", "right") == "left"

    def forward(self, sentence_features, labels: torch.Tensor) -> torch.Tensor:
        return self.loss.compute_loss_from_embeddings([self.embed(sentence_features[0])], labels)

    def embed(self, features: dict) -> torch.Tensor:
        """The batch's sentence embeddings in its own row order, computed bucket by bucket (in one pass where the
        tokenizer pads on the left: absolute positions there count the padding, so cutting it would move them)."""
        if self.left_padded:
            return self.encoder[0](features)["sentence_embedding"]
        mask = features["attention_mask"]
        lengths = mask.sum(dim=1)
        order = torch.argsort(lengths, stable=True)
        parts = []
        for rows in torch.tensor_split(order, min(self.buckets, len(order))):
            width = int(lengths[rows].max())
            parts.append(self.encoder[0]({k: _rows(v, rows, width, mask.shape) for k, v in features.items()}))
        embeddings = torch.cat([part["sentence_embedding"] for part in parts])
        return embeddings[torch.argsort(order)]


def _rows(value, rows: torch.Tensor, width: int, shape: torch.Size):
    """A feature's rows of one bucket, its token columns cut to `width` (right padding dropped); anything not
    per-row is passed as is."""
    if not isinstance(value, torch.Tensor) or value.dim() == 0 or value.shape[0] != shape[0]:
        return value
    value = value[rows]
    return value[:, :width] if value.dim() >= 2 and value.shape[1] == shape[1] else value


class ZeroLossSkipsBackward(torch.nn.Module):
    """An in-batch loss whose backward pass is skipped when its value is exactly 0 (every triplet meets the margin):
    the gradients are then exactly 0, so they are written as zeros instead of computed, and the optimizer's step (its
    momentum still moves the weights) is the same as before, for about half the cost of such an update. The trainer
    has no hook between the loss and the backward pass, so the loss hands it a detached 0. `zero_run` counts the
    updates in a row at zero loss (the zero-loss stop reads it)."""

    def __init__(self, loss: torch.nn.Module, model):
        super().__init__()
        self.loss = loss
        self.trainable = [p for p in model.parameters() if p.requires_grad]  # a list: not registered as modules
        self.zero_run = 0

    def forward(self, sentence_features, labels: torch.Tensor) -> torch.Tensor:
        value = self.loss(sentence_features, labels)
        if not torch.is_grad_enabled():
            return value
        if float(value.detach()) != 0.0:
            self.zero_run = 0
            return value
        self.zero_run += 1
        for parameter in self.trainable:
            if parameter.grad is None:
                parameter.grad = torch.zeros_like(parameter)
        return value.detach().requires_grad_()


def zero_loss_stop(loss: ZeroLossSkipsBackward, patience: int):
    """A trainer callback that ends training after `patience` updates in a row whose loss was exactly 0: a triplet
    loss is 0 when every triplet in the batch already meets the margin, so such updates move the encoder only through
    the optimizer's momentum (transformers stops early on evaluation metrics only, not on the training loss)."""
    from transformers import TrainerCallback

    class ZeroLossStop(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            control.should_training_stop = control.should_training_stop or loss.zero_run >= patience
            return control

    return ZeroLossStop()
