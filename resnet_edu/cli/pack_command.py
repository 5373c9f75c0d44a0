"""``runs pack`` and ``runs unpack``: class packs written and opened from the command line.

``runs pack RUN_ID… | --group GROUP -o FILE`` writes the runs (metrics, events, layer
statistics, analyses, checkpoints) into one zip; ``runs unpack FILE`` brings a pack's runs into
this store. A bad pack exits 2 with one line that says why, and the store stays as it was.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from resnet_edu.cli.parser import UserError
from resnet_edu.cli.train_command import status_line


def pack_main(store, args: argparse.Namespace) -> int:
    if args.runs_command == "pack":
        return _pack(store, args)
    return _unpack(store, args)


def _pack(store, args: argparse.Namespace) -> int:
    from resnet_edu.runs.disk import describe_write_error, is_write_failure
    from resnet_edu.sharing.packs import runs_of_group, write_pack

    if bool(args.run_ids) == (args.group is not None):
        raise UserError("say which runs: RUN_ID… or --group GROUP (not both)")
    output = Path(args.output)
    if output.is_dir():
        raise UserError(f"{output} is a folder: give -o a file name, e.g. {output / 'pack.zip'}")
    if not output.parent.is_dir():
        raise UserError(f"the folder {output.parent} does not exist")
    try:
        run_ids = runs_of_group(store, args.group) if args.group is not None else list(args.run_ids)
        summary = write_pack(store, run_ids, output,
                             progress=lambda fraction, message: status_line(f"packing {message} {fraction:.0%}"))
    except ValueError as error:
        raise UserError(str(error)) from None
    except OSError as error:
        if not is_write_failure(error):
            raise UserError(f"cannot write {output}: {error.strerror or error}") from None
        raise UserError(describe_write_error(error, output.parent, advice="free some space and pack again")) from None
    _end_status_line()
    print(json.dumps({"pack": summary.path, "bytes": summary.bytes, "runs": summary.run_ids,
                      "checkpoints": summary.checkpoints, "analyses": summary.analyses}))
    return 0


def _unpack(store, args: argparse.Namespace) -> int:
    from resnet_edu.runs.disk import describe_write_error
    from resnet_edu.sharing.packs import BadPack, unpack

    try:
        result = unpack(store, args.file,
                        progress=lambda fraction, message: status_line(f"opening: {message} {fraction:.0%}"))
    except BadPack as error:
        raise UserError(str(error)) from None
    except (OSError, sqlite3.Error) as error:  # a full disk while writing: what was moved is taken back
        raise UserError(describe_write_error(error, store.root, advice="free some space and open it again")) from None
    _end_status_line()
    if args.json:
        print(json.dumps({"imported": result.imported, "skipped": [{"run_id": r, "why": why}
                                                                    for r, why in result.skipped],
                          "names": result.names, "analyses": result.analyses, "checkpoints": result.checkpoints,
                          "bytes": result.bytes, "seconds": round(result.seconds, 3)}))
    else:
        print(result.sentence())
    return 0


def _end_status_line() -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)
