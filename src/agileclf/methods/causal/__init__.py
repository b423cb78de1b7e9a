"""Methods for causal LMs (Llama, Mistral, Qwen, ...): classification by scoring each label's words.

One module per method (zero_shot, icl, prompt_tuning, ipt, lora, finetune); `common` holds prompting and
scoring, `training` the accelerate loop with the loss on label tokens only, `demos` demonstration selection.
"""
