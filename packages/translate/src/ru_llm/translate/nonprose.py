"""Lines outside Markdown code blocks that are not prose: commands, stack traces, SQL, data, math.

Chat answers often show a command or an error without a code fence ("Use the command:" and then
``pip install foo`` on its own line). Translating such a line corrupts the training data, so it is kept
verbatim. Each detector answers with a short reason (``"shell"``, ``"stack_trace"``, ``"sql"``,
``"json"``, ``"yaml"``, ``"xml"``, ``"latex"``) that ``Piece.reason`` and ``ru-llm translate --explain``
show. They err towards prose: a sentence that mentions a command is translated, with the command
protected as a span (``protect.py``), so only lines that are wholly non-prose land here. Multi-line
constructs (tracebacks, display math, SQL clauses, YAML mappings) need their neighbours: see
:func:`mark_regions`.
"""

from __future__ import annotations

import json
import re

from ru_llm.translate.checks import _code_line as code_line

# --- shell -------------------------------------------------------------------------------------------

# Programs whose name is not an English word: a line that starts with one and goes on with arguments is a
# command. (A sentence starting with one, "git is a version control system", is caught by FUNCTION_WORDS.)
_COMMAND_NAMES = """
    sudo pip pip3 pipx npm npx yarn pnpm apt-get aptitude yum dnf pacman zypper apk brew choco winget
    git gh svn cd ls ll mkdir rmdir rm cp mv chmod chown chgrp ln cargo rustup rustc docker docker-compose
    podman kubectl minikube terraform ansible ansible-playbook vagrant curl wget conda mamba micromamba
    virtualenv pyenv nvm deno python python2 python3 py pytest ipython jupyter gcc g++ clang
    clang++ cmake javac mvn gradle dotnet php perl ffmpeg ssh scp sftp rsync tar unzip gzip gunzip
    bzip2 xz 7z grep egrep fgrep rg sed awk xargs systemctl journalctl ufw iptables ifconfig netstat
    nslookup traceroute whoami pwd htop pkill killall chsh useradd usermod adduser passwd hostnamectl
    timedatectl update-alternatives dpkg crontab nano vim vi nvim ssh-keygen ssh-copy-id openssl gpg
    heroku aws gcloud az firebase vercel netlify django-admin uvicorn gunicorn streamlit tensorboard
    nvidia-smi huggingface-cli torchrun deepspeed wsl powershell zsh sh tmux mysql psql sqlite3 mongo
    mongosh redis-cli nodemon tsc eslint ruff flake8 mypy isort pre-commit tox nox lsb_release uname
    umount mkfs fdisk lsblk lspci lsusb dmesg nohup ps
"""
COMMANDS = frozenset(_COMMAND_NAMES.split())
# Programs named like English words ("make sure", "find the", "cat is"): a command only with a known
# subcommand or an argument that is clearly one (a flag, a path, a file name, a variable, an operator).
AMBIGUOUS_COMMANDS = {
    "make": {"install", "clean", "all", "build", "test", "check", "run", "deploy", "release", "dist"},
    "apt": {"install", "update", "upgrade", "remove", "purge", "search", "list", "show", "autoremove"},
    "uv": {"add", "sync", "run", "pip", "venv", "lock", "init", "tool", "python", "build", "publish", "remove"},
    "kind": {"create", "delete", "get", "load"},
    "poetry": {"add", "install", "run", "shell", "new", "init", "lock", "build", "publish", "show", "update"},
    "rails": {"new", "server", "s", "generate", "g", "console", "c", "db:migrate"},
    "bun": {"install", "run", "add", "x", "create", "test"},
    "helm": {"install", "upgrade", "repo", "list", "uninstall", "template", "create", "package"},
    "composer": {"install", "require", "update", "dump-autoload", "create-project"},
    "flask": {"run", "db", "shell", "routes"},
    "accelerate": {"launch", "config", "env"},
    "twine": {"upload", "check"},
    "rake": {"db:migrate", "test", "routes"},
    "node": set(),
    "bash": set(),
    "screen": set(),
    "black": set(),
    "prettier": set(),
    "mount": set(),
    "rpm": set(),
    "go": {"run", "build", "get", "mod", "test", "install", "version", "env", "fmt", "vet", "generate", "work"},
    "java": set(),
    "ruby": set(),
    "gem": {"install", "uninstall", "update", "list"},
    "bundle": {"install", "exec", "update"},
    "snap": {"install", "remove", "refresh", "list"},
    "cat": set(),
    "touch": set(),
    "find": set(),
    "kill": set(),
    "head": set(),
    "tail": set(),
    "less": set(),
    "more": set(),
    "sort": set(),
    "export": set(),
    "source": set(),
    "echo": set(),
    "env": set(),
    "set": set(),
    "unset": set(),
    "alias": set(),
    "history": set(),
    "ping": set(),
    "ip": {"addr", "address", "route", "link", "a", "r"},
    "dd": set(),
    "code": {"."},
    "open": set(),
    "start": set(),
    "which": set(),
    "man": set(),
    "time": set(),
    "watch": set(),
    "test": set(),
    "free": set(),
    "top": set(),
    "du": set(),
    "service": set(),
    "exec": set(),
    "eval": set(),
}
# "go get", "go test", "make clean", "make check": English phrases too, so plain words after them are prose.
_SUBCOMMAND_IS_ENGLISH = frozenset({"go", "make"})
# Words that follow a program's name in a sentence about it, never in a command line.
_FUNCTION_WORDS = """
    is are was were be been being can could will would should may might must shall do does did has have
    had and or but the a an to of in on at for with from by as that this these those which who whom whose
    it its is not also allows lets makes helps uses used using comes provides gives you we they he she i
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
# An argument only a command line has: a flag, a path, a file name with an extension, a URL, a variable,
# a version pin, a quoted string, an assignment, a shell operator, a glob.
_ARG = re.compile(
    r"""^(?:
        -{1,2}[\w?][\w.=:/,-]*        # -la --force --name=x
      | [\w.~-]*[/\\][^\s]*           # paths, URLs
      | \.{1,2}                       # . ..
      | [\w-]+\.[A-Za-z0-9]{1,8}      # file.txt pkg.json
      | \$\{?\w+\}?\S*                # $HOME ${VAR}
      | [\w.-]+(?:==|>=|<=|~=|@)\S+   # torch==2.1 pkg@1.0
      | \w+=\S*                       # KEY=value
      | ["'].*                        # quoted
      | \|\|?|&&|;|>>?|<|2>&1|&       # operators
      | \S*[*?]\S*                    # globs
      | [+-]\w+                       # chmod +x
    )$""",
    re.VERBOSE,
)
_PROMPT = re.compile(
    r"""^(?:
        (?:\([\w.-]+\)\s*)?\$\s+(?![\d.,]+(?:\s|$))\S    # $ cmd, (venv) $ cmd; not "$ 100"
      | [\w.-]+@[\w.-]+(?::[^\s$#]*)?[$#]\s+\S           # user@host:~$ cmd
      | \[[\w.-]+@[\w.-]+[^\]]*\][$#]\s+\S                # [user@host ~]$ cmd
      | (?:PS\s+)?[A-Za-z]:\\[^>\n]*>\s*\S               # C:\> dir, PS C:\Users> ls
    )""",
    re.VERBOSE,
)
_ENV_PREFIX = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")


def _is_arg(word: str) -> bool:
    return _ARG.match(word) is not None


def shell_line(line: str) -> bool:
    """A shell command line: a prompt, or a known program followed by arguments, and no sentence."""
    stripped = line.strip()
    if _PROMPT.match(stripped):
        return True
    stripped = _ENV_PREFIX.sub("", stripped)
    words = stripped.split()
    if not words:
        return False
    if words[0] == "sudo" and len(words) > 1:
        words = words[1:]
    first = words[0]
    if first.startswith(("./", ".\\", "~/")) and len(first) > 2:  # ./configure --prefix=/usr, .\venv\...\activate
        return len(words) <= 20 and not _sentence_end(words)
    args = words[1:]
    if not args or _sentence_end(words) or args[0].casefold() in FUNCTION_WORDS:
        return False
    if first in COMMANDS:
        arg_like = sum(1 for w in args if _is_arg(w))
        if arg_like == 0:  # "pip install requests"; but a run of plain words with "the" or "for" is a sentence
            return len(args) <= 4 and not any(w.casefold() in FUNCTION_WORDS for w in args)
        return len(args) <= 8 or arg_like * 2 >= len(args)
    subcommands = AMBIGUOUS_COMMANDS.get(first)
    if subcommands is None:
        return False
    if len(args) > 12:
        return False
    if args[0] in subcommands:
        # "apt install vim", "make install", "go run main.go"; but "go get some rest" is a sentence
        plain_ok = first not in _SUBCOMMAND_IS_ENGLISH and len(args) <= 4
        return len(args) == 1 or plain_ok or any(_is_arg(w) for w in args[1:])
    return any(_is_arg(w) for w in args)


def _sentence_end(words: list[str]) -> bool:
    last = words[-1]
    return last.endswith((".", "!", "?", ":")) and not _is_arg(last.rstrip("!?:")) and last not in (".", "..")


# --- stack traces --------------------------------------------------------------------------------------

_TRACE = re.compile(
    r"""^\s*(?:
        Traceback\ \(most\ recent\ call\ last\):\s*$
      | File\ "[^"]*",\ line\ \d+(?:,\ in\ \S.*)?$                                    # Python frame
      | at\ [\w$<>/-]+(?:\.[\w$<>/-]+)+\((?:[\w$.-]+:\d+|Native\ Method|Unknown\ Source|[\w$.-]*)\)$  # Java
      | at\ [\w$<>`]+(?:\.[\w$<>`\[\],]+)+\(.*\)(?:\ in\ .+:line\ \d+)?$              # .NET
      | at\ (?:(?:async\ )?[\w$.<>\[\]]+\ )?\(?(?:file://|/|\.{1,2}/|[A-Za-z]:\\|node:|[\w.-]+/)\S*:\d+:\d+\)?$  # JS
      | \.\.\.\ \d+\ more$
      | Caused\ by:\ [\w$.]+(?:Exception|Error)\b.*
      | Exception\ in\ thread\ "[^"]*"\ [\w$.]+.*
      | panic:\ .+
      | goroutine\ \d+\ \[\w+\]:\s*$
      | \#\d+\ +0x[0-9a-f]+\ in\ .+                                      # gdb / sanitizer frames
      | \^{3,}~*\s*$                                                    # Python 3.11 error markers
    )""",
    re.VERBOSE,
)
# "ValueError: invalid literal for int()": the last line of a traceback. Alone it may start a sentence that
# explains the error ("KeyError: raised when a key is missing."), so alone it counts only without a full stop.
_ERROR_LINE = re.compile(r"^\s*(?:[a-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt)(?::.*)?$")


def stack_trace_line(line: str) -> bool:
    """A line of a stack trace (Python, Java, JavaScript, Go), on its own."""
    stripped = line.strip()
    if _TRACE.match(stripped):
        return True
    return _ERROR_LINE.match(stripped) is not None and not stripped.endswith((".", "!", "?"))


# --- SQL -----------------------------------------------------------------------------------------------

_SQL = re.compile(
    r"""^\s*(?:
        SELECT\s+(?:DISTINCT\s+)?(?:\*|[\w.`"\[\]]+(?:\s*,|\s+AS\b|\s+FROM\b|\s*\(|\s*$))
      | INSERT\s+(?:INTO|OR\s+\w+\s+INTO)\s+[\w.`"\[\]]+
      | UPDATE\s+[\w.`"\[\]]+\s+SET\s
      | DELETE\s+FROM\s+[\w.`"\[\]]+
      | (?:CREATE|DROP|ALTER|TRUNCATE)\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+|UNIQUE\s+)?
        (?:TABLE|INDEX|VIEW|DATABASE|SCHEMA|FUNCTION|PROCEDURE|TRIGGER|SEQUENCE|EXTENSION|USER|ROLE)\b
      | GRANT\s+\w+.*\s+ON\s
      | WITH\s+(?:RECURSIVE\s+)?\w+\s+AS\s*\(
      | (?:select\s.+\sfrom|insert\s+into|update\s+\w+\s+set|delete\s+from)\s.*;\s*$  # lower case: a statement
      | create\s+table\s+\w+\s*\(
      | (?i:select)\s+(?:(?i:distinct)\s+)?(?:\*|[\w.`"]+(?:\s*,\s*[\w.`"]+)+)\s*,?\s*  # a column list...
        (?:(?i:from)\s+[\w.`"]+.*)?$                                                    # ...and its table
    )""",
    re.VERBOSE,
)
# A clause that continues a statement on the next line; only after an SQL line (see mark_regions).
SQL_CLAUSE = re.compile(
    r"^\s*(?i:FROM|WHERE|AND|OR|(?:(?:LEFT|RIGHT|INNER|OUTER|FULL|CROSS)\s+)*JOIN|ON|GROUP\s+BY|ORDER\s+BY|HAVING|LIMIT|"
    r"OFFSET|VALUES|SET|UNION(?:\s+ALL)?|RETURNING|INTO|AS|CASE|WHEN|THEN|ELSE|END|PRIMARY\s+KEY|FOREIGN\s+KEY|"
    r"REFERENCES|CONSTRAINT)\b|^\s*\)?\s*;\s*$|^\s*\(?\s*['\"\w`]+\s+[A-Z]+(?:\(\d+\))?(?:\s+[A-Z ]+)?,?\s*$"
)


def sql_line(line: str) -> bool:
    """The start of an SQL statement (upper-case keywords, or a lower-case one ending in ``;``)."""
    return _SQL.match(line) is not None


# --- JSON, YAML, XML ------------------------------------------------------------------------------------

_JSON_VALUE = r"""(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|\{.*|\[.*)"""
_JSON_MEMBER = re.compile(rf"""^\s*"(?:[^"\\]|\\.)*"\s*:\s*{_JSON_VALUE}\s*,?\s*$""")
_JSON_PUNCT = re.compile(r"^\s*[\[\]{}]+\s*,?\s*$")
_JSON_ELEMENT = re.compile(r"""^\s*"(?:[^"\\]|\\.)*"\s*,\s*$""")  # "an array element",


def json_line(line: str) -> bool:
    """A JSON document on one line, an object member (``"key": value,``) or a lone bracket."""
    stripped = line.strip()
    if _JSON_MEMBER.match(stripped) or _JSON_PUNCT.match(stripped) or _JSON_ELEMENT.match(stripped):
        return True
    if stripped[:1] in "{[" and stripped[-1:] in "]}" and ('"' in stripped or ":" in stripped):
        try:
            json.loads(stripped)
        except ValueError:
            return False
        return True
    return False


_XML_LINE = re.compile(
    r"""^\s*(?:
        <\?xml\b.*\?>
      | <!--.*-->
      | <!DOCTYPE\b[^>]*>
      | </?[A-Za-z][\w:.-]*(?:\s+[\w:.-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*\s*/?>   # an element tag...
        (?:[^<]*</[A-Za-z][\w:.-]*>)?(?:\s*<[^>]*>)*                                         # ...text, close
    )\s*$""",
    re.VERBOSE,
)


def xml_line(line: str) -> bool:
    """A line of XML/HTML markup: a tag, or an element holding only text (``<name>value</name>``)."""
    return _XML_LINE.match(line) is not None


# Keys of configuration files: identifiers, starting lower case (``name``, ``apiVersion``, ``python_requires``),
# so that "Note: ..." and "Pros:" stay prose.
_YAML_KEY = re.compile(r"""^\s*(?:-\s+)?(?:[a-z_][\w.-]*|"[^"]+"|'[^']+')\s*:(?:\s+(?P<value>.*?))?\s*$""")
_YAML_SCALAR = re.compile(
    r"""^(?:"[^"]*"|'[^']*'|-?\d[\d_.:]*\w*|true|false|yes|no|on|off|null|~|\[.*\]|\{.*\}|[|>][-+]?\d*|&\w+|\*\w+
        |!\w+.*|\$\{\{?.*\}\}?|[\w.@/:~+=-]*[\d_./@:=~-][\w.@/:~+=-]*)(?:\s+\#.*)?$""",
    re.VERBOSE,
)
_YAML_ITEM = re.compile(r"^\s*-\s+\S+\s*$")  # "- numpy": a one-token list entry


def _yaml_key_line(line: str) -> bool:
    match = _YAML_KEY.match(line)
    if match is None:
        return False
    value = match.group("value")
    return not value or _YAML_SCALAR.match(value) is not None


def yaml_runs(lines: list[str]) -> list[int]:
    """Indices of lines in YAML mappings: runs of two or more ``key: scalar`` / ``key:`` lines, and the
    one-token list entries and comments inside such a run."""
    marked: list[int] = []
    i = 0
    while i < len(lines):
        if not _yaml_key_line(lines[i]):
            i += 1
            continue
        run = [i]
        j = i + 1
        while j < len(lines) and lines[j].strip():
            line = lines[j]
            if _yaml_key_line(line) or _YAML_ITEM.match(line) or line.lstrip().startswith("#"):
                run.append(j)
                j += 1
            else:
                break
        keys = [k for k in run if _yaml_key_line(lines[k])]
        # "pros:" / "- fast" / "cons:" is a prose list: a mapping needs a scalar value or a nested key too.
        valued = any(_YAML_KEY.match(lines[k]).group("value") for k in keys)  # type: ignore[union-attr]
        nested = any(_indent_of(lines[k]) > _indent_of(lines[i]) for k in keys)
        if len(keys) >= 2 and (valued or nested):
            marked += run
        i = j
    return marked


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


# --- LaTeX ---------------------------------------------------------------------------------------------

_LATEX_LINE = re.compile(
    r"""^\s*(?:
        \$\$.*\$\$                       # $$ ... $$ on one line
      | \\\[.*\\\]                       # \[ ... \]
      | \$[^$\s](?:[^$]*[^$\s\\])?\$     # a line that is wholly $...$
      | \\\(.*\\\)
      | \\begin\{\w+\*?\}.*\\end\{\w+\*?\}
    )[\s.,;]*$""",
    re.VERBOSE,
)
# Math environments only: \begin{itemize} holds prose.
_MATH_ENVS = (
    r"(?:equation|align|alignat|gather|multline|flalign|eqnarray|displaymath|math|[pbvBV]?matrix|cases|array|split)"
)
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?")
LATEX_OPENERS = (
    (re.compile(r"^\s*\$\$"), re.compile(r"\$\$[\s.,;]*$")),
    (re.compile(r"^\s*\\\["), re.compile(r"\\\][\s.,;]*$")),
    (re.compile(rf"^\s*\\begin\{{(?P<env>{_MATH_ENVS}\*?)\}}"), None),  # closed by the matching \end{env}
)


# A line of LaTeX source made only of commands and their arguments: \documentclass{article}, \begin{document}.
_LATEX_SOURCE = re.compile(
    r"^\s*(?:\\[A-Za-z@]+\*?(?:\s*\[[^\]]*\])*(?:\s*\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\})*\s*)+(?:%.*)?$"
)


def latex_line(line: str) -> bool:
    """Display or whole-line math, a line of LaTeX commands, or math commands with no word outside them."""
    if _LATEX_LINE.match(line) or _LATEX_SOURCE.match(line):
        return True
    if not _LATEX_COMMAND.search(line):
        return False
    rest = _LATEX_COMMAND.sub(" ", line)
    return re.search(r"[A-Za-z]{3,}", rest) is None and re.search(r"[\^_{}=]", line) is not None


# --- indented prose ------------------------------------------------------------------------------------

# OASST and other chat exports often indent list items by four spaces after losing their markers ("Day 1:",
# blank line, "    Visit the Parliament building ..."). CommonMark makes that an indented code block; it
# is kept anyway unless every line of it is plainly written language, which a code block never is.
_LETTERS = "A-Za-z\u00c0-\u024f\u0400-\u04ff"
# A word ("mentee's", "Wi-Fi"), a number ("1920", "4K", "10%", "3rd", "5-10") or a list marker or dash.
_WORD_TOKEN = re.compile(
    rf"^(?:[{_LETTERS}]+(?:['’-][{_LETTERS}]+)*|\d+(?:[.,:/-]\d+)*(?:%|st|nd|rd|th|[A-Za-z])?|[-–—&+x])$"
)
_CODE_CHARS = re.compile(r"[=_{}<>\\|`]|;\s*$|\$[({A-Za-z_]|\w\.\w+\(|\(\)|::|->|\w\[|^[./~]/")
_TOKEN_EDGES = "\"'“”‘’«»()[],.:;!?*"
MIN_INDENTED_PROSE_WORDS = 6
MIN_NATURAL_SHARE = 0.8


def _prose_line(line: str) -> bool:
    tokens = line.split()
    if not tokens or _CODE_CHARS.search(line) or line_reason(line) is not None or code_line(line):
        return False
    natural = sum(1 for t in tokens if _WORD_TOKEN.match(t.strip(_TOKEN_EDGES) or "-"))
    words = sum(1 for t in tokens if re.search(r"[^\W\d_]{2,}", t))
    return words >= 1 and natural >= MIN_NATURAL_SHARE * len(tokens)


def indented_prose(lines: list[str]) -> bool:
    """True when an indented code block is written language: every line natural words (numbers and list
    markers allowed) without a character of code, and six words or more in all (one-line output or a
    command stays code)."""
    body = [line.strip() for line in lines if line.strip()]
    if not body:
        return False
    words = sum(len(re.findall(r"[^\W\d_]{2,}", line)) for line in body)
    return words >= MIN_INDENTED_PROSE_WORDS and all(_prose_line(line) for line in body)


# --- code the generic detector misses ------------------------------------------------------------------

# Block headers of pseudo-code and Python whose condition is a bare name: "while condition:", "if done:".
_BLOCK_HEADER = re.compile(
    r"^\s*(?:(?:if|elif|while)\s+(?:not\s+)?[\w.\[\]()]+|with\s+.+\s+as\s+\w+|(?:else|try|finally|do|loop|repeat))\s*:\s*$"
)


def code_header_line(line: str) -> bool:
    return _BLOCK_HEADER.match(line) is not None


# --- everything ----------------------------------------------------------------------------------------


def line_reason(line: str) -> str | None:
    """Why a line (its list marker or heading marker removed) is not prose, or None if it may be."""
    for reason, detect in _DETECTORS:
        if detect(line):
            return reason
    return None


_DETECTORS = (
    ("stack_trace", stack_trace_line),
    ("latex", latex_line),
    ("sql", sql_line),
    ("json", json_line),
    ("xml", xml_line),
    ("shell", shell_line),
    ("code", code_header_line),
)


def mark_regions(lines: list[str], reasons: list[str | None]) -> None:
    """Fill in ``reasons`` (None: prose so far) for lines that are non-prose because of their neighbours.

    lines: the lines of a message, each without its line end.
    A traceback runs from ``Traceback (most recent call last):`` to its error line; display math from
    ``$$``, ``\\[`` or ``\\begin{env}`` to its closer (at most to a blank line); an SQL statement goes on
    with the clause lines after it; ``<script>`` and ``<style>`` hold code to their closing tag; YAML
    mappings are runs of ``key: value`` lines.
    """
    n = len(lines)
    i = 0
    while i < n:
        stripped = lines[i].strip()
        if stripped.startswith("Traceback (most recent call last)"):
            j = i + 1
            while j < n and lines[j].strip():
                reasons[j] = "stack_trace"
                if not lines[j][:1].isspace() and _ERROR_LINE.match(lines[j]):
                    break
                j += 1
            reasons[i] = "stack_trace"
            i = j + 1
            continue
        if stripped:  # "$$" alone has no letters: it opens display math all the same
            end = _latex_block_end(lines, i)
            if end is not None:
                for k in range(i, end + 1):
                    reasons[k] = "latex"
                i = end + 1
                continue
        element = _RAW_ELEMENT.match(lines[i])
        if element and f"</{element.group(1).lower()}" not in stripped.lower():
            close = f"</{element.group(1).lower()}"
            j = i
            while j + 1 < n and close not in lines[j].lower():
                j += 1
            for k in range(i, j + 1):
                reasons[k] = "code" if k > i and close not in lines[k].lower() else "xml"
            i = j + 1
            continue
        if reasons[i] == "sql":
            j = i + 1
            while j < n and lines[j].strip() and reasons[j] in (None, "sql") and SQL_CLAUSE.match(lines[j]):
                reasons[j] = "sql"
                j += 1
            i = j
            continue
        i += 1
    for k in yaml_runs(lines):
        if reasons[k] is None:
            reasons[k] = "yaml"


_RAW_ELEMENT = re.compile(r"^\s*<(script|style)\b[^>]*>", re.I)  # JavaScript and CSS inside HTML, to the closing tag


def _latex_block_end(lines: list[str], start: int) -> int | None:
    """The closing line of display math opened (and not closed) on line ``start``, or None."""
    line = lines[start]
    for opener, closer in LATEX_OPENERS:
        match = opener.match(line)
        if match is None:
            continue
        if closer is None:
            closer = re.compile(rf"\\end\{{{re.escape(match.group('env'))}\}}")
        after = line[match.end() :]
        if closer.search(after):
            return None  # closed on the same line: a one-line construct, latex_line's business
        for j in range(start + 1, len(lines)):
            if not lines[j].strip():
                return j - 1
            if closer.search(lines[j]):
                return j
        return len(lines) - 1
    return None
