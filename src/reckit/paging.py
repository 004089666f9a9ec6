"""A page of a list, with the paging arithmetic of decisions.md shared by every list endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total_count: int
    start_offset: int
    end_offset: int

    @classmethod
    def at(cls, items: list[T], total_count: int, offset: int) -> Page[T]:
        # decisions.md: 1-based inclusive offsets; both equal the offset when the page is empty.
        if items:
            return cls(items, total_count, offset + 1, offset + len(items))
        return cls(items, total_count, offset, offset)

    def paging(self) -> dict[str, int]:
        return {
            "end_offset": self.end_offset,
            "start_offset": self.start_offset,
            "total_count": self.total_count,
        }
