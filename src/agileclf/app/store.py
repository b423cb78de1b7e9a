"""Every read and write of the app's data. Each write is one transaction that records its changes.

A transaction that changes labels or examples takes the next data version of its classifier with a
compare-and-swap on `classifier.data_version`, so two concurrent writers never share a version, on SQLite or
a server database alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from agileclf.app.errors import Conflict, Invalid, NotFound
from agileclf.app.models import Change, Classifier, Example, Label, ModelVersion

MAX_TEXT_CHARS = 10_000


@dataclass
class Draft:
    """A change being recorded inside one transaction."""

    session: Session
    classifier: Classifier
    version: int

    def record(self, op: str, entity: str, entity_id: int, before: dict | None, after: dict | None, **kw) -> None:
        self.session.add(
            Change(
                classifier_id=self.classifier.id,
                version=self.version,
                op=op,
                entity=entity,
                entity_id=entity_id,
                before=before,
                after=after,
                **kw,
            )
        )


def example_state(example: Example) -> dict | None:
    if example.deleted:
        return None
    return {"text": example.text, "label": example.label, "source": example.source, "revision": example.revision}


def label_state(label: Label) -> dict:
    return {"name": label.name, "description": label.description}


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session (objects stay readable after it closes)."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def change(self, classifier_id: int) -> Iterator[Draft]:
        """One transaction that changes a classifier's data under its next data version."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            classifier = _get(session, Classifier, classifier_id, "classifier")
            old = classifier.data_version
            claimed = session.execute(
                update(Classifier)
                .where(Classifier.id == classifier_id, Classifier.data_version == old)
                .values(data_version=old + 1)
            )
            if claimed.rowcount != 1:
                raise Conflict("another change to this classifier was saved at the same moment; try again")
            classifier.data_version = old + 1
            yield Draft(session, classifier, old + 1)

    # ---- classifiers and labels -------------------------------------------------------------------------
    def create_classifier(self, name: str, description: str, labels: Sequence[tuple[str, str]]) -> Classifier:
        name = name.strip()
        if not name:
            raise Invalid("name: give the classifier a name")
        names = [label.strip() for label, _ in labels]
        if len(set(names)) != len(names):
            raise Invalid("labels: two labels have the same name")
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                classifier = Classifier(name=name, description=description.strip())
                session.add(classifier)
                session.flush()
        except IntegrityError:
            raise Conflict(f"name: a classifier named {name!r} already exists") from None
        for label, text in labels:
            self.add_label(classifier.id, label, text)
        return self.classifier(classifier.id)

    def classifiers(self) -> list[Classifier]:
        with self.session() as session:
            return list(session.exec(select(Classifier).order_by(Classifier.id)))

    def classifier(self, classifier_id: int) -> Classifier:
        with self.session() as session:
            return _get(session, Classifier, classifier_id, "classifier")

    def update_classifier(self, classifier_id: int, name: str | None, description: str | None) -> Classifier:
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                classifier = _get(session, Classifier, classifier_id, "classifier")
                if name is not None:
                    if not name.strip():
                        raise Invalid("name: give the classifier a name")
                    classifier.name = name.strip()
                if description is not None:
                    classifier.description = description.strip()
        except IntegrityError:
            raise Conflict(f"name: a classifier named {name!r} already exists") from None
        return classifier

    def delete_classifier(self, classifier_id: int) -> None:
        """Remove its rows; its saved classifier directories stay on disk."""
        from agileclf.app.models import Job, PoolText

        with Session(self.engine) as session, session.begin():
            _get(session, Classifier, classifier_id, "classifier")
            for table in (Change, Example, Label, ModelVersion, Job, PoolText):
                for row in session.exec(select(table).where(table.classifier_id == classifier_id)):
                    session.delete(row)
            session.flush()
            session.delete(session.get(Classifier, classifier_id))

    def labels(self, classifier_id: int) -> list[Label]:
        with self.session() as session:
            query = select(Label).where(Label.classifier_id == classifier_id).order_by(Label.position, Label.id)
            return list(session.exec(query))

    def add_label(self, classifier_id: int, name: str, description: str = "") -> Label:
        name = name.strip()
        if not name:
            raise Invalid("labels: a label needs a name")
        if len(name) > 200:
            raise Invalid("labels: a label name is at most 200 characters")
        try:
            with self.change(classifier_id) as draft:
                taken = draft.session.exec(
                    select(Label).where(Label.classifier_id == classifier_id, Label.name == name)
                ).first()
                if taken:
                    raise Conflict(f"labels: {name!r} exists already")
                count = len(draft.session.exec(select(Label.id).where(Label.classifier_id == classifier_id)).all())
                label = Label(classifier_id=classifier_id, name=name, description=description.strip(), position=count)
                draft.session.add(label)
                draft.session.flush()
                draft.record("label-add", "label", label.id, None, label_state(label))
        except IntegrityError:
            raise Conflict(f"labels: {name!r} exists already") from None
        return label

    def edit_label(self, classifier_id: int, label_id: int, description: str) -> Label:
        with self.change(classifier_id) as draft:
            label = _owned(draft.session, Label, label_id, classifier_id, "label")
            before = label_state(label)
            label.description = description.strip()
            draft.record("label-edit", "label", label.id, before, label_state(label))
        return label

    # ---- examples ---------------------------------------------------------------------------------------
    def examples(self, classifier_id: int, include_deleted: bool = False) -> list[Example]:
        with self.session() as session:
            query = select(Example).where(Example.classifier_id == classifier_id)
            if not include_deleted:
                query = query.where(Example.deleted == False)  # noqa: E712 - SQL comparison
            return list(session.exec(query.order_by(Example.id)))

    def existing_texts(self, classifier_id: int) -> dict[str, str]:
        """Text (stripped) -> label of every current example: the same text twice would teach nothing new."""
        return {e.text.strip(): e.label for e in self.examples(classifier_id)}

    def example(self, classifier_id: int, example_id: int) -> Example:
        with self.session() as session:
            return _owned(session, Example, example_id, classifier_id, "example")

    def add_examples(self, classifier_id: int, rows: Sequence[tuple[str, str]], source: str = "typed") -> list[int]:
        """Add (text, label) rows in one data version; an unknown label or a text that is already an example
        (here or earlier in `rows`) refuses the whole request, naming the row."""
        if not rows:
            raise Invalid("examples: nothing to add")
        known = {label.name for label in self.labels(classifier_id)}
        seen = self.existing_texts(classifier_id)
        for number, (text, label) in enumerate(rows, start=1):
            check_text(text, f"examples[{number}].text")
            if label not in known:
                raise Invalid(f"examples[{number}].label: {label!r} is not a label of this classifier")
            if text.strip() in seen:
                raise Conflict(
                    f"examples[{number}].text: {text.strip()[:60]!r} is already an example (label "
                    f"{seen[text.strip()]!r}); edit or relabel that one instead"
                )
            seen[text.strip()] = label
        ids = []
        with self.change(classifier_id) as draft:
            for text, label in rows:
                example = Example(classifier_id=classifier_id, text=text.strip(), label=label, source=source[:200])
                draft.session.add(example)
                draft.session.flush()
                draft.record("add", "example", example.id, None, example_state(example))
                ids.append(example.id)
        return ids

    def edit_example(
        self,
        classifier_id: int,
        example_id: int,
        text: str | None = None,
        label: str | None = None,
        revision: int | None = None,
    ) -> Example:
        """Change text and/or label; `revision` (the one the person saw) guards against overwriting another edit."""
        if text is not None:
            check_text(text, "text")
        if label is not None and label not in {x.name for x in self.labels(classifier_id)}:
            raise Invalid(f"label: {label!r} is not a label of this classifier")
        with self.change(classifier_id) as draft:
            example = _owned(draft.session, Example, example_id, classifier_id, "example")
            _check_revision(example, revision)
            if example.deleted:
                raise Conflict(f"example {example_id} was deleted; undo the deletion first")
            before = example_state(example)
            example.text = text.strip() if text is not None else example.text
            example.label = label if label is not None else example.label
            example.revision += 1
            draft.record("edit", "example", example.id, before, example_state(example))
        return example

    def delete_example(self, classifier_id: int, example_id: int, revision: int | None = None) -> int:
        with self.change(classifier_id) as draft:
            example = _owned(draft.session, Example, example_id, classifier_id, "example")
            _check_revision(example, revision)
            if example.deleted:
                raise Conflict(f"example {example_id} is already deleted")
            before = example_state(example)
            example.deleted = True
            example.revision += 1
            draft.record("delete", "example", example.id, before, None)
            return draft.version

    def undo(self, classifier_id: int) -> dict:
        """Reverse the newest data version not yet undone; the reversal is itself a new version."""
        with self.change(classifier_id) as draft:
            session = draft.session
            changes = list(
                session.exec(
                    select(Change)
                    .where(Change.classifier_id == classifier_id, Change.version < draft.version)
                    .order_by(Change.version.desc(), Change.id.desc())
                )
            )
            undone = {c.undo_of for c in changes if c.undo_of is not None}
            undo_versions = {c.version for c in changes if c.op == "undo"}
            target = next(
                (c.version for c in changes if c.version not in undone and c.version not in undo_versions), None
            )
            if target is None:
                raise Conflict("nothing to undo")
            for change in [c for c in changes if c.version == target]:
                _reverse(draft, change)
            return {"undone_version": target, "data_version": draft.version}

    def changes(self, classifier_id: int, limit: int = 200) -> list[Change]:
        with self.session() as session:
            query = select(Change).where(Change.classifier_id == classifier_id)
            return list(session.exec(query.order_by(Change.version.desc(), Change.id.desc()).limit(limit)))

    def dataset_at(self, classifier_id: int, version: int) -> list[dict]:
        """The examples as they were at data `version`, replayed from the recorded changes."""
        state: dict[int, dict | None] = {}
        with self.session() as session:
            query = select(Change).where(
                Change.classifier_id == classifier_id, Change.entity == "example", Change.version <= version
            )
            for change in session.exec(query.order_by(Change.version, Change.id)):
                state[change.entity_id] = change.after
        return [{"id": key, **value} for key, value in sorted(state.items()) if value is not None]

    # ---- model versions ---------------------------------------------------------------------------------
    def versions(self, classifier_id: int) -> list[ModelVersion]:
        with self.session() as session:
            query = select(ModelVersion).where(ModelVersion.classifier_id == classifier_id)
            return list(session.exec(query.order_by(ModelVersion.number.desc())))

    def version(self, version_id: int) -> ModelVersion:
        with self.session() as session:
            return _get(session, ModelVersion, version_id, "model version")

    def next_version_number(self, classifier_id: int) -> int:
        numbers = [v.number for v in self.versions(classifier_id)]
        return max(numbers, default=0) + 1

    def add_version(self, version: ModelVersion) -> ModelVersion:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            session.add(version)
        return version

    def set_test_metrics(self, version_id: int, metrics: dict) -> ModelVersion:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            version = _get(session, ModelVersion, version_id, "model version")
            version.test_metrics = metrics
        return version


def check_text(text: str, where: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise Invalid(f"{where}: the text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise Invalid(f"{where}: the text has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")


def _reverse(draft: Draft, change: Change) -> None:
    session = draft.session
    if change.entity == "label":
        label = session.get(Label, change.entity_id)
        if change.op == "label-add":
            used = session.exec(
                select(Example.id).where(
                    Example.classifier_id == label.classifier_id,
                    Example.label == label.name,
                    Example.deleted == False,  # noqa: E712
                )
            ).first()
            if used is not None:
                raise Conflict(f"cannot undo adding label {label.name!r}: examples use it")
            session.delete(label)
            draft.record("undo", "label", change.entity_id, label_state(label), None, undo_of=change.version)
        else:
            before = label_state(label)
            label.description = change.before["description"]
            draft.record("undo", "label", label.id, before, label_state(label), undo_of=change.version)
        return
    example = session.get(Example, change.entity_id)
    before = example_state(example)
    if change.before is None:  # it was added: undo deletes it
        example.deleted = True
    else:
        example.deleted = False
        example.text, example.label = change.before["text"], change.before["label"]
    example.revision += 1
    draft.record("undo", "example", example.id, before, example_state(example), undo_of=change.version)


def _check_revision(example: Example, revision: int | None) -> None:
    if revision is not None and revision != example.revision:
        raise Conflict(
            f"example {example.id} was changed by someone else (revision {example.revision}, you edited "
            f"{revision}); reload to see the newest text"
        )


def _get(session: Session, table, row_id: int, what: str):
    row = session.get(table, row_id)
    if row is None:
        raise NotFound(f"no {what} with id {row_id}")
    return row


def _owned(session: Session, table, row_id: int, classifier_id: int, what: str):
    row = session.get(table, row_id)
    if row is None or row.classifier_id != classifier_id:
        raise NotFound(f"no {what} with id {row_id} in this classifier")
    return row


__all__ = ["Store", "check_text"]
