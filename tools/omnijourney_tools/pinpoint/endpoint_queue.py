"""The checkpoint of `import pinpoint endpoints --stage`: the last record sent, so an interrupted import resumes
after it and sends every record once."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from omnijourney_tools.pinpoint.exports import ImportRefused
from omnijourney_tools.stage_queue import Place


@dataclass
class Checkpoint:
    """The last record sent, kept in `path` for one import (its source and stage), so a rerun resumes after it."""

    path: Path
    source: str
    stage: str
    resume_after: Place | None = None

    @classmethod
    def open(cls, path: Path, source: str, stage: str) -> Checkpoint:
        checkpoint = cls(path, source, stage)
        if not path.exists():
            return checkpoint
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            place = Place(str(kept["object"]), int(kept["line"]))
        except (ValueError, KeyError, TypeError):
            raise ImportRefused(path, "is not a checkpoint of this command; move it away to start over") from None
        if (kept.get("source"), kept.get("stage")) != (source, stage):
            raise ImportRefused(
                path,
                f"is the checkpoint of importing {kept.get('source')} into stage {kept.get('stage')}: move it"
                " away, or give another --checkpoint",
            )
        checkpoint.resume_after = place
        return checkpoint

    def save(self, place: Place) -> None:
        """Through a temporary file and a rename: an interruption leaves the previous checkpoint or this one."""
        temporary = self.path.with_name(f".{self.path.name}.writing")
        record = {"source": self.source, "stage": self.stage, "object": place.object, "line": place.line}
        temporary.write_text(json.dumps(record), encoding="utf-8")
        os.replace(temporary, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
