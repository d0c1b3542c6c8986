// Server-sent events read with fetch (EventSource cannot send the Authorization header), resumed after a drop.

import { ApiError, authorized, signOut } from "./session.js";

const RECONNECT_MS = 1000;

function parseEvent(block) {
  // One event block of text/event-stream: its name, data and id (comment lines skipped).
  const event = { name: "message", data: [], id: null };
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    if (colon === 0) continue;
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event.name = value;
    else if (field === "data") event.data.push(value);
    else if (field === "id") event.id = value;
  }
  return event.data.length ? { ...event, data: JSON.parse(event.data.join("\n")) } : null;
}

async function readOnce(path, lastEventId, onEvent, signal) {
  // Read the stream until it ends; returns the last event id seen.
  const headers = lastEventId === null ? {} : { "Last-Event-ID": lastEventId };
  const response = await fetch(path, authorized({ headers, signal }));
  if (response.status === 401) signOut("Your API key is no longer accepted (it was revoked?).");
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return lastEventId;
    buffer = (buffer + value).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event === null) continue;
      if (event.id !== null) lastEventId = event.id;
      onEvent(event);
    }
  }
}

export async function follow(path, { lastEventId = null, onEvent, isOver, onTrouble }) {
  // Follow `path` until `isOver()` says the stream's subject is done; dropped connections resume where they were.
  const stop = new AbortController();
  addEventListener("pagehide", () => stop.abort());
  while (!stop.signal.aborted) {
    try {
      lastEventId = await readOnce(path, lastEventId, onEvent, stop.signal);
      if (isOver()) return;
    } catch (error) {
      if (stop.signal.aborted || error.status === 404) return;
      onTrouble(error);
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}
