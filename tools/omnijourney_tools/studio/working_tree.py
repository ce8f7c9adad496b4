"""What the studio does to the working tree: save a journey file, and show what a pull request would propose."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_SECONDS = 10


@dataclass(frozen=True)
class Proposal:
    """The file's change against the last commit (`git diff HEAD -- <file>`), and what it is in words."""

    diff: str
    note: str


def save(file: Path, text: str) -> None:
    """Write the text whole or not at all: a half-written journey is never left behind."""
    unfinished = file.with_name(f".{file.name}.saving")
    unfinished.write_text(text, encoding="utf-8", newline="")
    os.replace(unfinished, file)


def proposed_change(file: Path) -> Proposal:
    git = shutil.which("git")
    if git is None:
        return Proposal("", "git is not installed here, so there is no diff to show")
    folder = file.parent
    if _git(git, folder, "rev-parse", "--is-inside-work-tree") != "true\n":
        return Proposal("", f"{folder} is not a git checkout: there is no pull request to propose from it")
    if not _git(git, folder, "ls-files", "--", file.name):
        return Proposal("", f"{file.name} is not in git yet: a pull request would propose the whole file")
    diff = _git(git, folder, "diff", "--no-color", "HEAD", "--", file.name)
    if diff is None:
        return Proposal("", "git could not compare this file with the last commit")
    return Proposal(diff, "a pull request would propose this change" if diff else "no change since the last commit")


def _git(git: str, folder: Path, *arguments: str) -> str | None:
    """git's output in `folder`, or None when it fails."""
    try:
        answer = subprocess.run(  # noqa: S603 - git from PATH, with this module's own arguments and a file name
            [git, "-C", str(folder), *arguments], capture_output=True, text=True, check=False, timeout=GIT_SECONDS
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return answer.stdout if answer.returncode == 0 else None
