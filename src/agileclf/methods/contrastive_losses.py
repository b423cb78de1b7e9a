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
        embeddings = torch.nn.functional.normalize(self.model(sentence_features[0])["sentence_embedding"], dim=-1)
        return pair_similarity_loss(embeddings, self.targets(labels))

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
