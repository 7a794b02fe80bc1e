"""``--include``/``--exclude`` as ``aws s3`` applies them: every filter is
matched (fnmatch) against the path relative to the command's source, in
order, and the last one that matches decides; nothing matching means
included."""

from __future__ import annotations

import argparse
from fnmatch import fnmatchcase


class FilterAction(argparse.Action):
    """Collects ``--include``/``--exclude`` in the order given."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        rules = list(getattr(namespace, "filters", None) or [])
        rules.append((self.dest == "include", str(values)))
        namespace.filters = rules


def included(relative: str, rules: list[tuple[bool, str]]) -> bool:
    """Whether ``relative`` passes the filters."""
    verdict = True
    for include, pattern in rules:
        if fnmatchcase(relative, pattern):
            verdict = include
    return verdict
