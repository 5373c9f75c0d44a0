"""Class packs: runs carried from the machine that trained them to the one in the classroom, in one zip file.

A pack holds whole runs: their rows, every logged iteration, evaluation, event and layer
statistic, the finished analyses (lesion studies, loss landscapes) about them, and their
checkpoint files (``init.pt`` and ``last.pt``), with a ``manifest.json`` that says what each run
is and who trained it where::

    manifest.json                  format, format_version, app_version, packed_at/by, runs, files
    analyses.json                  finished analysis jobs whose runs are all in the pack
    runs/<run_id>/run.json         the run's row and its tables (steps, evals, events, layer_stats)
    checkpoints/<run_id>/<name>.pt the run's checkpoint files, byte for byte

:func:`write_pack` makes one from runs of a store; :func:`unpack` brings one into a store.
Unpacking checks everything before it writes anything: the zip itself (not a zip, truncated,
damaged), the manifest's format version, every member's name (nothing outside the pack's own
layout, no path that climbs out of a folder), the sizes against the free disk, every table,
and every checkpoint, read from memory with ``torch.load(weights_only=True)`` (no pickled code)
and loaded *strictly* into the net its run's config builds. Checkpoints are then written to a
folder beside the store, moved into ``checkpoints/`` and the rows committed in one transaction;
any failure removes what was moved, so a bad pack leaves the store as it was.

Imported runs carry ``imported`` (the store's column): who trained them, on which host and
device, when, with which version, and which pack brought them. They are never resumed (a
pack's run stays as it was trained; :func:`refuse_resuming_imported`). A run whose id is
already in the store is skipped with a sentence (it is the same run, opened before); a pack
that lists one run id twice is refused.

No Streamlit here; torch is imported only when a pack is opened (the checkpoints are checked).

    layout    the format, its limits, what writing and opening report, provenance, packs on disk
    writing   write_pack / pack_bytes: runs of a store into one zip
    checks    every check a pack passes before anything is written (BadPack with a sentence)
    opening   unpack: checked, then brought into a store in one go
"""

from __future__ import annotations

from resnet_edu.sharing.packs.checks import check_checkpoint
from resnet_edu.sharing.packs.layout import (
    ANALYSES,
    MANIFEST,
    PACK_FORMAT,
    PACK_SUFFIX,
    PACK_VERSION,
    BadPack,
    PackSummary,
    UnpackResult,
    default_pack_name,
    pack_files,
    packs_folder,
    provenance_line,
    refuse_resuming_imported,
    runs_of_group,
    this_machine,
)
from resnet_edu.sharing.packs.opening import unpack
from resnet_edu.sharing.packs.writing import pack_bytes, write_pack

__all__ = ["ANALYSES", "BadPack", "MANIFEST", "PACK_FORMAT", "PACK_SUFFIX", "PACK_VERSION", "PackSummary",
           "UnpackResult", "check_checkpoint", "default_pack_name", "pack_bytes", "pack_files", "packs_folder", "provenance_line",
           "refuse_resuming_imported", "runs_of_group", "this_machine", "unpack", "write_pack"]
