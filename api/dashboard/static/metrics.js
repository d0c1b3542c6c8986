// Which metrics share a chart: losses, accuracies, step times, each layer's activation percentiles as a band.

const FIXED = [
  { key: "loss", title: "Loss", test: (name) => /^(train|val|test)_loss$/.test(name) },
  { key: "accuracy", title: "Accuracy", test: (name) => /^(train|val|test)_acc$/.test(name) },
  { key: "step-time", title: "Step time (ms)", test: (name) => /^step_(time|cpu)_ms$/.test(name) },
];
const PERCENTILES = ["p85", "p50", "p15"]; // upper, middle, lower: the band spans the first and the last

function layerGroup(name) {
  // act/<layer>/<stat> and ics/<layer>/<measure>: per-layer charts, grouped by what they measure.
  const [kind, layer, stat] = name.split("/");
  if (kind === "act" && PERCENTILES.includes(stat)) {
    return { key: `act/${layer}`, title: `Activations of ${layer}: p15–p85 band, p50 line`, percentiles: layer };
  }
  if (kind === "act") return { key: `act-moments/${layer}`, title: `Activations of ${layer}: mean and std` };
  if (kind === "ics") return { key: `ics/${stat}`, title: `Internal covariate shift (${stat}) per layer` };
  return null;
}

function rank(group) {
  // Losses, accuracies and step times first, then the other metrics, then the per-layer charts (a stable sort).
  const fixed = FIXED.findIndex((candidate) => candidate.key === group.key);
  return fixed >= 0 ? fixed : group.perLayer ? FIXED.length + 1 : FIXED.length;
}

export function chartGroups(names) {
  // The charts to draw for these metric names, each with its members in drawing order; per-layer ones last.
  const groups = new Map();
  for (const name of [...names].sort()) {
    const fixed = FIXED.find((group) => group.test(name));
    const group = fixed ?? layerGroup(name) ?? { key: name, title: name };
    if (!groups.has(group.key)) groups.set(group.key, { ...group, members: [], perLayer: name.includes("/") });
    groups.get(group.key).members.push(name);
  }
  for (const group of groups.values()) {
    if (group.percentiles) group.members = PERCENTILES.map((stat) => `act/${group.percentiles}/${stat}`);
  }
  return [...groups.values()].sort((a, b) => rank(a) - rank(b));
}

export function memberLabel(group, name) {
  // The legend label of a metric inside its chart.
  return group.perLayer && !group.key.startsWith("ics/") ? name.split("/").pop() : name.split("/").slice(0, 2).join("/");
}
