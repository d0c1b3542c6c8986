// The compare page: the jobs' curves overlaid per metric, their summaries side by side, differing spec fields marked.

import { Chart, chartWidth } from "./charts.js";
import { el, flatten, show, statusBadge } from "./format.js";
import { chartGroups } from "./metrics.js";
import { call, showNotice, startPage } from "./session.js";

const ids = new URLSearchParams(location.search).get("ids") ?? "";

function header(jobs, first) {
  return el("tr", {}, el("th", {}, first), ...jobs.map((job) => el("th", {}, el("a", { href: `/ui/jobs/${job.id}` }, job.name))));
}

function table(id, jobs, first, rows) {
  document.querySelector(`#${id} thead`).replaceChildren(header(jobs, first));
  document.querySelector(`#${id} tbody`).replaceChildren(...rows);
}

function summaries(jobs) {
  const keys = [...new Set(jobs.flatMap((job) => Object.keys(job.summary ?? {})))].sort();
  const rows = keys.map((key) => el("tr", {}, el("th", {}, key), ...jobs.map((job) => el("td", {}, show(job.summary?.[key] ?? null)))));
  table("summaries", jobs, "summary", [el("tr", {}, el("th", {}, "status"), ...jobs.map((job) => el("td", {}, statusBadge(job.status)))), ...rows]);
}

function specs(jobs, specsById, differing) {
  const flat = jobs.map((job) => flatten(specsById.get(job.id)));
  const fields = [...new Set(flat.flatMap(Object.keys))].sort();
  const rows = fields.map((field) =>
    el(
      "tr",
      { className: differing.has(field) ? "differs" : "" },
      el("th", {}, field),
      ...flat.map((spec) => el("td", {}, show(spec[field] ?? null))),
    ),
  );
  table("specs", jobs, "field", rows);
}

function curves(jobs, series) {
  // One chart per metric, a line per job; per-layer metrics after the others.
  const container = document.getElementById("charts");
  const labels = jobs.map((job, i) => `${i + 1}. ${job.name}`);
  for (const group of chartGroups(Object.keys(series))) {
    for (const name of group.members.filter((member) => member in series)) {
      new Chart(container, { title: name, labels }).setData(series[name]);
    }
  }
}

startPage(async () => {
  const width = chartWidth(document.getElementById("charts"));
  const result = await call(`/v1/compare?${new URLSearchParams({ ids, max_points: width })}`);
  const jobs = result.jobs;
  const full = await Promise.all(jobs.map((job) => call(`/v1/jobs/${job.id}`)));
  document.getElementById("compared").replaceChildren(
    ...jobs.map((job, i) => el("span", {}, `${i + 1}. `, el("a", { href: `/ui/jobs/${job.id}` }, job.name), " ", statusBadge(job.status))),
  );
  curves(jobs, result.series);
  summaries(jobs);
  specs(jobs, new Map(full.map((job) => [job.id, job.spec])), new Set(result.spec_differences.map((d) => d.field)));
  if (!Object.keys(result.series).length) showNotice("These jobs share no metric yet.");
});
