"""Files we write under var/ hold personal data (a message's address, phone, one-time code, an
uploaded document): readable by the app's own user only, 0600 in 0700 folders, whatever the
process umask.

- Uploads: FileSystemStorage with FILE_UPLOAD_PERMISSIONS / FILE_UPLOAD_DIRECTORY_PERMISSIONS
  (settings.py).
- Development mail (`var/mail/`, no EMAIL_URL): `PrivateFileEmailBackend` below.
- Development SMS (`var/sms/`) and the credit bureau's file backend (`var/bureau/`) open their
  files 0600 themselves (notices/backends/sms.py, accounts/bureau/backends.py).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from django.core.mail.backends import filebased

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: str | os.PathLike) -> Path:
    """Create `path` (and its parents) 0700; an existing folder of ours is tightened to 0700."""
    folder = Path(path)
    folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # a folder someone else owns stays as it is
        os.chmod(folder, PRIVATE_DIR_MODE)
    return folder


class PrivateFileEmailBackend(filebased.EmailBackend):
    """Django's file backend (one .log file per connection under EMAIL_FILE_PATH), each file
    created 0600 from the start (not chmod-ed after the message is in it) in a 0700 folder."""

    def __init__(self, *args, file_path=None, **kwargs):
        from django.conf import settings

        private_dir(file_path or settings.EMAIL_FILE_PATH)
        super().__init__(*args, file_path=file_path, **kwargs)

    def open(self) -> bool:
        if self.stream is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            fd = os.open(self._get_filename(), flags, PRIVATE_FILE_MODE)
            self.stream = os.fdopen(fd, "ab")
            return True
        return False
