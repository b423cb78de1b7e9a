"""ICL: similar demonstrations are the nearest neighbours; the context budget drops demonstrations."""

from __future__ import annotations

import numpy as np
import pytest

from agileclf.backbones import load_backbone
from agileclf.errors import ConfigError
from agileclf.methods import make_method


@pytest.fixture(scope="module")
def backbone(tiny_lm):
    return load_backbone(tiny_lm)


def test_similar_selection_picks_the_nearest_demonstrations(backbone, task, minilm):
    (train_x, train_y), _, (test_x, _) = task
    clf = make_method("icl", backbone=backbone, demo_selection="similar", demos_per_class=2).fit(train_x, train_y)
    queries = minilm.embed(test_x[:3], normalize=True)
    pool = minilm.embed(train_x, normalize=True)
    for query, demos in zip(queries, clf.demos_for(test_x[:3]), strict=True):
        similarity = pool @ query
        for label in set(train_y):
            rows = [i for i, y in enumerate(train_y) if y == label]
            expected = {train_x[i] for i in sorted(rows, key=lambda i: -similarity[i])[:2]}
            chosen = {t for t, y in demos if clf.labels.names[y] == label}
            assert chosen == expected


def test_context_budget_drops_demonstrations_not_the_input(backbone, task):
    (train_x, train_y), _, (test_x, _) = task
    # the tiny model knows one prompt layout (classify): the search is off, so the prompt is the one checked below
    settings = {"demos_per_class": 4, "seed": 3, "prompt_search": "off"}
    full = make_method("icl", backbone=backbone, **settings).fit(train_x, train_y)
    budget = 80
    tight = make_method("icl", backbone=backbone, max_context_tokens=budget, **settings)
    tight.fit(train_x, train_y)
    text = test_x[0]
    long_ids = full.prompt_ids(text, full.demos_for([text])[0])
    short_ids = tight.prompt_ids(text, tight.demos_for([text])[0])
    assert len(long_ids) + 1 > budget >= len(short_ids) + max(len(ids) for ids in tight.label_ids)
    decoded = backbone.tokenizer.decode(short_ids)
    assert decoded.endswith(f"Text: {text}\nLabel:")
    assert decoded.count("Text:") >= 2  # some demonstrations survive
    assert np.allclose(tight.predict_proba([text]).sum(), 1.0)


@pytest.mark.parametrize("selection", ["random", "similar"])
def test_deployed_search_scores_with_the_demonstrations_predictions_use(backbone, task, selection):
    (train_x, train_y), _, _ = task
    settings = {"demo_selection": selection, "seed": 1, "search_scoring": "deployed"}
    clf = make_method("icl", backbone=backbone, **settings).fit(train_x, train_y)
    assert clf.prompt_chosen and clf.prompt_search_table  # the search ran, in the deployed mode
    rows, demos = clf.search_demos()
    for row, shown in zip(rows, demos, strict=True):
        assert train_x[row] not in {text for text, _ in shown}  # an example never demonstrates itself
    if selection == "random":
        assert sorted(rows) == sorted(set(range(len(train_x))) - set(clf.fixed))
        assert all(shown == clf.demos_for([train_x[0]])[0] for shown in demos)  # the fixed draw, as predictions
    else:
        assert rows == list(range(len(train_x)))
        # leaving the example out changes only its own label's demonstrations: the others are a prediction's
        for row, shown in zip(rows, demos, strict=True):
            own = clf.labels.names.index(train_y[row])
            predicted = clf.demos_for([train_x[row]])[0]
            assert {d for d in shown if d[1] != own} == {d for d in predicted if d[1] != own}
    folds = make_method("icl", backbone=backbone, **{**settings, "search_scoring": "folds"})
    assert folds.search_folds == 2 and clf.search_folds == "deployed"
    with pytest.raises(ConfigError, match="search_scoring must be 'deployed' or 'folds'"):
        make_method("icl", backbone=backbone, search_scoring="both")


def test_search_compares_random_draws_and_keeps_the_chosen_one(backbone, task, tmp_path):
    from agileclf.methods.causal.demos import random_per_class
    from agileclf.methods.persistence import load_classifier

    (train_x, train_y), (test_x, _), _ = task
    one = make_method("icl", backbone=backbone, seed=1).fit(train_x, train_y)
    clf = make_method("icl", backbone=backbone, seed=1, search_draws=3).fit(train_x, train_y)
    assert len(clf.prompt_search_table) == 3 * len(one.prompt_search_table)
    assert {row["demo_draw"] for row in clf.prompt_search_table} == {0, 1, 2}
    best = max(clf.prompt_search_table, key=lambda row: (row["train_accuracy"], row["train_logprob"]))
    assert clf.prompt_chosen["demo_draw"] == best["demo_draw"] == clf.config.demo_draw
    draws = [random_per_class(clf.pool_y, 1, 1, draw) for draw in range(3)]
    assert draws[0] == one.fixed and len({tuple(d) for d in draws}) > 1  # draw 0 is the seed's usual draw
    assert clf.fixed == draws[clf.config.demo_draw]
    clf.save(tmp_path / "m")
    loaded = load_classifier(tmp_path / "m", backbone=backbone)
    assert loaded.fixed == clf.fixed
    np.testing.assert_allclose(loaded.predict_proba(test_x[:4]), clf.predict_proba(test_x[:4]), atol=1e-6)
    similar = make_method("icl", backbone=backbone, demo_selection="similar", search_draws=3)
    assert similar.search_variants() == ({},)  # retrieved demonstrations have no draw to choose
    with pytest.raises(ConfigError, match="search_draws must be >= 1"):
        make_method("icl", backbone=backbone, search_draws=0)
