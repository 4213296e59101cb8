// The county map from the app's own GeoJSON, drawn as SVG: no tiles, no network beyond the app.
"use strict";
const NS = "http://www.w3.org/2000/svg";
function el(name, attrs, parent) { const e = document.createElementNS(NS, name); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); parent.append(e); return e; }
function rings(g) { return g.type === "Polygon" ? g.coordinates : g.type === "MultiPolygon" ? g.coordinates.flat() : []; }
async function draw() {
  const svg = document.getElementById("map");
  const data = await (await fetch("/api/geo")).json();
  const pts = data.features.flatMap((f) => f.geometry.type === "Point" ? [f.geometry.coordinates] : rings(f.geometry).flat());
  const lons = pts.map((p) => p[0]), lats = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const k = Math.cos((y0 + y1) / 2 * Math.PI / 180);
  const scale = Math.min(960 / ((x1 - x0) * k), 560 / (y1 - y0));
  const xy = ([lon, lat]) => [20 + (lon - x0) * k * scale, 580 - (lat - y0) * scale];
  const metres = scale / 111320;
  const order = {county: 0, island: 1, exit: 2, forbidden: 3, office: 4, position: 5};
  for (const f of data.features.sort((a, b) => order[a.properties.kind] - order[b.properties.kind])) {
    const p = f.properties;
    if (f.geometry.type !== "Point") {
      for (const ring of rings(f.geometry)) {
        el("polygon", {points: ring.map((c) => xy(c).join(",")).join(" "), class: p.kind}, svg).append(Object.assign(document.createElementNS(NS, "title"), {textContent: p.name}));
      }
    } else if (p.kind === "office") {
      const [x, y] = xy(f.geometry.coordinates);
      el("rect", {x: x - 4, y: y - 4, width: 8, height: 8, class: "office"}, svg);
      el("text", {x: x + 6, y: y - 6, class: "label"}, svg).textContent = p.name;
    } else {
      const [x, y] = xy(f.geometry.coordinates);
      el("circle", {cx: x, cy: y, r: Math.max(p.accuracy_m * metres, 1), class: "accuracy"}, svg);
      const dot = el("circle", {cx: x, cy: y, r: 3, class: p.alerts.length ? "subject alert" : "subject ok", "data-subject": p.subject_id}, svg);
      dot.append(Object.assign(document.createElementNS(NS, "title"), {textContent: `${p.subject_id} ${p.at} ${p.alerts.join(", ")}`}));
    }
  }
  svg.dataset.ready = "true";
}
draw();
