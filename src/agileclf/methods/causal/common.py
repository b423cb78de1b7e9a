"""What every causal-LM method shares: prompt building, label scoring or generation, calibration, state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agileclf.backbones.prompts import DESCRIPTION_USES, PromptTemplate, label_texts, load_template, verbalizer
from agileclf.backbones.scoring import (
    contextual_calibration,
    greedy_generate,
    label_probabilities,
    match_label,
    score_continuations,
)
from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.causal import prompt_search

STATE_KEY = "causal_state"  # agileclf.json field with the prompt template and label words used at training


@dataclass
class CausalConfig(MethodConfig):
    template: str = param("classify", "prompt template: classify, topic, sentiment, intent, bare, or a JSON file")
    verbalizer: str = param("", "JSON file {label: words} the model should say; default: the readable label name")
    describe_labels: str = param(
        "auto",
        "--labels descriptions: 'answer' (the model says 'abbreviation' for ABBR), 'list' (the instruction lists "
        "'ABBR (abbreviation)'), 'off', or 'auto' (the prompt search tries them against the names; without a "
        "search: answer when every description has at most 3 words, else list)",
    )
    chat_template: bool = param(True, "wrap prompts in the tokenizer's chat template when it has one")
    decode: str = param("score", "'score' each label's words, or 'generate' an answer and match it to a label")
    scoring: str = param("exact", "'exact' multi-token scoring, or 'first-token' (one pass; distinct first tokens)")
    length_norm: bool = param(False, "average each label's log-probability over its tokens instead of summing")
    calibrate: bool = param(False, "contextual calibration: divide by the label distribution of a content-free input")
    content_free: str = param("N/A", "the content-free input that calibrate scores")
    prompt_search: str = param(
        "auto", "'auto': choose template, chat template and calibration on the training examples; 'off': as given"
    )
    label_forms: str = param(
        "case",
        "'case': a label's words as written, lower-case and Capitalised, probabilities summed; 'exact': as written",
    )
    max_text_tokens: int = param(256, "tokens kept of each input text (and demonstration)")
    max_new_tokens: int = param(8, "tokens generated per answer with decode=generate")
    batch_size: int = param(8, "prompts per forward pass at inference")

    def __post_init__(self) -> None:
        if self.decode not in ("score", "generate"):
            raise ValueError(f"decode must be 'score' or 'generate', not {self.decode!r}")
        if self.scoring not in ("exact", "first-token"):
            raise ValueError(f"scoring must be 'exact' or 'first-token', not {self.scoring!r}")
        if self.prompt_search not in ("auto", "off"):
            raise ValueError(f"prompt_search must be 'auto' or 'off', not {self.prompt_search!r}")
        if self.describe_labels not in DESCRIPTION_USES:
            raise ValueError(
                f"describe_labels must be one of {', '.join(DESCRIPTION_USES)}, not {self.describe_labels!r}"
            )
        if self.label_forms not in ("case", "exact"):
            raise ValueError(f"label_forms must be 'case' or 'exact', not {self.label_forms!r}")
        if self.max_text_tokens < 1 or self.batch_size < 1:
            raise ValueError("max_text_tokens and batch_size must be >= 1")


Demos = list[tuple[str, int]]  # (text, label index) in priority order: the first is dropped last


class CausalMethod(Method):
    """Base of the causal-LM methods: a prompt per text, scored against each label's verbalisation."""

    kinds = ("causal-lm",)
    config_class = CausalConfig
    FIT_CHOICES = {"prompt_chosen": "prompt"}  # what the prompt search chose on the training examples

    # ---- what subclasses change -------------------------------------------------------------------------
    @property
    def lm(self):
        """The model that scores prompts (the shared frozen one unless a method tunes its own)."""
        return self.backbone.model

    def soft_prompt(self):
        """Learned prompt embeddings (n_virtual, dim) prepended to every prompt, or None."""
        return None

    def demos_for(self, texts: list[str]) -> list[Demos]:
        """Demonstrations for each text, most important first."""
        return [[] for _ in texts]

    def context_budget(self) -> int | None:
        """Most tokens a prompt plus its longest label may take; demonstrations are dropped to fit."""
        return None

    def _state_json(self) -> dict:
        return {}

    def _restore(self, state: dict, tensors: dict) -> None:
        return None

    # ---- prompts ----------------------------------------------------------------------------------------
    # how the prompt search scores examples (prompt_search.search_prompt's `folds`): 1 for prompts that hold no
    # examples; k folds or prompt_search.DEPLOYED for prompts that hold demonstrations
    search_folds: int | str = 1
    search_calibration = True  # whether the search may switch contextual calibration on

    def _search_clone(self, overrides: dict):
        """An unfitted copy of this method with prompt settings `overrides`, for the prompt search."""
        return type(self)(backbone=self.backbone, config=prompt_search.apply(self.config, overrides))

    def search_variants(self) -> tuple[dict, ...]:
        """Overrides the prompt search tries with every candidate prompt besides the prompt's own settings."""
        return ({},)

    def _zero_shot_clone(self, overrides: dict):
        """An unfitted zero-shot method with this one's prompt settings and `overrides`: the frozen model reading
        the prompt without demonstrations."""
        from agileclf.methods.causal.zero_shot import CausalZeroShot

        return prompt_search.clone_as(CausalZeroShot, self.backbone, self.config, overrides)

    def _choose_prompt(self, texts: list[str], y: np.ndarray) -> None:
        """With prompt_search=auto and enough examples, set template, chat and calibration by training accuracy."""
        counts = np.bincount(y, minlength=len(self.names))
        # scoring every example needs 2 labels among them (a multi-label sample may hold no one-label row of some)
        if self.config.prompt_search != "auto" or np.count_nonzero(counts) < 2:
            return
        folds, make, variants = self.search_folds, self._search_clone, self.search_variants()
        if folds != 1 and counts.min() < 2:
            # scoring held-out examples needs 2 of every label; without them the prompt is the one the frozen
            # model reads best without demonstrations (SmolLM2's default prompt collapses on GoEmotions: docs/llm.md)
            folds, make, variants = 1, self._zero_shot_clone, ({},)
        best, self.prompt_search_table = prompt_search.search_prompt(
            make, texts, np.asarray(y), self.labels, folds, self.config.seed,
            self.backbone.has_chat_template, (False, True) if self.search_calibration else (self.config.calibrate,),
            variants,
        )  # fmt: skip
        self.config = prompt_search.apply(self.config, best)
        self.prompt_chosen = best

    def _setup_prompting(self) -> None:
        self.template = load_template(self.config.template)
        self.words, self.listing = label_texts(self.labels, self.config.verbalizer, self.config.describe_labels)

    @property
    def chat(self) -> bool:
        return self.backbone.uses_chat_template(self.config.chat_template)

    @property
    def label_ids(self) -> list[list[int]]:
        """Token ids of each label's words as written (the training target), as split after the prompt."""
        return [forms[0] for forms in self.label_forms]

    @property
    def label_forms(self) -> list[list[list[int]]]:
        """Per label, the token ids of each surface form scored for it (the words as written first).

        Instruct models often answer "Positive" where the label says "positive"; with label_forms=case the
        label's probability is the sum over its forms. Ids are as the tokenizer splits the answer after the prompt
        (see CausalLMBackbone.encode_answer), recomputed whenever template, words or chat switch change.
        """
        words = [self.words[n] for n in self.names]
        key = (self.template, tuple(words), tuple(self.listing), self.chat, self.config.label_forms)
        if getattr(self, "_label_forms_key", None) != key:
            reference = self.backbone.render(self.template.render("-", self.listing), self.config.chat_template)
            forms = []
            for w in words:
                variants = [w] if self.config.label_forms == "exact" else [w, w.lower(), w[:1].upper() + w[1:]]
                ids = [
                    self.backbone.encode_answer(
                        reference, self.template.answer(v, self.chat), self.config.chat_template
                    )
                    for v in dict.fromkeys(variants)
                ]
                forms.append([list(x) for x in dict.fromkeys(tuple(i) for i in ids)])
            self._label_forms, self._label_forms_key = forms, key
        return self._label_forms

    @property
    def names(self) -> list[str]:
        return self.labels.names

    def clip(self, text: str) -> str:
        """The text cut to max_text_tokens tokens (short texts are returned as they are)."""
        return self.backbone.clip(text, self.config.max_text_tokens)

    def prompt_ids(self, text: str, demos: Demos = ()) -> list[int]:
        """Token ids of the prompt for `text`; demonstrations are dropped (last first) to fit the budget."""
        demos = list(demos)
        budget = self.context_budget()
        spare = max(len(ids) for ids in self.label_ids) + (0 if self.soft_prompt() is None else len(self.soft_prompt()))
        while True:
            ids = self._encode_prompt(text, self.display_order(demos))
            if budget is None or len(ids) + spare <= budget or not demos:
                return ids
            demos.pop()

    def display_order(self, demos: Demos) -> Demos:
        """The order demonstrations appear in the prompt (their priority order unless a method shuffles)."""
        return demos

    def _encode_prompt(self, text: str, demos: Demos) -> list[int]:
        words = [self.words[n] for n in self.names]
        pairs = [(self.clip(t), words[y]) for t, y in demos]
        prompt = self.template.render(self.clip(text), self.listing, pairs)
        return self.backbone.encode(self.backbone.render(prompt, self.config.chat_template), self.config.chat_template)

    # ---- prediction -------------------------------------------------------------------------------------
    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        demos = self.demos_for(texts)
        prompts = [self.prompt_ids(t, d) for t, d in zip(texts, demos, strict=True)]
        if self.config.decode == "generate":
            return self._generate_proba(prompts)
        proba = self._score(prompts)
        if self.config.calibrate:
            proba = contextual_calibration(proba, self._content_free_proba(demos))
        return proba

    def _score(self, prompts: list[list[int]]) -> np.ndarray:
        self.lm.eval()
        first_token = self.config.scoring == "first-token"
        forms = self.label_forms
        if first_token:  # one form per distinct first token
            forms = [[list(x) for x in dict.fromkeys((f[0],) for f in label)] for label in forms]
        flat = [ids for label in forms for ids in label]
        scores = score_continuations(
            self.lm,
            prompts,
            flat,
            pad_id=self.backbone.tokenizer.pad_token_id,
            soft_prompt=self.soft_prompt(),
            batch_size=self.config.batch_size,
            first_token_only=first_token,
        )
        if self.config.length_norm:
            scores = scores / np.asarray([1 if first_token else len(ids) for ids in flat], dtype=np.float64)
        ends = np.cumsum([len(label) for label in forms])
        per_label = np.stack(
            [
                np.logaddexp.reduce(scores[:, end - len(label) : end], axis=1)
                for label, end in zip(forms, ends, strict=True)
            ],
            axis=1,
        )
        return label_probabilities(per_label, [1] * len(forms))

    def _content_free_proba(self, demos: list[Demos]) -> np.ndarray:
        """Each row's label distribution for the content-free input under the same demonstrations."""
        keys = [tuple(d) for d in demos]
        unique = list(dict.fromkeys(keys))
        rows = self._score([self.prompt_ids(self.config.content_free, list(k)) for k in unique])
        where = {k: i for i, k in enumerate(unique)}
        return rows[[where[k] for k in keys]]

    def _generate_proba(self, prompts: list[list[int]]) -> np.ndarray:
        """One-hot rows for answers that name a label; uniform rows (and a no-match count) for the rest."""
        tokenizer = self.backbone.tokenizer
        self.lm.eval()
        outputs = greedy_generate(
            self.lm,
            prompts,
            pad_id=tokenizer.pad_token_id,
            stop_ids={tokenizer.eos_token_id} - {None},
            max_new_tokens=self.config.max_new_tokens,
            soft_prompt=self.soft_prompt(),
            batch_size=self.config.batch_size,
        )
        words = [self.words[n] for n in self.names]
        proba = np.full((len(prompts), len(words)), 1.0 / len(words), dtype=np.float32)
        misses = 0
        for row, ids in enumerate(outputs):
            index = match_label(tokenizer.decode(ids, skip_special_tokens=True), words)
            if index < 0:
                misses += 1
            else:
                proba[row] = 0.0
                proba[row, index] = 1.0
        self.last_prediction_stats = {"no_match_rate": misses / max(len(prompts), 1), "n_no_match": misses}
        return proba

    # ---- artifact ---------------------------------------------------------------------------------------
    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        """As Method.save; agileclf.json also keeps the template and label words, so loading needs no files."""
        self._check_fitted()
        state = {
            "template": self.template.to_json(), "words": self.words, "listing": self.listing, **self._state_json()
        }  # fmt: skip
        return super().save(path, extra={**(extra or {}), STATE_KEY: state})

    def _load_state_tensors(self, tensors: dict) -> None:
        state = getattr(self, "meta", {}).get(STATE_KEY, {})
        self.template = PromptTemplate(**state["template"]) if "template" in state else load_template("classify")
        self.words = state.get("words") or verbalizer(self.labels, "")
        # artifacts saved before descriptions entered the prompt listed the label words alone
        self.listing = state.get("listing") or [self.words[n] for n in self.names]
        self._restore(state, tensors)
