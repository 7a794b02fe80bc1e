"""boto3-style paginators over the client's logical listings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jmespath

_RESULT_KEYS = ("Contents", "CommonPrefixes")


class ListPaginator:
    """``client.get_paginator("list_objects_v2")``: ``paginate(**kwargs)``."""

    def __init__(self, method: Callable[..., dict[str, Any]], operation: str) -> None:
        self._method = method
        self._operation = operation

    def paginate(self, **kwargs: Any) -> PageIterator:
        """Pages of the listing; ``PaginationConfig`` takes ``MaxItems``,
        ``PageSize`` and ``StartingToken`` as botocore's does."""
        return PageIterator(self._method, self._operation, kwargs)


class PageIterator:
    """Iterates pages; ``build_full_result`` and ``search`` as botocore's."""

    def __init__(
        self, method: Callable[..., dict[str, Any]], operation: str, kwargs: dict[str, Any]
    ) -> None:
        self._method = method
        self._operation = operation
        self._kwargs = dict(kwargs)
        config = dict(self._kwargs.pop("PaginationConfig", None) or {})
        self._max_items: int | None = config.get("MaxItems")
        self._page_size: int = int(config.get("PageSize") or self._kwargs.pop("MaxKeys", 1000))
        self._token: str | None = config.get("StartingToken")
        self.resume_token: str | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        token = self._token
        handed = 0
        while True:
            size = self._page_size
            if self._max_items is not None:
                size = min(size, self._max_items - handed)
            args = dict(self._kwargs, MaxKeys=size)
            if token is not None:
                args["ContinuationToken"] = token
            page = self._method(**args)
            handed += page["KeyCount"]
            yield page
            token = page.get("NextContinuationToken")
            if token is None:
                return
            if self._max_items is not None and handed >= self._max_items:
                self.resume_token = token
                return

    def build_full_result(self) -> dict[str, Any]:
        """Every page merged: ``Contents`` and ``CommonPrefixes`` joined."""
        merged: dict[str, Any] = {}
        for page in self:
            for name in _RESULT_KEYS:
                if name in page:
                    merged.setdefault(name, []).extend(page[name])
        if self.resume_token is not None:
            merged["NextToken"] = self.resume_token
        return merged

    def search(self, expression: str) -> Iterator[Any]:
        """JMESPath over each page, results flattened as botocore does."""
        compiled = jmespath.compile(expression)
        for page in self:
            result = compiled.search(page)
            if isinstance(result, list):
                yield from result
            else:
                yield result
