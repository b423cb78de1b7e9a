import pytest

from agileclf.errors import ConfigError
from agileclf.methods import make_method, method_names
from agileclf.methods.finetune import FinetuneConfig
from agileclf.methods.registry import build_config, describe_config


def test_encoder_methods_are_registered():
    assert {"zero-shot", "linear-probe", "finetune"} <= set(method_names())


def test_unknown_method_and_parameter_are_clear_errors(minilm):
    with pytest.raises(ConfigError, match="unknown method 'nope'; available: .*linear-probe"):
        make_method("nope", backbone=minilm)
    with pytest.raises(ConfigError, match="unknown parameter\\(s\\) colour; this method takes: seed, calibration, c,"):
        make_method("linear-probe", backbone=minilm, colour="red")


def test_cli_strings_are_converted_to_field_types():
    config = build_config(FinetuneConfig, {"epochs": "3", "lr": "1e-4", "head_init": "label-names", "seed": "5"})
    assert (config.epochs, config.lr, config.head_init, config.seed) == (3, 1e-4, "label-names", 5)
    with pytest.raises(ConfigError, match="parameter epochs: cannot read 'many' as int"):
        build_config(FinetuneConfig, {"epochs": "many"})
    with pytest.raises(ConfigError, match="head_init must be"):
        build_config(FinetuneConfig, {"head_init": "random"})


def test_every_parameter_has_help():
    for name, _default, help_text in describe_config(FinetuneConfig):
        assert help_text, name


def test_a_dict_parameter_reads_a_json_object_from_the_command_line():
    from agileclf.methods.auto import AutoConfig

    config = build_config(AutoConfig, {"candidate_params": '{"verbalizer": "w.json", "min_steps": 60}'})
    assert config.candidate_params == {"verbalizer": "w.json", "min_steps": 60}
    for bad in ("verbalizer=w.json", "[1, 2]"):
        with pytest.raises(ConfigError, match="parameter candidate_params: cannot read"):
            build_config(AutoConfig, {"candidate_params": bad})


def test_shared_params_go_only_to_the_methods_that_take_them():
    from agileclf.methods.ensemble import EnsembleConfig
    from agileclf.methods.registry import shared_params_taken

    shared = {"c": 0.5, "lr": 1e-3, "verbalizer": "w.json"}
    assert shared_params_taken(shared, "linear-probe", "encoder") == {"c": 0.5}
    assert shared_params_taken(shared, "zero-shot", "encoder") == {}
    assert set(shared_params_taken(shared, "lora", "causal-lm")) == {"lr", "verbalizer"}
    with pytest.raises(ConfigError, match="member_params must be a JSON object"):
        build_config(EnsembleConfig, {"member_params": [1, 2]})
