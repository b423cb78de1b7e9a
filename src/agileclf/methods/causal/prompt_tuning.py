"""Soft prompt tuning (Lester et al. 2021): learned input embeddings in front of a frozen causal LM."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from agileclf.methods.base import param
from agileclf.methods.causal.training import TrainConfig, TrainedCausalMethod
from agileclf.methods.registry import register

INITS = {"text": "TEXT", "vocab": "SAMPLE_VOCAB", "random": "RANDOM"}
PROMPT_KEY = "prompt_embeddings"  # the tensor name PEFT uses for a saved prompt-tuning adapter


@dataclass
class PromptTuningConfig(TrainConfig):
    num_virtual_tokens: int = param(20, "learned embeddings put in front of every prompt")
    prompt_init: str = param("text", "start from the instruction's token embeddings ('text'), 'vocab' or 'random'")
    init_text: str = param("", "text whose embeddings start the prompt with prompt_init=text (default: instruction)")
    init_from: str = param("", "a saved prompt-tuning or IPT model whose soft prompt starts this one (prompt transfer)")
    min_steps: int = param(50, "with epochs=0, the number of optimizer updates to aim for")
    optimizer: str = param("adafactor", "Adafactor scales steps to the embeddings' size, as in Lester et al.")
    lr: float = param(0.3, "learning rate of the soft prompt (0.3 with Adafactor, as in Lester et al.)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.prompt_init not in INITS:
            raise ValueError(f"prompt_init must be one of {', '.join(INITS)}, not {self.prompt_init!r}")
        if self.num_virtual_tokens < 1:
            raise ValueError("num_virtual_tokens must be >= 1")


@register
class CausalPromptTuning(TrainedCausalMethod):
    """Only the soft prompt learns; the model's weights stay frozen (and shared with other methods)."""

    name = "prompt-tuning"
    config_class = PromptTuningConfig

    def soft_prompt(self):
        return getattr(self, "prompt", None)

    def _start_training(self):
        self.prompt = nn.Parameter(self._initial_prompt())
        return self.backbone.model, self.prompt, [self.prompt]

    def _initial_prompt(self) -> torch.Tensor:
        """PEFT's prompt-tuning initialisation (text, sampled vocabulary or random), as an fp32 tensor; or, with
        init_from, the soft prompt of another saved model on the same backbone (Vu et al.'s prompt transfer)."""
        from peft import PromptTuningConfig as PeftPromptConfig
        from peft.tuners.prompt_tuning import PromptEmbedding

        cfg = self.config
        lm = self.backbone.model
        if cfg.init_from:
            return transferred_prompt(cfg.init_from, lm.get_input_embeddings().embedding_dim).to(self.backbone.device)
        words = [self.words[n] for n in self.names]
        text = cfg.init_text or self.template.instruction.format(labels=", ".join(self.listing)) or " ".join(words)
        peft_config = PeftPromptConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=cfg.num_virtual_tokens,
            token_dim=lm.get_input_embeddings().embedding_dim,
            num_transformer_submodules=1,
            prompt_tuning_init=INITS[cfg.prompt_init],
            # PEFT accepts the tokenizer arguments only for text initialisation
            **(
                {
                    "prompt_tuning_init_text": text,
                    "tokenizer_name_or_path": str(self.backbone.path),
                    "tokenizer_kwargs": {"local_files_only": True},
                }
                if cfg.prompt_init == "text"
                else {}
            ),
        )
        embedding = PromptEmbedding(peft_config, lm.get_input_embeddings())
        return embedding.embedding.weight.detach().float().to(self.backbone.device).clone()

    def _snapshot(self):
        return {PROMPT_KEY: self.prompt.detach().clone()}

    def _load_snapshot(self, snapshot) -> None:
        with torch.no_grad():
            self.prompt.copy_(snapshot[PROMPT_KEY])

    def _finish_training(self) -> None:
        self.prompt.requires_grad_(False)

    def _state_tensors(self):
        return {PROMPT_KEY: self.prompt}

    def _restore(self, state, tensors) -> None:
        self.prompt = nn.Parameter(tensors[PROMPT_KEY].float().to(self.backbone.device), requires_grad=False)


def transferred_prompt(path: str, width: int) -> torch.Tensor:
    """The soft prompt saved in the classifier directory `path`, checked to fit a model of embedding `width`."""
    from agileclf.artifact import read_meta, read_weights
    from agileclf.errors import ConfigError

    meta = read_meta(path)
    prompt = read_weights(path).get(PROMPT_KEY)
    if prompt is None:
        method = meta["method"]
        raise ConfigError(f"init_from {path}: a {method} model holds no soft prompt (train prompt-tuning or ipt)")
    if prompt.ndim != 2 or prompt.shape[1] != width:
        raise ConfigError(
            f"init_from {path}: its prompt is {tuple(prompt.shape)}, this backbone's embeddings are {width} wide "
            f"(trained on {meta['backbone']}); a prompt transfers between tasks on the same model"
        )
    return prompt.detach().float().clone()
