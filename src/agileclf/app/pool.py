"""Unlabelled texts and "what to label next": ranked by the newest version's uncertainty (margin)."""

from __future__ import annotations

from sqlmodel import Session, select

from agileclf.app.errors import Conflict, Invalid
from agileclf.app.models import ModelVersion, PoolText
from agileclf.app.store import _owned


class Pool:
    def __init__(self, context):
        self.context = context
        self.store = context.store

    def add(self, classifier_id: int, texts: list[str], source: str = "pasted") -> list[int]:
        self.store.classifier(classifier_id)
        if not texts:
            raise Invalid("text: give at least one non-blank line")
        rows = [PoolText(classifier_id=classifier_id, text=text, source=source[:200]) for text in texts]
        with Session(self.store.engine, expire_on_commit=False) as session, session.begin():
            session.add_all(rows)
        return [row.id for row in rows]

    def waiting(self, classifier_id: int) -> list[PoolText]:
        with self.store.session() as session:
            query = select(PoolText).where(PoolText.classifier_id == classifier_id, PoolText.example_id == None)  # noqa: E711
            return list(session.exec(query.order_by(PoolText.id).limit(self.context.settings.max_pool_texts)))

    def ranked(self, classifier_id: int, version: ModelVersion, limit: int) -> list[dict]:
        from agileclf.evaluate.diagnostics import uncertainty

        waiting = self.waiting(classifier_id)
        if not waiting:
            return []
        classifier = self.context.classifier(version)
        proba = classifier.predict_proba([row.text for row in waiting])
        scores = uncertainty(proba)
        names = list(classifier.labels.names)
        order = sorted(range(len(waiting)), key=lambda i: -scores[i])[: max(1, min(limit, 500))]
        return [
            {
                "id": waiting[i].id,
                "text": waiting[i].text,
                "suggested_label": waiting[i].suggested_label,
                "source": waiting[i].source,
                "uncertainty": float(scores[i]),
                "predicted": names[int(proba[i].argmax())],
                "probabilities": {n: float(p) for n, p in zip(names, proba[i], strict=True)},
            }
            for i in order
        ]

    def label(self, classifier_id: int, pool_id: int, label: str) -> dict:
        with self.store.session() as session:
            row = _owned(session, PoolText, pool_id, classifier_id, "waiting text")
        if row.example_id is not None:
            raise Conflict(f"text {pool_id} is already labelled (example {row.example_id})")
        (example_id,) = self.store.add_examples(classifier_id, [(row.text, label)], "next")
        with Session(self.store.engine) as session, session.begin():
            session.get(PoolText, pool_id).example_id = example_id
        return {"example_id": example_id, "label": label}
