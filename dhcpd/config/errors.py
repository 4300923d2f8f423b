"""Configuration errors: every problem found in a dhcpd.conf, each with its file and line, isc style."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.message}"


class ConfigError(Exception):
    """One or more problems in a configuration; str() gives one `FILE line N: message` line per problem."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @classmethod
    def at(cls, file: str, line: int, message: str) -> ConfigError:
        return cls([ConfigProblem(file, line, message)])
