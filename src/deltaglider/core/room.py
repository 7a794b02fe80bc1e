"""What every room of the engine reaches: the store and the small services,
handed around as one bundle."""

from __future__ import annotations

from dataclasses import dataclass

from deltaglider.ports.storage import StoragePort
from deltaglider.ports.support import ClockPort, HashPort, LoggerPort, MetricsPort


@dataclass(frozen=True)
class EnginePorts:
    """The store, hashing, time, logging and metrics, and the tool's name
    written into metadata."""

    storage: StoragePort
    hasher: HashPort
    clock: ClockPort
    logger: LoggerPort
    metrics: MetricsPort
    tool_version: str


class Room:
    """A part of the engine (writer, reader, references, housekeeping)."""

    def __init__(self, ports: EnginePorts) -> None:
        self.ports = ports

    @property
    def storage(self) -> StoragePort:
        return self.ports.storage

    @property
    def hasher(self) -> HashPort:
        return self.ports.hasher

    @property
    def clock(self) -> ClockPort:
        return self.ports.clock

    @property
    def logger(self) -> LoggerPort:
        return self.ports.logger

    @property
    def metrics(self) -> MetricsPort:
        return self.ports.metrics

    @property
    def tool_version(self) -> str:
        return self.ports.tool_version
