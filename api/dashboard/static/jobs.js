// The jobs table: filters and sort kept in the page's address, cursor pages, a selection to compare.

import { el, number, percent, statusBadge, when } from "./format.js";
import { Pager } from "./pager.js";
import { call, showNotice, startPage } from "./session.js";

const PAGE = 50;
const REFRESH_MS = 3000; // while a shown job is queued or running
const form = document.getElementById("filters");
const selected = new Set();

function filters() {
  // The non-empty filters of the form, as query parameters.
  return [...new FormData(form)].filter(([, value]) => value !== "");
}

function row(job) {
  const box = el("input", { type: "checkbox", checked: selected.has(job.id), ariaLabel: `select ${job.name}` });
  box.addEventListener("change", () => {
    if (box.checked) selected.add(job.id);
    else selected.delete(job.id);
    updateSelection();
  });
  const { model, dataset, optimizer, training } = job.spec;
  const bar = el("progress", { max: 1, value: job.progress });
  return el(
    "tr",
    { dataset: { jobId: job.id, status: job.status } },
    el("td", {}, box),
    el("td", {}, el("a", { href: `/ui/jobs/${job.id}` }, job.name)),
    el("td", {}, statusBadge(job.status)),
    el("td", {}, model.norm),
    el("td", {}, model.arch),
    el("td", {}, dataset.name),
    el("td", { className: "num" }, number(optimizer.lr)),
    el("td", { className: "num" }, number(training.batch_size)),
    el("td", { className: "num" }, number(training.seed)),
    el("td", {}, job.tags.join(", ")),
    el("td", {}, bar, " ", percent(job.progress)),
    el("td", { className: "num" }, number(job.summary?.final_test_acc)),
    el("td", { className: "num" }, number(job.summary?.best_test_acc)),
    el("td", {}, when(job.created_at)),
  );
}

function draw(jobs) {
  document.querySelector("#jobs tbody").replaceChildren(...jobs.map(row));
  document.getElementById("empty").hidden = jobs.length > 0;
  markSort();
}

function updateSelection() {
  const count = selected.size;
  document.getElementById("compare").disabled = count < 2 || count > 10;
  document.getElementById("count").textContent = count ? `${count} selected (compare 2 to 10)` : "";
}

function markSort() {
  const sort = form.elements.sort.value;
  for (const header of document.querySelectorAll("th[data-sort]")) {
    const key = header.dataset.sort;
    header.ariaSort = sort === key ? "ascending" : sort === `-${key}` ? "descending" : "none";
  }
}

function sortBy(key) {
  // A click on a column sorts by it, a second click reverses the order.
  const sort = form.elements.sort;
  sort.value = sort.value === `-${key}` ? key : `-${key}`;
  form.dispatchEvent(new Event("change"));
}

function fromAddress() {
  // The filters a shared or reloaded address carries.
  const query = new URLSearchParams(location.search);
  for (const [name, value] of query) if (form.elements[name]) form.elements[name].value = value;
}

async function loadStudies() {
  const studies = await call("/v1/studies?limit=100");
  const select = form.elements.study_id;
  select.append(...studies.items.map((study) => el("option", { value: study.id }, study.name)));
}

startPage(async () => {
  const pager = new Pager(
    (cursor) => call(`/v1/jobs?${new URLSearchParams([...filters(), ["limit", PAGE], ...(cursor ? [["cursor", cursor]] : [])])}`),
    draw,
  );
  form.addEventListener("change", () => {
    history.replaceState(null, "", `?${new URLSearchParams(filters())}`);
    pager.restart().catch((error) => showNotice(error.message));
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  for (const header of document.querySelectorAll("th[data-sort]")) {
    header.addEventListener("click", () => sortBy(header.dataset.sort));
  }
  document.getElementById("compare").addEventListener("click", () => {
    location.assign(`/ui/compare?ids=${[...selected].join(",")}`);
  });
  await loadStudies();
  fromAddress();
  await pager.restart();
  setInterval(() => {
    if (pager.items.some((job) => job.status === "queued" || job.status === "running")) {
      pager.refresh().catch((error) => showNotice(error.message));
    }
  }, REFRESH_MS);
});
