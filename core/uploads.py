"""Checks of uploaded files that every app shares (appeal attachments, complaint evidence).

`upload_inspect(upload)`: the file's type from its bytes (not its name) and what is wrong with
it, if anything: larger than EVIDENCE_MAX_BYTES, not one of EVIDENCE_TYPES, or a PDF with
active content. Each app words its own answer.

`pdf_active_content(data)`: the PDF features that make a viewer do something on its own — run a
script, follow an action when the file is opened or a page shown, launch a program, carry
another file inside (issue 14 item 9). A PDF with any of them is refused at upload; the
attachment views also serve every file as a sandboxed download (closures/views.py), so a file
that slipped past still runs nothing in the browser.

The check reads PDF *names* (`/JavaScript`, also written `/J#61vaScript`), in the file itself and
inside its compressed streams (object streams hide dictionaries there), with a cap on how much
it inflates. An encrypted PDF cannot be read this way and is refused as well.
"""

from __future__ import annotations

import re
import zlib
from typing import Literal

import filetype
from django.core.files.uploadedfile import UploadedFile

# What a customer may send as evidence: PDF, JPEG or PNG, 5 MB at most.
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
EVIDENCE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})

UploadProblem = Literal["", "too_large", "type", "active"]


def upload_inspect(upload: UploadedFile) -> tuple[str, UploadProblem]:
    """(the MIME type read from the bytes, the problem or ""); the file is left at its start."""
    if upload.size is not None and upload.size > EVIDENCE_MAX_BYTES:
        return "", "too_large"
    upload.seek(0)
    kind = filetype.guess(upload.read(8192))
    upload.seek(0)
    mime = kind.mime if kind else ""
    if mime not in EVIDENCE_TYPES:
        return mime, "type"
    active = mime == "application/pdf" and pdf_active_content(upload.read())
    upload.seek(0)
    return mime, "active" if active else ""


# Names whose presence makes a PDF "active" (ISO 32000: actions, scripts, embedded files, forms
# that submit or import, rich media).
ACTIVE_NAMES = frozenset(
    {
        "OpenAction",
        "AA",
        "JavaScript",
        "JS",
        "Launch",
        "EmbeddedFile",
        "EmbeddedFiles",
        "RichMedia",
        "SubmitForm",
        "ImportData",
        "XFA",
    }
)
ENCRYPTED = "Encrypt"

_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\n?endstream", re.DOTALL)
# Inflate at most this much in all (a small file may inflate to gigabytes).
MAX_INFLATED_BYTES = 50 * 1024 * 1024


def _names(data: bytes) -> set[str]:
    found = set()
    for match in _NAME.finditer(data):
        raw = _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
        found.add(raw.decode("latin-1"))
    return found


def _inflated(data: bytes):
    budget = MAX_INFLATED_BYTES
    for match in _STREAM.finditer(data):
        if budget <= 0:
            return
        inflater = zlib.decompressobj()
        try:
            chunk = inflater.decompress(match.group(1), budget)
        except zlib.error:
            continue  # not Flate (an image, say): nothing to read in it
        budget -= len(chunk)
        yield chunk


def pdf_active_content(data: bytes) -> list[str]:
    """The active-content names found in the PDF `data` (plus "Encrypt" for an encrypted one),
    sorted; empty for a plain document."""
    names = _names(data)
    for chunk in _inflated(data):
        names |= _names(chunk)
    return sorted(names & (ACTIVE_NAMES | {ENCRYPTED}))
