#!/usr/bin/env bash
# Issue 13's slot target (MASSIVE slot F1 >= 83.4 with MiniLM; 80.81 on test at 10 epochs, token_weight 2,
# encoder lr 1e-4) and the joint model's defaults (epochs 5, token_weight 1: never measured). Three consolidated
# intent+slots models on all 11,514 training utterances, compared on MASSIVE's dev split only (2,033 utterances):
#   A  10 epochs, token_weight 2, lr 1e-4  (the settings session 12 chose on dev)
#   B  10 epochs, token_weight 2, lr 2e-4  (the encoder learning rate was never varied)
#   C  5 epochs, token_weight 1             (today's defaults)
# Rules fixed before the run (paired bootstrap over the dev utterances, benchmarks/compare_frames.py):
#   - the encoder's default lr becomes 2e-4 if B - A has its slot F1 interval above 0 and intent accuracy's mean
#     is not below -0.5; then B alone is read once on test.jsonl.
#   - the defaults become 10 epochs and token_weight 2 if A - C has its slot F1 interval above 0 (twice the fit).
# Result (session 29, 35 min): B - A slot F1 -0.41 [-1.31, +0.51] (lr stays 1e-4; B not read on test); A - C slot
# F1 +1.47 [+0.40, +2.59], intent +0.15 [-0.49, +0.84]: the defaults became 10 epochs and token_weight 2.
#
# Session 30 adds a fourth model, D (rule fixed before its run):
#   D  -p sentence_to_tokens=true: each word's tag read from [word; mean-pooled utterance] (intent-aware slots)
# D passes if its slot F1 interval against A lies above 0 and its intent
# accuracy mean is not below -0.5; then sentence_to_tokens becomes the default (no extra fit cost) and D alone is
# read once on test.jsonl. (15 epochs were planned too and dropped before they ran: session 12 measured 20 epochs
# at 82.83, no gain over 10.)
# Before the run, on A's dev outputs without refitting (/tmp scripts): a bias toward O at decoding (0.5 to 3 nats)
# gave slot F1 82.49-82.75 against 82.80 (A's precision 80.7 < recall 85.0 comes mostly from spans with no gold
# span near them, 183 of them, not from a threshold); masking the slot types never seen with the predicted intent
# in training gave 82.79 (top intent), 82.91 (top 3 intents), 82.78 (marginal over intents): no gain either.
# Result (session 30, 18 min): D 89.23 / 82.15 / 71.57 (intent / slot F1 / frame) against A 89.28 / 82.80 / 72.06;
# D - A slot F1 -0.64 [-1.61, +0.32], intent -0.05 [-0.84, +0.69]: the rule fails, sentence_to_tokens stays off.
#
# Session 38 adds two trained levers named in the issue as untried (rules fixed before their run):
#   E  -p crf=true: a linear-chain CRF with learned tag transitions, trained on whole tag paths (the BIO rule
#      stays a hard constraint), in place of per-word cross-entropy and fixed-transition Viterbi
#   F  -p layer_mix=true: the token head reads a learned softmax mix of every encoder layer (ELMo's scalar mix)
# Each passes if its slot F1 interval against A lies above 0 and its intent accuracy mean is not below -0.5; a
# passing option becomes the default and its model is read once on test.jsonl. If both pass, G (both options) is
# trained; G becomes the default and is read on test if its dev slot F1 is above E's and F's, else the better of E, F.
# (Before the run, on 1,500 training and 400 dev utterances, 3 epochs: slot F1 59.3 plain, 72.7 crf, 61.5 layer_mix.)
# Result (session 38, about 29 min a model here, one at a time; A 89.28 / 82.80 / 72.06 again, to the hundredth):
# E 89.33 / 83.59 / 72.85, E - A slot F1 +0.79 [-0.13, +1.73] (precision 82.18 vs 80.67, recall 85.04 both),
# intent +0.05 [-0.54, +0.64]; F 88.54 / 81.94 / 70.78, F - A slot F1 -0.86 [-1.88, +0.16], intent -0.74
# [-1.48, +0.00]. Neither rule passes: crf and layer_mix stay off, G was not trained, nothing was read on test.
# Session 39: is E's gain more than seed 0's luck? A second seed of both (A1, E1: --seed 1, else as A and E).
# Rule fixed before their run: crf=true becomes the default if, pooled over seeds 0 and 1 (the same dev utterances
# resampled for both seeds, benchmarks/compare_frames.py --pooled-with), E - A has its slot F1 interval above 0 and
# its intent accuracy mean not below -0.5; then E (seed 0, as A's test figure) alone is read once on test.jsonl.
# Result (session 39, 34-35 min a model): A1 89.13 / 82.27 / 71.57, E1 89.08 / 82.76 / 72.26 (E1 - A1 slot F1 +0.49);
# pooled E - A slot F1 +0.64 [-0.12, +1.41], intent +0.00 [-0.42, +0.42]: the rule fails, crf stays off, no test read.
# About 4 hours on 2 cores (models A-F, A1, E1):  bash benchmarks/massive-slots-dev.sh bench-out/massive-slots-dev
set -euo pipefail
OUT=${1:-bench-out/massive-slots-dev}
T=${MASSIVE:-../shared/data/massive_en}
train() {  # name, then extra arguments
  local name=$1; shift
  [ -f "$OUT/$name/agileclf.json" ] || agileclf train "$T/train.jsonl" --task intent+slots --label-field intent \
    -m multitask -o "$OUT/$name" "$@"
}
train A --epochs 10 -p token_weight=2
train B --epochs 10 -p token_weight=2 -p lr=2e-4
train C --epochs 5
train D -p sentence_to_tokens=true
train E -p crf=true
train F -p layer_mix=true
train A1 --epochs 10 -p token_weight=2 --seed 1
train E1 -p crf=true --seed 1
python benchmarks/compare_frames.py "$OUT/B" "$OUT/A" "$T/dev.jsonl"
python benchmarks/compare_frames.py "$OUT/A" "$OUT/C" "$T/dev.jsonl"
python benchmarks/compare_frames.py "$OUT/D" "$OUT/A" "$T/dev.jsonl"
python benchmarks/compare_frames.py "$OUT/E" "$OUT/A" "$T/dev.jsonl"
python benchmarks/compare_frames.py "$OUT/F" "$OUT/A" "$T/dev.jsonl"
python benchmarks/compare_frames.py "$OUT/E" "$OUT/A" "$T/dev.jsonl" --pooled-with "$OUT/E1" "$OUT/A1"
