// A set of charts fed by metric series that keep growing: the job page draws its own, live.

import { Chart, align } from "./charts.js";
import { chartGroups, memberLabel } from "./metrics.js";

export class SeriesCharts {
  // Charts in `container` for a job's series {name: [[step, value], ...]}, redrawn at most once a frame.
  constructor(container) {
    this.container = container;
    this.series = {};
    this.charts = new Map();
    this.pending = false;
  }

  replace(series) {
    this.series = { ...series };
    this.schedule();
  }

  append(series) {
    for (const [name, points] of Object.entries(series)) {
      this.series[name] = (this.series[name] ?? []).concat(points);
    }
    this.schedule();
  }

  points() {
    return Math.max(0, ...Object.values(this.series).map((points) => points.length));
  }

  lastStep() {
    return Math.max(-1, ...Object.values(this.series).flatMap((points) => points.slice(-1).map(([step]) => step)));
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    document.getElementById("no-points").hidden = this.points() > 0;
    for (const group of chartGroups(Object.keys(this.series))) {
      const members = group.members.filter((name) => name in this.series || group.percentiles);
      if (!this.charts.has(group.key)) {
        const labels = members.map((name) => memberLabel(group, name));
        const band = group.percentiles ? [0, 2] : null;
        this.charts.set(group.key, new Chart(this.container, { title: group.title, labels, band }));
      }
      this.charts.get(group.key).setData(align(members.map((name) => this.series[name] ?? [])));
    }
  }
}
