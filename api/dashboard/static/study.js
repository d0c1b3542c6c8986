// A study's page: its grid with progress per cell, and its report: verdicts, results per cell, plots, files.

import { el, finishedShare, number, percent, setStatus, show, when } from "./format.js";
import { blobUrl, call, showNotice, startPage } from "./session.js";

const REFRESH_MS = 5000;
const FIELDS = ["final_test_acc", "best_test_acc", "test_acc_at_best_val", "steps_to_target", "train_step_cpu_ms"];
const studyId = document.getElementById("study").dataset.studyId;
const base = `/v1/studies/${studyId}`;

function cellName(values) {
  return Object.entries(values).map(([path, value]) => `${path}=${typeof value === "string" ? value : show(value)}`).join(", ");
}

function grid(study) {
  const head = el("tr", {}, ...["section", "cell", "progress", "jobs"].map((words) => el("th", {}, words)));
  const rows = study.cells.map((cell) => {
    const done = finishedShare(cell.counts, cell.job_ids.length);
    const links = cell.job_ids.map((id, seed) => el("a", { href: `/ui/jobs/${id}` }, `seed ${study.seeds[seed]}`));
    return el(
      "tr",
      {},
      el("td", {}, cell.section),
      el("td", {}, cellName(cell.values)),
      el("td", {}, el("progress", { max: 1, value: done }), " ", percent(done)),
      el("td", { className: "links" }, ...links.flatMap((link) => [link, " "])),
    );
  });
  document.querySelector("#cells thead").replaceChildren(head);
  document.querySelector("#cells tbody").replaceChildren(...rows);
}

function header(study) {
  document.getElementById("study").hidden = false;
  document.title = `${study.name} · bnlab`;
  document.getElementById("study-name").textContent = study.name;
  setStatus(document.getElementById("study-status"), study.status);
  document.getElementById("study-progress").value = finishedShare(study.counts, study.jobs);
  const counts = Object.entries(study.counts).map(([status, n]) => `${n} ${status}`).join(", ");
  document.getElementById("study-facts").textContent =
    `${study.preset ? `preset ${study.preset}, scale ${study.scale}` : "grid study"} · ${study.jobs} jobs (${counts}) · ` +
    `seeds ${study.seeds.join(", ")} · created ${when(study.created_at)}`;
}

function claims(report) {
  const items = report.claims.map((claim) =>
    el(
      "section",
      { className: `claim ${claim.verdict.replaceAll(" ", "-")}` },
      el("h3", {}, claim.title, " ", el("span", { className: "verdict" }, claim.verdict)),
      el("p", {}, claim.statement),
      el("p", {}, claim.summary),
      el("p", { className: "muted" }, `Rule: ${claim.rule}`),
    ),
  );
  const none = el("p", { className: "muted" }, "Verdicts are given for the claims preset; this study has none.");
  document.getElementById("claims").replaceChildren(...(items.length ? items : [none]));
  document.getElementById("partial").hidden = !report.partial;
}

function results(report) {
  const head = el("tr", {}, el("th", {}, "cell"), el("th", {}, "n"), ...FIELDS.map((field) => el("th", {}, field)));
  const rows = report.cells.map((cell) =>
    el(
      "tr",
      {},
      el("td", {}, `${cell.section}: ${cellName(cell.values)}`),
      el("td", { className: "num" }, String(cell.n)),
      ...FIELDS.map((field) => {
        const stat = cell.summary[field];
        return el("td", { className: "num" }, stat ? `${number(stat.mean)} [${number(stat.ci_low)}, ${number(stat.ci_high)}]` : "–");
      }),
    ),
  );
  document.querySelector("#results thead").replaceChildren(head);
  document.querySelector("#results tbody").replaceChildren(...rows);
}

async function plots(report) {
  // Each plot fetched with the key (an <img> cannot send it) and shown from a local blob URL as it arrives.
  const figures = report.plots.map((plot) => {
    const image = el("img", { alt: plot.title });
    return { plot, image, figure: el("figure", {}, image, el("figcaption", {}, plot.title)) };
  });
  document.getElementById("plots").replaceChildren(...figures.map(({ figure }) => figure));
  for (const { plot, image } of figures) image.src = await blobUrl(plot.svg);
}

function opener(id, path, download) {
  document.getElementById(id).addEventListener("click", async () => {
    try {
      const link = el("a", { href: await blobUrl(path), target: "_blank", rel: "noopener" });
      if (download) link.download = download;
      link.click();
    } catch (error) {
      showNotice(error.message);
    }
  });
}

async function refresh() {
  const study = await call(base);
  header(study);
  grid(study);
  const report = await call(`${base}/report`);
  claims(report);
  results(report);
  return { study, report };
}

startPage(async () => {
  opener("report-html", `${base}/report.html`, null);
  opener("report-csv", `${base}/jobs.csv`, "jobs.csv");
  let { report } = await refresh();
  await plots(report);
  const timer = setInterval(async () => {
    try {
      ({ report } = await refresh());
      if (!report.partial) {
        clearInterval(timer);
        await plots(report);
      }
    } catch (error) {
      showNotice(error.message);
    }
  }, REFRESH_MS);
  if (!report.partial) clearInterval(timer);
});
