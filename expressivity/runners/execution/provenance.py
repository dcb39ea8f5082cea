"""Where a result came from: the package version and the source tree's commit, recorded in every finished row.

git_commit()          # "3b0b8bd...", with "-dirty" when tracked files differ; "" outside a git checkout
package_version()     # expressivity.__version__
"""

from __future__ import annotations

import os
from pathlib import Path


def package_version() -> str:
    from expressivity import __version__

    return __version__


_GIT: list[str] = []


def git_commit() -> str:
    """HEAD of the source tree (with "-dirty" when tracked files differ), or "" outside a git checkout. Read-only.
    EXPRESSIVITY_GIT_COMMIT overrides it, for a copy of the tree without its .git (a GPU machine, an archive)."""
    if not _GIT and os.environ.get("EXPRESSIVITY_GIT_COMMIT"):
        _GIT.append(os.environ["EXPRESSIVITY_GIT_COMMIT"])
    if not _GIT:
        import subprocess

        root = Path(__file__).resolve().parents[2]
        try:
            head = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
            )
            commit = head.stdout.strip() if head.returncode == 0 else ""
            if commit:
                diff = subprocess.run(
                    ["git", "--no-optional-locks", "-C", str(root), "diff", "--quiet", "HEAD", "--"],
                    capture_output=True,
                    timeout=10,
                )
                commit += "-dirty" if diff.returncode == 1 else ""
        except (OSError, subprocess.SubprocessError):
            commit = ""
        _GIT.append(commit)
    return _GIT[0]
