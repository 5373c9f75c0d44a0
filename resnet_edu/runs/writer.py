"""The write buffer: training threads log thousands of rows; they are committed in batches.

This is the part of the store worth copying into your own projects:

- A transaction per row would be slow. ``log_step``, ``log_eval``, ``log_layer_stats`` and
  ``set_progress`` only append to lists in memory; a background thread commits them
  together in one ``BEGIN IMMEDIATE ... COMMIT`` every ``FLUSH_INTERVAL_S`` seconds, and
  ``flush()``/``close()`` commit at once. A killed app loses at most the last fraction of
  a second; everything committed survives ``kill -9``.
- Batches are committed strictly in order, so a page that reads "steps after the last one
  I saw" never skips a row.
- Rare and important writes (a status change, an event) go through ``_commit(work)``: they
  are committed at once, in the same transaction as everything buffered before them.
- A write the disk refuses (full, quota, file size limit) is kept buffered and retried;
  meanwhile the logging calls raise ``StoreWriteError`` so the training loop can end the
  run ``failed`` with "the disk is full (... free)", and a status change is tried on its
  own so that the failure itself still lands when it fits.
- The space reserve (``disk.SpaceReserve``) is given up only for a write that lets a run end
  cleanly (an ending status and the event saying so, a checkpoint's record: ``ends_run=True``),
  never for metrics or other events, and it is made again at the first commit that succeeds
  once space is back.
"""

from __future__ import annotations

import logging
import pathlib
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from resnet_edu.runs.disk import describe_write_error, is_write_failure
from resnet_edu.runs.schema import INSERT_EVAL, INSERT_LAYER, INSERT_STEP, UPDATE_PROGRESS
from resnet_edu.runs.values import check_run_id, check_text, to_float, to_int

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.25  # background commit period: a killed app loses at most this much (keep it <= 0.5 s)
MAX_PENDING_ROWS = 20_000  # past this, the logging thread commits itself (back-pressure)


class StoreWriteError(OSError):
    """The disk refused the store's last commit (full, a quota, a size limit); rows stay buffered.

    ``error`` is what SQLite raised; ``describe_write_error`` (``disk.py``) turns it into the
    sentence a run ends with (this error's message).
    """

    def __init__(self, error: BaseException, folder: pathlib.Path) -> None:
        self.error = error
        super().__init__(describe_write_error(error, folder))
        self.__cause__ = error


def _flusher(ref: weakref.ReferenceType, stop: threading.Event) -> None:
    """Background thread: commit buffered rows every FLUSH_INTERVAL_S seconds."""
    told_disk_failure = False
    while not stop.wait(FLUSH_INTERVAL_S):
        store = ref()
        if store is None:
            return
        try:
            store.flush()
            told_disk_failure = False
        except Exception as error:  # keep going; the rows stay buffered and are retried
            if not is_write_failure(error):
                logger.exception("RunStore: background commit failed")
            elif not told_disk_failure:  # once, not four times a second while the disk is full
                logger.error("RunStore: %s", describe_write_error(error, store.root))
                told_disk_failure = True
        del store


class WriteBufferMixin:
    """The buffered-writing part of ``RunStore``.

    Uses ``self._transaction``, ``self._query`` and ``self._check_same_file`` (connections, store),
    ``self._accepts_logs`` (records), ``self.root``, ``self._closed``, ``self._reserve`` (a
    ``SpaceReserve``, ``disk.py``) and ``self._reserve_missing`` (it is to be made again).
    """

    def _init_buffers(self) -> None:
        self._lock = threading.Lock()  # guards the buffers below
        self._flush_lock = threading.RLock()  # one commit at a time: batches land in order
        self._steps: list[tuple] = []
        self._evals: list[tuple] = []
        self._layers: list[tuple] = []
        self._progress: dict[str, tuple[int, int | None, float | None, float | None]] = {}
        self._pending = 0
        self._stop = threading.Event()
        self._flusher_thread: threading.Thread | None = None
        self.write_error: BaseException | None = None  # the disk refused the last commit

    # ------------------------------------------------------------------ the buffered writes
    def log_step(
        self,
        run_id: str,
        step: int,
        *,
        epoch: float,
        train_seconds: float,
        train_loss: float,
        train_error: float,
        lr: float,
        images_per_second: float | None,
    ) -> None:
        """Buffer one training step (committed within 0.25 s). inf/NaN losses are fine.

        ``train_seconds`` is the time spent inside training steps since the run began (data
        preparation and evaluation excluded), not the time on the clock.
        """
        row = (run_id, to_int(step, "step"), to_float(epoch), to_float(train_seconds), to_float(train_loss),
               to_float(train_error), to_float(lr), to_float(images_per_second))
        if self._accepts_logs(run_id):
            self._buffer("_steps", [row])

    def log_eval(
        self,
        run_id: str,
        step: int,
        *,
        epoch: float,
        train_seconds: float,
        test_loss: float,
        test_error: float,
    ) -> None:
        """Buffer one test-set evaluation made after training step ``step``."""
        row = (run_id, to_int(step, "step"), to_float(epoch), to_float(train_seconds), to_float(test_loss),
               to_float(test_error))
        if self._accepts_logs(run_id):
            self._buffer("_evals", [row])

    def log_layer_stats(self, run_id: str, step: int, kind: str, values: Mapping[str, float]) -> None:
        """Buffer one value per layer, e.g. ``kind="grad_norm"``, ``{"layer1.0.conv1": 0.3, ...}``.

        The dict's order is kept (as ``layer_index``): pass layers in depth order.
        """
        step = to_int(step, "step")
        kind = check_text(kind, "layer stat kind", 64)
        rows = [(run_id, kind, step, i, str(layer), to_float(v)) for i, (layer, v) in enumerate(values.items())]
        if rows and self._accepts_logs(run_id):
            self._buffer("_layers", rows)

    def set_progress(self, run_id: str, steps_done: int, total_steps: int | None = None, *,
                     images_per_second: float | None = None, eta_seconds: float | None = None) -> None:
        """Record how far a run is (buffered; a None keeps the old value of total, speed or ETA)."""
        check_run_id(run_id)
        steps_done = to_int(steps_done, "steps_done")
        if total_steps is not None:
            total_steps = to_int(total_steps, "total_steps")
        if not self._accepts_logs(run_id):
            return
        with self._lock:
            if run_id not in self._progress:
                self._pending += 1
            previous = self._progress.get(run_id, (0, None, None, None))
            self._progress[run_id] = (
                steps_done,
                total_steps if total_steps is not None else previous[1],
                to_float(images_per_second) if images_per_second is not None else previous[2],
                to_float(eta_seconds) if eta_seconds is not None else previous[3],
            )
        self._ensure_flusher()

    # ------------------------------------------------------------------ the buffer and its commits
    def _buffer(self, attr: str, rows: list[tuple]) -> None:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        failure = self.write_error
        if failure is not None:
            # Keep what is buffered (retried in the background, committed once there is space)
            # and tell the training loop now, so its run ends with a reason instead of
            # growing an unwritable backlog.
            raise StoreWriteError(failure, self.root)
        with self._lock:
            # Look the list up under the lock: a commit may have just swapped it out.
            getattr(self, attr).extend(rows)
            self._pending += len(rows)
            backlog = self._pending >= MAX_PENDING_ROWS
        self._ensure_flusher()
        if backlog:
            self.flush()

    def _ensure_flusher(self) -> None:
        if self._flusher_thread is None:
            with self._lock:
                if self._flusher_thread is None and not self._closed:
                    t = threading.Thread(
                        target=_flusher, args=(weakref.ref(self), self._stop),
                        name="RunStore-flusher", daemon=True,
                    )
                    t.start()
                    self._flusher_thread = t

    def _take_pending(self) -> tuple[list, list, list, dict]:
        with self._lock:
            batch = (self._steps, self._evals, self._layers, self._progress)
            self._steps, self._evals, self._layers, self._progress = [], [], [], {}
            self._pending = 0
        return batch

    def _requeue(self, batch: tuple[list, list, list, dict]) -> None:
        steps, evals, layers, progress = batch
        with self._lock:
            self._steps = steps + self._steps
            self._evals = evals + self._evals
            self._layers = layers + self._layers
            progress.update(self._progress)  # newer progress wins
            self._progress = progress
            self._pending += len(steps) + len(evals) + len(layers) + len(progress)

    def _drop_buffered(self, run_ids: Iterable[str]) -> None:
        """Forget buffered rows of runs being deleted. Call with the flush lock held."""
        gone = set(run_ids)
        with self._lock:
            self._steps = [r for r in self._steps if r[0] not in gone]
            self._evals = [r for r in self._evals if r[0] not in gone]
            self._layers = [r for r in self._layers if r[0] not in gone]
            for run_id in gone:
                self._progress.pop(run_id, None)
            self._pending = len(self._steps) + len(self._evals) + len(self._layers) + len(self._progress)

    def _commit(self, work: Callable[[sqlite3.Connection], Any] | None = None, *, ends_run: bool = False) -> Any:
        """Commit everything buffered, then ``work``, in one transaction, in order.

        Args:
            work: more writes, in the same transaction.
            ends_run: ``work`` lets a run end cleanly (its ending status, its checkpoint's
                record): on a full disk it may use the space reserve.
        """
        with self._flush_lock:
            if work is None and not self._pending:
                return None
            self._check_same_file()  # before taking the batch: rows of a deleted file go nowhere
            batch = self._take_pending()
            steps, evals, layers, progress = batch

            batch_written = False

            def write(c: sqlite3.Connection) -> Any:
                nonlocal batch_written
                if steps:
                    c.executemany(INSERT_STEP, steps)
                if evals:
                    c.executemany(INSERT_EVAL, evals)
                if layers:
                    c.executemany(INSERT_LAYER, layers)
                if progress:
                    c.executemany(UPDATE_PROGRESS, [(*numbers, r) for r, numbers in progress.items()])
                batch_written = True
                return work(c) if work is not None else None

            try:
                result = self._transaction(write)
            except BaseException as exc:
                if is_write_failure(exc):
                    return self._commit_after_write_failure(exc, batch, work, ends_run)
                # The transaction was rolled back. Keep the buffered rows for the next commit
                # when the database was busy or ``work`` failed (e.g. an unknown run); drop
                # them only if they themselves cannot be written, or every commit would fail.
                if batch_written or isinstance(exc, (sqlite3.OperationalError, KeyboardInterrupt)):
                    self._requeue(batch)
                else:
                    logger.error("RunStore: dropped %d buffered rows that cannot be written: %s",
                                 len(steps) + len(evals) + len(layers) + len(progress), exc)
                raise
            self.write_error = None
            if self._reserve_missing:  # space is back (this commit fit): keep the reserve again
                self._reserve_missing = not self._reserve.keep()
            return result

    def _commit_after_write_failure(self, exc: BaseException, batch: tuple, work: Callable | None,
                                    ends_run: bool) -> Any:
        """The disk refused a commit: keep the rows for later, and still try ``work`` on its own.

        A status change (e.g. the run ending ``failed`` because of this very error) is a few
        hundred bytes and often fits where a batch of metrics did not; if even that does not
        fit and ``work`` ends a run, the space reserve is given up for it. Call with the flush
        lock held.
        """
        self.write_error = exc
        self._requeue(batch)
        if work is None:
            raise exc
        for attempt in range(2):
            if attempt == 1:
                if not ends_run or not self._reserve.release():
                    break
                self._reserve_missing = True
                logger.warning("RunStore: the space reserve %s was given up to record how a run ended",
                               self._reserve.path)
            try:
                return self._transaction(work)
            except BaseException as again:
                if not is_write_failure(again):
                    raise
        raise exc

    def flush(self) -> None:
        """Commit everything buffered so far (no-op when nothing is)."""
        if self._pending:
            self._commit()

    def _flush_for_read(self) -> None:
        # A page must still see what is committed even if this commit has to wait or fails
        # (the rows stay buffered and the background thread retries them).
        try:
            self.flush()
        except (sqlite3.OperationalError, StoreWriteError) as exc:
            logger.warning("RunStore: could not commit buffered rows before a read: %s", exc)

    def _read(self, sql: str, args: Iterable[Any]) -> list[tuple]:
        """Rows of one SELECT, after committing what this process has buffered."""
        self._flush_for_read()
        return self._query(sql, args)
