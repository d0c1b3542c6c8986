// Line charts (uPlot) of step series: aligned on one step axis, linear or log, bands for percentiles.

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
const HEIGHT = 240;
const compact = new Intl.NumberFormat("en", { notation: "compact", maximumSignificantDigits: 3 });

export function align(seriesList) {
  // Several [[step, value], ...] series on the union of their steps (null where a series has no point).
  const steps = [...new Set(seriesList.flatMap((points) => points.map(([step]) => step)))].sort((a, b) => a - b);
  const index = new Map(steps.map((step, i) => [step, i]));
  const values = seriesList.map((points) => {
    const row = new Array(steps.length).fill(null);
    for (const [step, value] of points) row[index.get(step)] = value;
    return row;
  });
  return { steps, values };
}

export function chartWidth(container) {
  // Points worth asking the server for: one per device pixel of a chart's width, measured on an empty chart.
  const probe = document.createElement("figure");
  probe.className = "chart";
  probe.style.visibility = "hidden";
  container.append(probe);
  const width = probe.clientWidth;
  probe.remove();
  return Math.max(100, Math.round(width * (window.devicePixelRatio || 1)));
}

function tickLabel(tick) {
  // Short tick labels (15K, 0.25); a log axis leaves some ticks unlabelled (null).
  if (tick === null || tick === undefined) return "";
  return Math.abs(tick) >= 1e3 ? compact.format(tick) : String(+tick.toPrecision(3));
}

function positiveOnly(values) {
  // A log axis cannot place zero or negative values: they are left out rather than drawn at -infinity.
  return values.map((value) => (value !== null && value > 0 ? value : null));
}

export class Chart {
  // One chart in `container`: `labels` name its series; `band` = [upper, lower] series indexes, filled between.
  constructor(container, { title, labels, band = null, colors = COLORS }) {
    this.labels = labels;
    this.band = band;
    this.colors = colors;
    this.log = false;
    this.data = { steps: [], values: labels.map(() => []) };
    this.box = document.createElement("figure");
    this.box.className = "chart";
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    this.toggle = document.createElement("button");
    this.toggle.type = "button";
    this.toggle.className = "axis-toggle";
    this.toggle.addEventListener("click", () => this.setLog(!this.log));
    caption.append(" ", this.toggle);
    this.plotArea = document.createElement("div");
    this.box.append(caption, this.plotArea);
    container.append(this.box);
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(this.plotArea);
    this.draw();
  }

  size() {
    return { width: Math.max(200, this.plotArea.clientWidth), height: HEIGHT };
  }

  options() {
    const series = this.labels.map((label, i) => ({
      label,
      stroke: this.colors[i % this.colors.length],
      width: this.band && i !== 1 ? 1 : 1.5,
      spanGaps: true,
      points: { show: false },
    }));
    const bands = this.band ? [{ series: this.band.map((i) => i + 1), fill: "rgba(31,119,180,0.15)" }] : [];
    return {
      ...this.size(),
      scales: { x: { time: false }, y: { distr: this.log ? 3 : 1 } },
      series: [{ label: "step" }, ...series],
      bands,
      axes: [
        { label: "step", values: (_, ticks) => ticks.map(tickLabel) },
        { values: (_, ticks) => ticks.map(tickLabel) },
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    };
  }

  setData(aligned) {
    this.data = aligned;
    this.box.dataset.points = String(aligned.steps.length);
    this.box.dataset.firstStep = String(aligned.steps[0] ?? "");
    this.box.dataset.lastStep = String(aligned.steps.at(-1) ?? "");
    if (this.plot) this.plot.setData(this.plotted());
  }

  plotted() {
    const values = this.log ? this.data.values.map(positiveOnly) : this.data.values;
    return [this.data.steps, ...values];
  }

  setLog(log) {
    this.log = log;
    this.draw();
  }

  draw() {
    this.toggle.textContent = this.log ? "log y · switch to linear" : "linear y · switch to log";
    this.box.dataset.axis = this.log ? "log" : "linear";
    this.plot?.destroy();
    this.plot = new uPlot(this.options(), this.plotted(), this.plotArea);
  }
}
