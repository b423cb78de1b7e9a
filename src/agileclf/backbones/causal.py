"""Local Hugging Face causal LMs (Llama, Mistral, Qwen, ...): loading, dtype/device choice, prompt rendering."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import torch

from agileclf.backbones.base import LocalBackbone, user_errors
from agileclf.backbones.kinds import CAUSAL_LM
from agileclf.errors import BackboneError
from agileclf.progress import quiet_loading


def best_device(device: str | None = None) -> torch.device:
    """The requested device, else CUDA when available, else CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    """bf16 on CUDA (when supported), fp32 elsewhere: CPU kernels for half precision are slow or missing."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


class CausalLMBackbone(LocalBackbone):
    """A causal LM and its tokenizer, loaded lazily from a local `save_pretrained` folder; weights stay frozen."""

    kind = CAUSAL_LM

    def __init__(
        self,
        path: str | Path,
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        chat_template: bool = True,
    ):
        super().__init__(path)
        self.device = best_device(device)
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
            if not isinstance(dtype, torch.dtype):
                raise BackboneError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16")
        self.dtype = dtype or default_dtype(self.device)
        self.chat_template = chat_template

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        with quiet_loading():
            try:
                tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            except user_errors() as err:  # a broken or foreign folder: say which; anything else propagates
                raise BackboneError(f"backbone {self.path}: could not load its tokenizer ({err})") from err
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.unk_token
        return tokenizer

    @cached_property
    def model(self):
        """The shared, frozen model in eval mode; methods that change weights use `load_model()` instead."""
        model = self.load_model()
        model.requires_grad_(False)
        return model

    def load_model(self, dtype: torch.dtype | None = None):
        """A fresh copy of the model from disk (for methods that tune weights and must not touch the shared one)."""
        from transformers import AutoModelForCausalLM

        with quiet_loading():
            try:
                model = AutoModelForCausalLM.from_pretrained(
                    str(self.path), dtype=dtype or self.dtype, local_files_only=True
                )
            except user_errors() as err:  # as above: name the folder
                raise BackboneError(f"backbone {self.path}: could not load a causal LM ({err})") from err
        return model.to(self.device).eval()

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def uses_chat_template(self, enabled: bool = True) -> bool:
        """Whether prompts are wrapped in the tokenizer's chat template (it must have one, and both switches on)."""
        return enabled and self.chat_template and self.has_chat_template

    def render(self, prompt: str, chat: bool = True) -> str:
        """The prompt as the model reads it: a user turn plus the assistant's opening when chat applies."""
        if not self.uses_chat_template(chat):
            return prompt
        messages = [{"role": "user", "content": prompt}]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def encode(self, text: str, chat: bool = True) -> list[int]:
        """Token ids of a rendered prompt; special tokens are added unless the chat template already has them."""
        return self.tokenizer(text, add_special_tokens=not self.uses_chat_template(chat))["input_ids"]

    def encode_continuation(self, text: str) -> list[int]:
        """Token ids of a text on its own, with no special tokens (for cutting texts; not for answers)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def clip(self, text: str, max_tokens: int) -> str:
        """`text` cut to `max_tokens` tokens (short texts are returned as they are)."""
        if len(text) <= max_tokens:  # a token holds at least one character
            return text
        ids = self.encode_continuation(text)
        return text if len(ids) <= max_tokens else self.tokenizer.decode(ids[:max_tokens])

    def encode_answer(self, rendered_prompt: str, answer: str, chat: bool = True) -> list[int]:
        """Token ids of `answer` as the tokenizer splits it right after `rendered_prompt`.

        SentencePiece tokenizers (Llama-2, Mistral, Gemma) split " positive" alone into a lone space piece plus a
        word, but after "Label:" into one piece; BPE tokenizers may merge across the boundary. So prompt and answer
        are tokenized together and the answer is the suffix after the prompt's tokens (after their longest common
        prefix when the boundary merged).
        """
        head = self.encode(rendered_prompt, chat)
        full = self.encode(rendered_prompt + answer, chat)
        eos = self.tokenizer.eos_token_id
        if head and full and head[-1] == full[-1] == eos:  # tokenizers that append EOS to every encoding
            head, full = head[:-1], full[:-1]
        common = 0
        for a, b in zip(head, full, strict=False):
            if a != b:
                break
            common += 1
        answer_ids = full[common:]
        if not answer_ids:
            raise BackboneError(f"backbone {self.path}: the answer {answer!r} adds no tokens after the prompt")
        return answer_ids

    @property
    def max_positions(self) -> int:
        """The longest context the model takes (its config, else the tokenizer's limit, else 2048)."""
        config = self.model.config
        for name in ("max_position_embeddings", "n_positions", "seq_length"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, "model_max_length", 0)
        return limit if 0 < limit < 1_000_000 else 2048

    def save(self, directory: str | Path) -> Path:
        with quiet_loading():
            self.model.save_pretrained(str(directory))
            self.tokenizer.save_pretrained(str(directory))
        return Path(directory)

    def __repr__(self) -> str:
        return f"CausalLMBackbone({self.ref!r}, device={self.device}, dtype={self.dtype})"
