"""The dhcpd.conf lexer: text into tokens with file and line, and the token cursor the parsers share.

A token is a quoted string, a punctuation mark, or a word. Words cover isc's names, numbers, dotted
addresses and colon-separated hex (`00:11:22:aa:bb:cc`), so the parser decides what a word means by where
it stands, as isc-dhcpd does.

The main file is read as a stream (`iter_tokens`): a whole file's tokens at once would be the largest thing
parsing makes (about 1 KiB per `subnet { range }` line), and the parsed scopes, made meanwhile, would keep
that memory from going back to the system.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import NamedTuple

from dhcpd.config.errors import ConfigError

TOKEN_PATTERN = re.compile(r"""
    (?P<space>[ \t\r\f\v]+) | (?P<newline>\n) | (?P<comment>\#[^\n]*) | (?P<quote>")
    | (?P<punct>~=|~~|!=|[{};,()=]) | (?P<word>[A-Za-z0-9_.:-]+)
""", re.VERBOSE)
STRING_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "\\": "\\", '"': '"'}


class Kind(Enum):
    WORD = "word"
    STRING = "string"
    PUNCT = "punctuation"
    END = "end of file"


class Token(NamedTuple):
    kind: Kind
    text: str
    file: str
    line: int

    def describe(self) -> str:
        if self.kind is Kind.END:
            return "end of file"
        if self.kind is Kind.STRING:
            return f'"{self.text}"'
        return f"'{self.text}'"


class UnreadableText(Exception):
    """A stream of tokens met an unterminated string or a stray byte: the whole text is refused with `error`
    (not a ConfigError, so that no statement-level handler takes it for a problem of one statement)."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(str(error))
        self.error = error


def tokenize(text: str, filename: str) -> list[Token]:
    """All tokens of one file, without comments; raises ConfigError on an unterminated string or a stray byte."""
    return list(iter_tokens(text, filename))


def iter_tokens(text: str, filename: str) -> Iterator[Token]:
    """The tokens of `tokenize`, one at a time, ending with the END token."""
    line = 1
    position = 0
    while position < len(text):
        match = TOKEN_PATTERN.match(text, position)
        if match is None:
            raise ConfigError.at(filename, line, f"unexpected character {text[position]!r}")
        kind = match.lastgroup
        position = match.end()
        if kind == "newline":
            line += 1
        elif kind == "quote":
            value, position, end_line = _read_string(text, position, filename, line)
            yield Token(Kind.STRING, value, filename, line)
            line = end_line
        elif kind == "punct":
            yield Token(Kind.PUNCT, match.group(), filename, line)
        elif kind == "word":
            yield Token(Kind.WORD, match.group(), filename, line)
    yield Token(Kind.END, "", filename, line)


def _read_string(text: str, position: int, filename: str, line: int) -> tuple[str, int, int]:
    """The value of a quoted string starting after its opening quote: (value, position after it, line)."""
    start_line = line
    parts: list[str] = []
    while position < len(text):
        char = text[position]
        if char == '"':
            return "".join(parts), position + 1, line
        if char == "\n":
            line += 1
        if char == "\\" and position + 1 < len(text):
            escaped = text[position + 1]
            if escaped in STRING_ESCAPES:
                parts.append(STRING_ESCAPES[escaped])
                position += 2
                continue
            octal = text[position + 1:position + 4]
            if len(octal) == 3 and all(digit in "01234567" for digit in octal):
                parts.append(chr(int(octal, 8)))
                position += 4
                continue
            if escaped == "x" and _is_hex(text[position + 2:position + 4]):
                parts.append(chr(int(text[position + 2:position + 4], 16)))
                position += 4
                continue
        parts.append(char)
        position += 1
    raise ConfigError.at(filename, start_line, "unterminated quoted string")


def _is_hex(digits: str) -> bool:
    return len(digits) == 2 and all(digit in "0123456789abcdefABCDEF" for digit in digits)


class Tokens:
    """A cursor over tokens (a list, or the `iter_tokens` stream, whose errors it raises as UnreadableText);
    `include` splices another file's tokens in at the cursor."""

    def __init__(self, tokens: Iterable[Token]) -> None:
        self._source = iter(tokens)
        self._ahead: deque[Token] = deque()   # read from the source, or spliced in, and not consumed yet
        self._end: Token | None = None        # the source's END token, once read

    def peek(self, ahead: int = 0) -> Token:
        while len(self._ahead) <= ahead:
            if self._end is not None:
                return self._end
            try:
                token = next(self._source)
            except ConfigError as error:
                raise UnreadableText(error) from None
            if token.kind is Kind.END:
                self._end = token
            else:
                self._ahead.append(token)
        return self._ahead[ahead]

    def next(self) -> Token:
        token = self.peek()
        if token.kind is not Kind.END:
            self._ahead.popleft()
        return token

    def at(self, *texts: str) -> bool:
        """Whether the next token is a word or punctuation equal to one of `texts` (words case-insensitive)."""
        token = self.peek()
        if token.kind is Kind.PUNCT:
            return token.text in texts
        return token.kind is Kind.WORD and token.text.lower() in texts

    def accept(self, *texts: str) -> Token | None:
        return self.next() if self.at(*texts) else None

    def expect(self, text: str) -> Token:
        token = self.peek()
        if not self.at(text):
            raise self.error(token, f"expected '{text}', found {token.describe()}")
        return self.next()

    def word(self, what: str) -> Token:
        token = self.peek()
        if token.kind is not Kind.WORD:
            raise self.error(token, f"expected {what}, found {token.describe()}")
        return self.next()

    def string(self, what: str) -> Token:
        token = self.peek()
        if token.kind is not Kind.STRING:
            raise self.error(token, f"expected {what} in quotes, found {token.describe()}")
        return self.next()

    def name(self, what: str) -> Token:
        """A name written as a word or as a quoted string (isc accepts both for most names)."""
        token = self.peek()
        if token.kind not in (Kind.WORD, Kind.STRING):
            raise self.error(token, f"expected {what}, found {token.describe()}")
        return self.next()

    def splice(self, tokens: list[Token]) -> None:
        """Insert tokens (without their end marker) at the cursor."""
        self._ahead.extendleft(reversed([token for token in tokens if token.kind is not Kind.END]))

    def skip_statement(self) -> None:
        """Move past the rest of a statement: to its `;`, or past a balanced `{ }` block that ends it."""
        depth = 0
        while True:
            token = self.next()
            if token.kind is Kind.END:
                return
            if token.text == "{" and token.kind is Kind.PUNCT:
                depth += 1
            elif token.text == "}" and token.kind is Kind.PUNCT:
                depth -= 1
                if depth <= 0:
                    if depth == 0:
                        self.accept(";")
                    else:
                        self._ahead.appendleft(token)
                    return
            elif token.text == ";" and token.kind is Kind.PUNCT and depth == 0:
                return

    @staticmethod
    def error(token: Token, message: str) -> ConfigError:
        return ConfigError.at(token.file, token.line, message)
