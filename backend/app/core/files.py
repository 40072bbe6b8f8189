"""Files and folders only their owner may read (generated secrets, the database, stored files, mail).

`mkdir(mode=...)` and `open(..., mode)` are masked by the umask and, for `mkdir(parents=True)`,
apply to the last folder only; these helpers give every folder they make mode 700, and take the
group's and others' bits off what already exists, so a checkout made under umask 022 is tightened
on the next start.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
GROUP_AND_OTHER_BITS = 0o077
logger = logging.getLogger("strata.files")


def write_private_file(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 600, atomically: readers see the old file or the new one."""
    make_private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def make_private_dir(path: Path) -> None:
    """Make `path` and each missing folder above it with mode 700; existing ones are left as they are."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile, by another process
        os.chmod(folder, PRIVATE_DIR_MODE)  # whatever the umask (a umask of 0o200 would leave 500)


def restrict_to_owner(path: Path) -> bool:
    """Take the group's and others' permissions off an existing file or folder of ours.

    False, with a warning, when it is not ours to change: owned by another user, or a shared
    sticky folder such as /tmp (MAIL_DIR=/tmp must not lock every other user out of it).
    """
    status = path.stat()
    current = stat.S_IMODE(status.st_mode)
    if status.st_uid != os.geteuid() or (stat.S_ISDIR(status.st_mode) and current & stat.S_ISVTX):
        if current & GROUP_AND_OTHER_BITS:
            logger.warning("left readable by others: not ours to change", extra={"path": str(path)})
        return False
    if current & GROUP_AND_OTHER_BITS:
        os.chmod(path, current & ~GROUP_AND_OTHER_BITS)
    return True
