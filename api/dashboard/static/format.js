// How values read on the pages: numbers, times, statuses, elements.

export const FINISHED = ["succeeded", "failed", "cancelled"];

export function finishedShare(counts, total) {
  // The share of `total` jobs that have ended, from counts per status.
  return total ? FINISHED.reduce((sum, status) => sum + (counts[status] ?? 0), 0) / total : 0;
}

export function el(tag, attributes = {}, ...children) {
  // A new element with attributes (class, href, dataset...) and text or element children.
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "dataset") Object.assign(element.dataset, value);
    else if (name in element) element[name] = value;
    else element.setAttribute(name, value);
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

export function number(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e4 || Math.abs(value) < 1e-3 ? value.toExponential(3) : value.toPrecision(4);
}

export function percent(fraction) {
  return `${Math.round(fraction * 100)} %`;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

export function statusBadge(status) {
  return el("span", { className: `status ${status}` }, status);
}

export function setStatus(element, status) {
  element.className = `status ${status}`;
  element.textContent = status;
}

export function flatten(value, prefix = "", into = {}) {
  // A nested spec as dotted paths (model.norm) to leaf values, lists kept whole.
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, into);
  } else {
    into[prefix] = value;
  }
  return into;
}

export function show(value) {
  // A spec or summary value as text.
  return typeof value === "number" ? number(value) : JSON.stringify(value);
}
