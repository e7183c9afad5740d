"""Streaming JSONL reading with ``file:line`` errors, rejects files, and atomic writing.

Reading never holds a whole file in memory. In strict mode the first bad line raises
:class:`RecordError`; in lenient mode each bad line goes to ``on_reject`` (usually a
:class:`RejectsWriter`) with its reason, so records in = records out + records rejected.
Writing goes to a temporary file beside the target, is fsynced, and renamed over it: a killed
process leaves the old file (or none), never half of a new one. ``.gz`` paths are (de)compressed.

A line is rejected, not passed on, when no later stage could handle it: nesting deeper than
:data:`MAX_DEPTH` (it would overflow the stack of recursive code and serializers) or a lone UTF-16
surrogate such as ``"\\ud800"`` (valid JSON, but not Unicode text: it cannot be encoded as UTF-8,
tokenized or printed). :func:`record_problem` is the same check for values read some other way.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from ru_llm.core.conversation import Conversation
from ru_llm.core.errors import RecordError, RuLLMError

try:  # several times faster; ru-llm-dataset installs it, core alone falls back to the standard library
    import orjson
except ImportError:  # pragma: no cover - depends on the installation
    orjson = None  # type: ignore[assignment]

T = TypeVar("T")

#: The deepest nesting of arrays and objects a record may have. orjson writes at most 254 levels and a
#: rejects line wraps its record one level deeper; real records (even OASST tree exports) stay far below.
MAX_DEPTH = 200
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # in a raw line: where a lone surrogate may be
_NOT_TEXT = "an unpaired \\u{:04x} escape is not Unicode text"
# The id of a record written by ru-llm (its first key), for lines too deep to decode at all.
_LEADING_ID = re.compile(rb'\s*\{\s*"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9]+)\s*[,}]')


def record_problem(value: Any) -> str | None:
    """Why a decoded JSON value cannot go through the pipeline, or ``None`` when it can.

    Two problems: nesting deeper than :data:`MAX_DEPTH`, and a string (or key) with a lone UTF-16
    surrogate, which Python's ``json`` decodes from an unpaired ``\\ud800`` escape but which is not text.
    The walk is iterative, so any depth is safe to check.
    """
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found is not None:
                where = f" in {_path(path)}" if path else ""
                return f"lone surrogate U+{ord(found.group()):04X}{where}: {_NOT_TEXT.format(ord(found.group()))}"
            continue
        if isinstance(item, (dict, list)) and depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and (found := _SURROGATE.search(key)) is not None:
                    where = f" in a key of {_path(path)}" if path else " in a key"
                    return f"lone surrogate U+{ord(found.group()):04X}{where}: {_NOT_TEXT.format(ord(found.group()))}"
                stack.append((child, depth + 1, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, depth + 1, (*path, i)) for i, child in enumerate(item))
    return None


def _path(path: tuple[str | int, ...]) -> str:
    """``messages[1].content``; keys are escaped as needed, so the text is always valid Unicode."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part.encode("utf-8", "backslashreplace").decode("utf-8")
            text += f".{key}" if text else key
    return text


def _record_id(value: Any) -> str | None:
    """The record's id for error messages, when it has a usable one."""
    if not isinstance(value, Mapping):
        return None
    raw = value.get("id")
    if isinstance(raw, (str, int)) and not isinstance(raw, bool) and str(raw).strip():
        return str(raw).encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate, escaped
    return None


def _leading_id(raw: bytes) -> str | None:
    """The record id from the start of a line that could not be decoded (too deep), if it leads."""
    found = _LEADING_ID.match(raw)
    if found is None:
        return None
    try:
        return _record_id({"id": json.loads(found.group(1))})
    except ValueError:
        return None


def _may_have_problem(raw: bytes, *, surrogates: bool) -> bool:
    """A cheap filter on the raw line: only lines it passes need :func:`record_problem`'s walk."""
    if len(raw) - len(raw.translate(None, b"[{")) > MAX_DEPTH:  # as fast as one bytes.count, not two
        return True
    return surrogates and _SURROGATE_ESCAPE.search(raw) is not None


@dataclass(frozen=True)
class Reject:
    """A record that was dropped, with why and where from."""

    reason: str
    file: str | None = None
    line: int | None = None
    record_id: str | None = None
    record: Any = None  # the decoded record, or the raw line when it did not decode
    source: str | None = None  # the dataset source it belonged to, when a stage mixes several
    flags: tuple[str, ...] | list[str] = ()  # machine-readable reasons, when a stage has them

    def to_dict(self) -> dict[str, Any]:
        data = {
            "reason": self.reason,
            "file": self.file,
            "line": self.line,
            "id": self.record_id,
            "record": self.record,
        }
        if self.source is not None:
            data["source"] = self.source
        if self.flags:
            data["flags"] = list(self.flags)
        return data


@dataclass
class ReadStats:
    """What a reader saw: records (non-blank lines), how many passed, how many were rejected and why."""

    records: int = 0
    ok: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def _open_read(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _lines(fh: IO[bytes], path: Path) -> Iterator[bytes]:
    """The file's lines; a damaged compressed file is a user error, not a traceback."""
    try:
        yield from fh
    except (OSError, EOFError) as e:
        raise RuLLMError(f"{path}: cannot read the file: {e}", hint="is the .gz file complete?") from e


class JsonlReader(Generic[T]):
    """Iterate the records of a JSONL file, parsed by ``parse(obj, location=...)``.

    :param strict: raise on the first bad line (default); otherwise send it to ``on_reject``.
    :param on_reject: called with a :class:`Reject` for each bad line; required when not strict.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        parse: Callable[..., T],
        *,
        strict: bool = True,
        on_reject: Callable[[Reject], object] | None = None,
    ) -> None:
        if not strict and on_reject is None:
            raise ValueError("lenient reading needs on_reject, so no bad line is dropped silently")
        self.path = Path(path)
        self.parse = parse
        self.strict = strict
        self.on_reject = on_reject
        self.stats = ReadStats()

    def __iter__(self) -> Iterator[T]:
        self.stats = ReadStats()  # each pass counts afresh
        if not self.path.is_file():
            raise RuLLMError(f"{self.path}: no such file", hint="check the path")
        with _open_read(self.path) as fh:
            lines = enumerate(_lines(fh, self.path), start=1)
            for lineno, raw in lines:
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]  # a UTF-8 byte-order mark written by some editors
                if not raw.strip():
                    continue
                self.stats.records += 1
                try:
                    item = self._parse_line(raw, lineno)
                except RecordError as e:
                    self._reject(e, raw, lineno)
                    continue
                self.stats.ok += 1
                yield item

    def _parse_line(self, raw: bytes, lineno: int) -> T:
        location = f"{self.path}:{lineno}"
        if orjson is not None:  # fast path: orjson checks UTF-8 and JSON in one go
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass  # below, the standard library explains what is wrong (or accepts it)
            else:  # orjson refuses lone surrogates, so only the depth is left to check
                self._check(obj, raw, location, surrogates=False)
                return self.parse(obj, location=location)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RecordError(
                f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})", location=location
            ) from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise RecordError(f"invalid JSON: {e.msg} at column {e.colno}", location=location) from None
        except ValueError as e:  # e.g. an integer longer than Python's int-parsing limit
            raise RecordError(f"invalid JSON: {e}", location=location) from None
        except RecursionError:
            raise RecordError(
                f"nested more than {MAX_DEPTH} levels deep", record_id=_leading_id(raw), location=location
            ) from None
        self._check(obj, raw, location, surrogates=True)
        return self.parse(obj, location=location)

    @staticmethod
    def _check(obj: Any, raw: bytes, location: str, *, surrogates: bool) -> None:
        if _may_have_problem(raw, surrogates=surrogates) and (problem := record_problem(obj)) is not None:
            raise RecordError(problem, record_id=_record_id(obj), location=location)

    def _reject(self, error: RecordError, raw: bytes, lineno: int) -> None:
        if self.strict:
            raise error
        self.stats.rejected += 1
        self.stats.reasons[error.reason] += 1
        try:
            record: Any = json.loads(raw.decode("utf-8"))
            decoded = not (_may_have_problem(raw, surrogates=True) and record_problem(record) is not None)
        except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            decoded = False
        if not decoded:
            # The line as text: it did not decode, or not into something a rejects file can hold.
            record = raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n")
        assert self.on_reject is not None
        self.on_reject(Reject(error.reason, file=str(self.path), line=lineno, record_id=error.record_id, record=record))


def _as_is(obj: Any, *, location: str | None = None) -> Any:
    return obj


def read_jsonl(path: str | os.PathLike[str], **options: Any) -> JsonlReader[Any]:
    """Decoded JSON values, one per non-blank line (see :class:`JsonlReader` for options)."""
    return JsonlReader(path, _as_is, **options)


def read_conversations(path: str | os.PathLike[str], **options: Any) -> JsonlReader[Conversation]:
    """Validated :class:`Conversation` records (see :class:`JsonlReader` for options)."""
    return JsonlReader(path, Conversation.from_dict, **options)


def _new_file_mode(path: Path) -> int:
    """Keep the mode of the file being replaced; a new file gets the usual 0o666 minus the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """A text file that replaces ``path`` only when the block ends without an exception."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, _new_file_mode(path))  # mkstemp makes files private (0o600)
        with os.fdopen(fd, "wb") as raw:
            gz = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.suffix == ".gz" else None
            text = io.TextIOWrapper(gz or raw, encoding="utf-8", newline="\n")
            try:
                yield text
                text.flush()
            finally:
                text.detach()  # leave closing the binary file to the `with` above
            if gz is not None:
                gz.close()  # writes the gzip trailer; does not close `raw`
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported on every platform
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def loads(text: str) -> Any:
    """``json.loads``, through orjson when it is installed; what orjson refuses, json decides."""
    if orjson is not None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # json gives the familiar error message, and accepts e.g. integers past 64 bits
    return json.loads(text)


def to_json_line(record: Any) -> str:
    """One compact JSONL line (with its newline) for a dict or an object with ``to_dict()``."""
    if hasattr(record, "to_dict"):
        record = record.to_dict()
    if orjson is not None:
        try:
            return orjson.dumps(record).decode("utf-8") + "\n"
        except (TypeError, orjson.JSONEncodeError):
            pass  # non-string keys, lone surrogates, big integers: the standard library handles them
    try:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    except RecursionError:  # reading rejects such records; this is for records made some other way
        raise RecordError(
            f"nested more than {MAX_DEPTH} levels deep: cannot be written", record_id=_record_id(record)
        ) from None
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (read from a "\\ud800" escape) has no UTF-8 form: keep it escaped.
        line = json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n"
    return line


class JsonlWriter:
    """Write records (dicts or objects with ``to_dict()``) atomically; use as a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.count = 0
        self._cm = atomic_open(self.path)
        self._fh: IO[str] | None = None

    def __enter__(self) -> JsonlWriter:
        self._fh = self._cm.__enter__()
        return self

    def write(self, record: Any) -> None:
        self.write_line(to_json_line(record))

    def write_line(self, line: str) -> None:
        """Write an already serialized line (ending in a newline)."""
        if self._fh is None:
            raise RuntimeError("JsonlWriter is used outside its `with` block")
        self._fh.write(line)
        self.count += 1

    def __exit__(self, *exc: Any) -> bool | None:
        self._fh = None
        return self._cm.__exit__(*exc)


def write_jsonl(path: str | os.PathLike[str], records: Iterable[Any]) -> int:
    """Write every record atomically; returns how many were written."""
    with JsonlWriter(path) as writer:
        for record in records:
            writer.write(record)
    return writer.count


class RejectsWriter(JsonlWriter):
    """A rejects file: one :class:`Reject` per line, counted by reason. Callable as ``on_reject``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path)
        self.reasons: Counter[str] = Counter()

    def __call__(self, reject: Reject) -> None:
        self.reasons[reject.reason] += 1
        try:
            line = to_json_line(reject)
        except RecordError as e:  # a record too deep to serialize: the reject is kept, without it
            line = to_json_line(replace(reject, record=f"(not stored: {e.reason})"))
        self.write_line(line)
