"""Background training: one worker thread takes queued jobs in order; their state lives in the database.

A request made while a job runs is queued (a row with status "queued"), never lost. On start-up, jobs left
"running" by a process that was killed are marked failed, and queued ones are queued again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from sqlmodel import Session, select

from agileclf.app.errors import Conflict
from agileclf.app.models import JOB_ACTIVE, Job, utcnow
from agileclf.app.settings import AppSettings
from agileclf.app.store import Store, _get
from agileclf.app.suggest import check_generator, suggest_examples
from agileclf.app.training import Cancelled, check_method, train_version, training_set
from agileclf.errors import AgileclfError

log = logging.getLogger("agileclf.app")
INTERRUPTED = "the app stopped while this job was running; the examples and earlier versions are intact. Train again."


class JobQueue:
    def __init__(self, store: Store, settings: AppSettings):
        self.store = store
        self.settings = settings
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------------
    def recover(self) -> None:
        """Mark jobs a killed process left running as failed; queue the waiting ones again, oldest first."""
        with Session(self.store.engine) as session, session.begin():
            for job in session.exec(select(Job).where(Job.status == "running")):
                job.status, job.error, job.finished_at = "failed", INTERRUPTED, utcnow()
                job.message = "interrupted"
        for job in self.jobs(status="queued"):
            self._queue.put(job.id)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="agileclf-app-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    # ---- requests -----------------------------------------------------------------------------------------
    def submit(self, classifier_id: int, method: str, params: dict, kind: str = "train") -> Job:
        """Queue a job: `train` a method, or `suggest` examples (method names the generator then)."""
        self.store.classifier(classifier_id)
        if kind == "train":
            check_method(self.settings, method, params)
            training_set(self.store, classifier_id)  # too few labels or examples: refused now, not a job that fails
        else:
            check_generator(self.settings)
        job = Job(classifier_id=classifier_id, kind=kind, method=method, params=params)
        with Session(self.store.engine, expire_on_commit=False) as session, session.begin():
            session.add(job)
        ahead = len([j for j in self.jobs(status="queued") if j.id != job.id]) + len(self.jobs(status="running"))
        if ahead:
            self._update(job.id, message=f"queued behind {ahead} other job(s)")
        self._queue.put(job.id)
        return self.job(job.id)

    def cancel(self, job_id: int) -> Job:
        with Session(self.store.engine, expire_on_commit=False) as session, session.begin():
            job = _get(session, Job, job_id, "job")
            if job.status not in JOB_ACTIVE:
                raise Conflict(f"job {job_id} has already finished ({job.status})")
            job.cancel_requested = True
            if job.status == "queued":
                job.status, job.message, job.finished_at = "cancelled", "cancelled before it started", utcnow()
            else:
                job.message = "cancelling after the current step"
        return job

    def job(self, job_id: int) -> Job:
        with self.store.session() as session:
            return _get(session, Job, job_id, "job")

    def jobs(self, classifier_id: int | None = None, status: str | None = None) -> list[Job]:
        with self.store.session() as session:
            query = select(Job)
            if classifier_id is not None:
                query = query.where(Job.classifier_id == classifier_id)
            if status is not None:
                query = query.where(Job.status == status)
            return list(session.exec(query.order_by(Job.id.desc())))

    def run_next(self, timeout: float | None = None) -> bool:
        """Run one queued job in this thread (the worker's loop body; tests call it directly)."""
        try:
            job_id = self._queue.get(timeout=timeout)
        except queue.Empty:
            return False
        if job_id is None:
            return False
        self._run(job_id)
        return True

    # ---- the worker ---------------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            self._run(job_id)

    def _run(self, job_id: int) -> None:
        job = self.job(job_id)
        if job.status != "queued":
            return  # cancelled while it waited
        self._update(job_id, status="running", started_at=utcnow(), message="starting", progress=0.0)
        last = [0.0]

        def report(fraction: float, message: str) -> None:
            now = time.monotonic()
            if fraction >= 1 or now - last[0] > 0.2:
                last[0] = now
                self._update(job_id, progress=round(fraction, 4), message=message)

        if job.kind == "suggest":
            self._suggest(job, report)
            return
        try:
            version = train_version(
                self.store,
                self.settings,
                job.classifier_id,
                job.method,
                dict(job.params or {}),
                job_id=job_id,
                report=report,
                cancelled=lambda: self.job(job_id).cancel_requested,
            )
        except Cancelled:
            self._update(job_id, status="cancelled", message="cancelled; nothing was saved", finished_at=utcnow())
        except AgileclfError as error:
            self._update(job_id, status="failed", error=str(error), message="failed", finished_at=utcnow())
        except Exception as error:  # a bug or a broken model: keep the app and the data, show what happened
            log.exception("training job %s failed", job_id)
            message = f"{type(error).__name__}: {error}"
            self._update(job_id, status="failed", error=message, message="failed", finished_at=utcnow())
        else:
            message = f"done: version {version.number}"
            self._update(
                job_id, status="done", progress=1.0, message=message, model_version_id=version.id, finished_at=utcnow()
            )

    def _suggest(self, job: Job, report) -> None:
        try:
            count = suggest_examples(self.store, self.settings, job.classifier_id, job.id, dict(job.params), report)
        except AgileclfError as error:
            self._update(job.id, status="failed", error=str(error), message="failed", finished_at=utcnow())
        except Exception as error:
            log.exception("suggestion job %s failed", job.id)
            message = f"{type(error).__name__}: {error}"
            self._update(job.id, status="failed", error=message, message="failed", finished_at=utcnow())
        else:
            message = f"done: {count} suggestion(s) waiting in Label next"
            self._update(job.id, status="done", progress=1.0, message=message, finished_at=utcnow())

    def _update(self, job_id: int, **fields) -> None:
        with Session(self.store.engine) as session, session.begin():
            job = session.get(Job, job_id)
            for key, value in fields.items():
                setattr(job, key, value)
