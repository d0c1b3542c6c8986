// The studies table: name, status, preset, and how many of each study's jobs have finished.

import { el, finishedShare, percent, statusBadge, when } from "./format.js";
import { Pager } from "./pager.js";
import { call, startPage } from "./session.js";

function row(study) {
  const done = finishedShare(study.counts, study.jobs);
  return el(
    "tr",
    { dataset: { studyId: study.id } },
    el("td", {}, el("a", { href: `/ui/studies/${study.id}` }, study.name)),
    el("td", {}, statusBadge(study.status)),
    el("td", {}, study.preset ? `${study.preset} (scale ${study.scale})` : "grid"),
    el("td", { className: "num" }, String(study.jobs)),
    el("td", {}, el("progress", { max: 1, value: done }), " ", percent(done)),
    el("td", {}, when(study.created_at)),
  );
}

function draw(studies) {
  document.querySelector("#studies tbody").replaceChildren(...studies.map(row));
  document.getElementById("empty").hidden = studies.length > 0;
}

startPage(async () => {
  const pager = new Pager((cursor) => call(`/v1/studies?${new URLSearchParams(cursor ? { cursor } : {})}`), draw);
  await pager.restart();
});
