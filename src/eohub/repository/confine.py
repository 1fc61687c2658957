"""What ingest may read from the local disk, and how it opens it: nothing leaves the machine that the user
did not point at.

- Regular files inside the folder. Local assets and links (never child or item links) may also name
  regular files under the current directory, which the tutorial needs (its model sits in
  ``data/EuroSAT-RGB/v1/``, beside the catalog's folder); when the current directory is a file-system
  root, the user's home folder or a folder holding it, it allows nothing (a catalog downloaded to
  ``~/Downloads`` must not reach ``~/Documents`` because the shell happened to be in ``~``).
  ``allow_outside`` (``--allow-outside PATH``) adds a file or a folder to read under, for assets,
  links, documents and folder assets alike.
- A path is checked twice: as the href names it (``..`` folded, no I/O yet) and with every symbolic link
  resolved; both must be under one of those roots, so a symbolic link (in the folder or named by an href)
  whose target leaves them is refused. Outside the folder, a path with a hidden component relative to
  its root (``.ssh``, ``.aws``, ``.netrc``) is refused, and so is anything under ``EOHUB_HOME`` (its
  credentials), wherever it is and whatever is allowed.
- Only regular files are read: a FIFO, socket or device is refused from ``lstat`` before anything opens
  it. A folder asset inside the folder stands for its files; outside it, only under an ``allow_outside``
  root. Hidden files and folders are left out of a folder's walk, and symbolic links to folders met in it
  are not entered (logged).
- Which hrefs are local files at all is :mod:`eohub.core.hrefs`'s rule (URLs and image references are
  links, never read). ``file:`` URLs are local paths: ``file:///abs``, ``file:/abs`` or
  ``file://localhost/abs`` only; a host, a query, a fragment, a relative path or a NUL character is refused.
- Files are opened with ``O_NOFOLLOW | O_NONBLOCK`` on the resolved path and hashed only if ``fstat`` on
  the open descriptor shows the regular file that was checked (same device and inode), so a file
  swapped for a symbolic link or a FIFO in between is refused, never read.
- File names that are not UTF-8 are refused (stored paths are UTF-8).

A refusal is one :class:`~eohub.errors.UsageError` line naming the document, the href and how to allow
it on purpose. :mod:`eohub.repository.scan` applies these rules to every file and document it plans.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from eohub.config import load_settings
from eohub.core.hrefs import local_path
from eohub.errors import Argument, UsageError
from eohub.mlm.documents import file_kind, real_path, shown, shown_href

log = logging.getLogger(__name__)

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)


def _refused(message: str, path: str, what: str = "it") -> UsageError:
    """``message``, then how to read ``path`` on purpose: ``allow_outside=[path]`` (the CLI's flag)."""
    allow = Argument("allow_outside", [path])
    return UsageError(f"{message}; to read {what} on purpose, pass {allow}", arguments=[allow])


def _too_wide(cwd: Path) -> bool:
    """A current directory too wide to read assets under on a catalog's word: a file-system root, or the
    user's home folder or one holding it (``../../Documents/tax-return.pdf`` from a catalog in
    ``~/Downloads``, ingested from a shell in ``~``)."""
    if cwd == Path(cwd.anchor):
        return True
    try:
        home = real_path(Path.home())
    except (RuntimeError, OSError, KeyError):
        return False
    return is_under(home, cwd)


@dataclass(frozen=True)
class LocalFile:
    """A checked local file or folder: the path as named, the path read, and what ``lstat`` saw there."""

    path: Path
    real: Path
    identity: tuple[int, int]
    is_dir: bool


def is_under(path: Path, root: Path) -> bool:
    """True when ``path`` is ``root`` or below it (paths compared as they are, no I/O)."""
    return path == root or path.is_relative_to(root)


def _hidden_part(path: Path, root: Path) -> str | None:
    return next((p for p in path.relative_to(root).parts if p.startswith(".")), None)


class Confinement:
    """The roots ingest reads under and the checks of the module docstring, for one ingest."""

    def __init__(self, folder: Path, allow_outside: Sequence[str | Path] = ()) -> None:
        self.folder = folder
        self.home = real_path(load_settings().home.expanduser().absolute())
        if is_under(folder, self.home):
            raise UsageError(
                f"{shown(folder)} is inside EOHUB_HOME ({shown(self.home)}), which holds your hub "
                f"credentials; ingest never reads there (copy the files elsewhere to publish them)"
            )
        self.allowed = [self._allowed_root(p) for p in allow_outside]
        try:
            cwd = real_path(os.getcwd())
        except OSError:  # the current directory was removed
            cwd = Path("/")
        self.cwd = None if _too_wide(cwd) else cwd

    @staticmethod
    def _allowed_root(path: str | Path) -> Path:
        real = real_path(Path(path).absolute())
        try:
            os.stat(real)
        except (OSError, ValueError):
            allow = Argument("allow_outside", [shown(path)])
            raise UsageError(f"{allow}: no such file or folder", arguments=[allow]) from None
        return real

    def _roots(self, assets: bool) -> list[tuple[Path, str]]:
        """The roots a path may be under, most permissive first: (root, kind)."""
        roots = [(self.folder, "folder")] + [(r, "allowed") for r in self.allowed]
        return roots + ([(self.cwd, "cwd")] if assets and self.cwd else [])

    def _root_of(self, path: Path, assets: bool) -> tuple[Path, str] | None:
        return next(((r, k) for r, k in self._roots(assets) if is_under(path, r)), None)

    def _refuse_home(self, what: str, *paths: Path) -> None:
        if any(is_under(p, self.home) for p in paths):
            raise UsageError(
                f"{what} is inside EOHUB_HOME ({shown(self.home)}), which holds your hub credentials; "
                f"ingest never reads there (copy the file elsewhere to publish it)"
            )

    def _outside(self, what: str, path: Path, assets: bool) -> UsageError:
        where = "the folder" + (" and the current directory" if assets and self.cwd else "")
        return _refused(f"{what} is outside {where}", shown(path))

    def check(self, path: Path, what: str, assets: bool = True, folders: bool = False) -> LocalFile | None:
        """The checked file (or folder, when ``folders``) at ``path``; ``None`` when nothing is there.

        ``what`` starts the refusal message (the document and href, or the file met in a walk);
        ``assets`` adds the current directory to the roots.
        """
        self._refuse_home(what, path)
        if self._root_of(path, assets) is None:
            raise self._outside(what, path, assets)
        real = real_path(path)
        if real != path:
            what = f"{what} (a symbolic link to {shown(real)})"
        self._refuse_home(what, real)
        found = self._root_of(real, assets)
        if found is None:
            raise self._outside(what, real, assets)
        root, kind = found
        hidden = _hidden_part(real, root) if kind != "folder" else None
        if hidden:
            raise _refused(
                f"{what} is in a hidden file or folder ({shown(hidden)}) outside the folder", shown(real)
            )
        try:
            st = os.lstat(real)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise UsageError(f"{what}: cannot read ({exc.strerror or exc})") from None
        if stat.S_ISLNK(st.st_mode):
            raise UsageError(f"{what} is a symbolic link that cannot be resolved (a loop?)")
        if stat.S_ISDIR(st.st_mode) and folders:
            if kind == "cwd":
                raise _refused(f"{what} is a folder outside the folder", shown(real), "its files")
            return LocalFile(path, real, (st.st_dev, st.st_ino), True)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(
                f"{what} is {file_kind(st.st_mode)}, not a regular file; ingest reads regular files only"
            )
        return LocalFile(path, real, (st.st_dev, st.st_ino), False)

    def document(self, real: Path) -> None:
        """Refuse a STAC document (symbolic links resolved) ingest may not read: the walk's confinement."""
        what = shown(real)
        self._refuse_home(what, real)
        found = self._root_of(real, assets=False)
        if found is None:
            raise _refused(f"{what} is outside the folder", what)
        root, kind = found
        hidden = _hidden_part(real, root) if kind != "folder" else None
        if hidden:
            raise _refused(f"{what} is in a hidden folder ({shown(hidden)})", what)


def open_checked(file: LocalFile) -> BinaryIO:
    """Open the file that was checked, or raise :class:`UsageError` if something else is there now."""
    try:
        fd = os.open(file.real, _OPEN_FLAGS)
    except OSError as exc:
        reason = "it became a symbolic link" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise UsageError(f"{shown(file.real)}: cannot read file ({reason})") from None
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != file.identity:
        os.close(fd)
        raise UsageError(f"{shown(file.real)}: replaced by another file while ingest read it; run it again")
    return os.fdopen(fd, "rb")


def open_source(path: Path) -> BinaryIO:
    """Open a planned file again to upload it: the path read at scan time (symlinks resolved), which must
    still be a regular file there, never a link, FIFO or device put in its place since (the hub verifies
    the bytes against the SHA-256 taken at scan time)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        reason = "it became a symbolic link" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise UsageError(f"{shown(path)}: cannot read file ({reason})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"{shown(path)}: replaced by something that is not a file since ingest read it")
    return os.fdopen(fd, "rb")


def utf8_name(name: str, path: Path) -> str:
    """``name`` (of the file at ``path``) if it is valid UTF-8, else a :class:`UsageError`."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"{shown(path)}: the file name is not valid UTF-8; rename it (stored names are UTF-8)"
        ) from None
    return name


def walk_folder(top: Path, confinement: Confinement, assets: bool) -> list[LocalFile]:
    """Every non-hidden file under ``top``, each checked; symbolic links to folders are not entered."""
    out: list[LocalFile] = []
    for dirpath, dirnames, filenames in os.walk(top, onerror=_unreadable):
        here = Path(dirpath)
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            utf8_name(name, here / name)
            if (here / name).is_symlink():
                log.warning("%s: a symbolic link to a folder; not followed", shown(here / name))
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(f for f in filenames if not f.startswith(".")):
            path = here / utf8_name(name, here / name)
            file = confinement.check(path, shown(path), assets)
            if file is None:
                raise UsageError(f"{shown(path)}: a broken symbolic link (its target does not exist)")
            out.append(file)
    return out


def _unreadable(exc: OSError) -> None:
    raise UsageError(f"{shown(exc.filename or '?')}: cannot read folder ({exc.strerror or exc})")


# --- local hrefs -----------------------------------------------------------------------------------------


def local_target(doc_path: Path, href: str, what: str = "") -> Path:
    """The normalized local path a local href names (:func:`eohub.core.hrefs.local_path`: a path or a
    ``file:`` URL), resolved against the folder of its document."""
    path = local_path(href, what or shown_href(href))
    if path.startswith("/"):
        return Path(os.path.normpath("/" + path.lstrip("/")))
    return Path(os.path.normpath(doc_path.parent / path))
