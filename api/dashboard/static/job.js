// A job's page: status, progress, spec, summary and every metric's curve, live over server-sent events.

import { chartWidth } from "./charts.js";
import { FINISHED, el, percent, setStatus, show, when } from "./format.js";
import { SeriesCharts } from "./series_charts.js";
import { call, showNotice, startPage } from "./session.js";
import { follow } from "./sse.js";

const OVERDRAWN = 4; // live points past this many per pixel: fetch the downsampled series again
const jobId = document.getElementById("job").dataset.jobId;
const base = `/v1/jobs/${jobId}`;
let job = null;

function render() {
  document.getElementById("job").hidden = false;
  document.getElementById("no-summary").hidden = job.summary !== null;
  document.title = `${job.name} · bnlab`;
  document.getElementById("job-name").textContent = job.name;
  setStatus(document.getElementById("job-status"), job.status);
  document.getElementById("job-progress").value = job.progress;
  const model = job.spec.model;
  document.getElementById("job-facts").textContent =
    `${percent(job.progress)} of ${job.spec.training.steps} steps · ${model.arch}, norm ${model.norm} · ` +
    `${job.spec.dataset.name} · lr ${job.spec.optimizer.lr} · attempts ${job.attempts} · ` +
    `created ${when(job.created_at)} · started ${when(job.started_at)} · finished ${when(job.finished_at)}`;
  const error = document.getElementById("job-error");
  error.hidden = !job.error;
  error.textContent = job.error ?? "";
  document.getElementById("cancel").hidden = FINISHED.includes(job.status) || job.cancel_requested;
  document.getElementById("delete").hidden = !FINISHED.includes(job.status);
  document.getElementById("spec").textContent = JSON.stringify(job.spec, null, 2);
  const rows = Object.entries(job.summary ?? {}).map(([key, value]) => el("tr", {}, el("th", {}, key), el("td", {}, show(value))));
  document.querySelector("#summary tbody").replaceChildren(...rows);
}

async function loadSeries(charts) {
  // The series downsampled to the charts' width (first and last points kept), replacing what was drawn.
  const width = chartWidth(document.getElementById("charts"));
  const metrics = await call(`${base}/metrics?max_points=${width}`);
  charts.replace(metrics.series);
  return width;
}

let reloading = null;

function onEvent(charts, width, event) {
  if (event.name === "status") {
    job = { ...job, ...event.data };
    render();
  } else if (event.name === "metric") {
    charts.append(event.data.series);
    if (charts.points() > OVERDRAWN * width && reloading === null) {
      reloading = loadSeries(charts).finally(() => (reloading = null));
    }
  }
}

async function act(action) {
  // Cancel or delete after the user confirmed it.
  if (action === "cancel" && confirm(`Cancel job "${job.name}"? A running job stops at its next step.`)) {
    job = await call(`${base}/cancel`, { method: "POST" });
    render();
  }
  if (action === "delete" && confirm(`Delete job "${job.name}" and all its metrics? This cannot be undone.`)) {
    await call(base, { method: "DELETE" });
    location.assign("/ui/");
  }
}

startPage(async () => {
  job = await call(base);
  render();
  for (const action of ["cancel", "delete"]) {
    document.getElementById(action).addEventListener("click", () => act(action).catch((e) => showNotice(e.message)));
  }
  const charts = new SeriesCharts(document.getElementById("charts"));
  const width = await loadSeries(charts);
  const live = document.getElementById("live");
  if (FINISHED.includes(job.status)) return;
  live.textContent = "● live";
  await follow(`${base}/events`, {
    lastEventId: String(charts.lastStep()),
    onEvent: (event) => onEvent(charts, width, event),
    isOver: () => FINISHED.includes(job.status),
    onTrouble: (error) => (live.textContent = `reconnecting (${error.message})`),
  });
  live.textContent = "";
  if (charts.points() > width) await loadSeries(charts);
  showNotice(job.status === "succeeded" ? "" : `The job ${job.status}.`);
});
