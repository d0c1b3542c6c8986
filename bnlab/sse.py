"""Server-sent events read from a stream's lines (the text/event-stream format of the HTML standard)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """One dispatched event: its type, its data (lines joined), and the last event id the stream set."""

    event: str
    data: str
    id: str | None


def parse_events(lines: Iterable[str]) -> Iterator[Event]:
    """Each event once its blank line arrives; comments (keep-alives) skipped, the id carried to later events."""
    event, data, last_id = "message", [], None
    for line in lines:
        if not line:
            if data:
                yield Event(event, "\n".join(data), last_id)
            event, data = "message", []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            last_id = value
