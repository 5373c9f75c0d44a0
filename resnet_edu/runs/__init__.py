"""The run store: every run, metric, event and checkpoint of ResNet Lab, in one SQLite file.

Why a database and not Python lists? A run trains in one place (the app's training process,
or a thread of the CLI), while the pages that draw it run in the Streamlit server, one
script run per browser tab, and the app itself can be restarted or killed. So training
writes every number here, and every page reads it back from here: a refresh, a second tab
or a restarted app all see the same runs.

Where it lives: ``$RESNET_EDU_RUNS_DIR`` (default ``./runs``)::

    runs/
      runs.sqlite              the tables (plus -wal / -shm files while open)
      .open.lock .repair.lock  every open store's share of the folder; one repairer at a time
      checkpoints/<run_id>/    model checkpoints of one run

Errors are fractions in [0, 1]. A diverged loss (inf) is stored as inf; NaN is stored as
NULL and read back as NaN. Logging a step twice (after resuming from a checkpoint)
replaces the old row.

The package, one concern per file (``RunStore`` in ``store.py`` is assembled from the parts):

=================  ==========================================================================
``schema.py``      the tables, statuses and columns; migrating an older file
``values.py``      checking ids and text, numbers and JSON in and out, rows into DataFrames
``ownership.py``   which process owns a run, and whether it is still alive
``connections.py`` one connection per thread, WAL, waiting out "database is locked"
``writer.py``      the write buffer, its background commits, and the logging calls
``records.py``     create a run, change its status, log an event, delete runs
``reads.py``       runs and their metrics as DataFrames; long curves summed in SQL
``export.py``      a run's metrics as one CSV table
``checkpoints.py`` where checkpoints live, the latest one, reading one safely
``housekeeping.py`` pruning, archiving, compacting a term of runs
``analysis_table.py`` rows of heavy analysis jobs (lesion studies, loss landscapes)
``store.py``       ``RunStore``: opening, start-up and exit; a folder deleted under it
``openers.py``     who has the file open: one repairer, only while no other store has it open
``repair.py``      a damaged ``runs.sqlite``: set aside, what can be read is saved
``disk.py``        a full disk: one sentence a teacher can act on, and a space reserve
=================  ==========================================================================

Importing this package never imports torch or Streamlit (``checkpoints.load_checkpoint``
imports torch when it is called).
"""

from __future__ import annotations

from resnet_edu.runs.repair import StoreDamaged
from resnet_edu.runs.schema import (
                                    ACTIVE_STATUSES,
                                    ENDED_STATUSES,
                                    EVAL_COLUMNS,
                                    RUN_COLUMNS,
                                    RUN_STATUSES,
                                    STEP_COLUMNS,
)
from resnet_edu.runs.store import RunStore, default_root
from resnet_edu.runs.values import RunNotFound
from resnet_edu.runs.writer import StoreWriteError

__all__ = [
    "ACTIVE_STATUSES",
    "ENDED_STATUSES",
    "EVAL_COLUMNS",
    "RUN_COLUMNS",
    "RUN_STATUSES",
    "STEP_COLUMNS",
    "RunNotFound",
    "RunStore",
    "StoreDamaged",
    "StoreWriteError",
    "default_root",
]
