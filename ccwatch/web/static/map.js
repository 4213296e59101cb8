"use strict";
// The county map: Leaflet (served by the app from /static/vendor/, no CDN) drawing the app's
// own GeoJSON (/api/geo) as vector layers on a sea-coloured background: there is no tile
// server. Every name is set as text (textContent, DOM elements for tooltips), never HTML.
const STATES = { normal: "正常 normal", alert: "有告警 open alert", escalated: "已升级 escalated" };

const ll = ([lon, lat]) => [lat, lon];
const rings = (g) => (g.type === "Polygon" ? [g.coordinates.map((r) => r.map(ll))]
  : g.type === "MultiPolygon" ? g.coordinates.map((p) => p.map((r) => r.map(ll))) : []);
const zhEn = (name) => {  // "泗礁山 Sijiao" -> [["泗礁山", "zh"], [" Sijiao", "en"]]
  const cut = name.indexOf(" ");
  return cut < 0 ? [[name, "zh"]] : [[name.slice(0, cut), "zh"], [name.slice(cut), "en"]];
};

function tip(lines) {  // a tooltip's content: lines of text
  const div = document.createElement("div");
  for (const line of lines) {
    const p = document.createElement("div");
    p.textContent = line;
    div.append(p);
  }
  return div;
}

function area(map, f, cls) {
  const shape = L.polygon(rings(f.geometry), { className: cls }).addTo(map);
  shape.bindTooltip(tip([f.properties.name]), { sticky: true });
  return shape;
}

function subjectMarker(map, labels, track, f) {
  const p = f.properties, at = ll(f.geometry.coordinates);
  L.circle(at, { radius: p.accuracy_m, className: "accuracy", interactive: false }).addTo(map);
  const dot = L.circleMarker(at, { radius: 6, className: `subject ${p.state}` }).addTo(map);
  dot.getElement().dataset.subject = p.subject_id;
  dot.bindTooltip(tip([`${p.subject_id} · ${STATES[p.state]}`, ccw.local(p.at),
    ...(p.alerts.length ? [`告警 alerts: ${p.alerts.map((a) => ccw.label("alert_type", a)).join(", ")}`] : [])]));
  dot.on("click", () => track.choose(p.subject_id, p.at));
  const rank = { escalated: 10, alert: 11, normal: 12 }[p.state];
  const label = labels.add(at, [[p.subject_id, "id"]], `subject-label ${p.state}`, rank, { marker: 6 });
  label.dataset.subject = p.subject_id;
}

function leaveLayer(map, labels, f, from) {
  const p = f.properties;
  const when = `${ccw.local(p.starts_at)} – ${ccw.local(p.ends_at)}`;
  const item = document.createElement("li");
  item.textContent = `${p.subject_id} → ${p.destination} (${when})${f.geometry ? "" : " · 未能定位 not placed"}`;
  document.getElementById("leave-list").append(item);
  if (!f.geometry) return;
  const to = ll(f.geometry.coordinates);
  if (from) L.polyline([from, to], { className: "leave-line", interactive: false }).addTo(map);
  L.circleMarker(to, { radius: 6, className: "leave" }).addTo(map).bindTooltip(tip([item.textContent]));
  labels.add(to, [[p.subject_id, "id"], [` 请假 ${p.destination}`, "zh"]], "leave-label", 40, { marker: 6 });
}

async function draw() {
  const el = document.getElementById("map");
  const map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
  L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);
  const labels = mapLabels.create(map);
  const track = mapTrack.create(map);
  const [r] = await Promise.all([fetch("/api/geo"), ccw.labels()]);
  if (r.status === 401) { location.href = "/login"; return; }
  const features = (await r.json()).features;
  const of = (kind) => features.filter((f) => f.properties.kind === kind);

  L.polygon(rings(of("county")[0].geometry), { className: "county", interactive: false }).addTo(map);
  const land = [...of("island"), ...of("office"), ...of("position")]  // the default view
    .flatMap((f) => (f.geometry.type === "Point" ? [ll(f.geometry.coordinates)] : rings(f.geometry).flat(2)));
  map.fitBounds(L.latLngBounds(land), { padding: [70, 40] });
  for (const f of of("island")) {
    const shape = area(map, f, "island");
    labels.add(shape.getCenter(), zhEn(f.properties.name), "island-label", 5, { centred: true });
  }
  for (const f of of("exit")) {
    const shape = area(map, f, "exit");
    labels.add(shape.getCenter(), zhEn(f.properties.name), "exit-label", 30, { centred: true });
  }
  for (const f of of("forbidden")) area(map, f, "forbidden");
  for (const f of of("port")) {
    const at = ll(f.geometry.coordinates);
    L.circleMarker(at, { radius: 4, className: "port" }).addTo(map).bindTooltip(tip([f.properties.name]));
    labels.add(at, zhEn(f.properties.name), "port-label", 20, { marker: 4 });
  }
  for (const f of of("office")) {
    const at = ll(f.geometry.coordinates), p = f.properties;
    L.circleMarker(at, { radius: 6, className: "office" }).addTo(map).bindTooltip(tip([p.name, p.name_en]));
    labels.add(at, [[p.name, "zh"], [` ${p.name_en}`, "en"]], "office-label", 1, { marker: 6 });
  }
  const positions = of("position").sort((a, b) => a.properties.subject_id.localeCompare(b.properties.subject_id));
  const where = Object.fromEntries(positions.map((f) => [f.properties.subject_id, ll(f.geometry.coordinates)]));
  for (const f of of("leave")) leaveLayer(map, labels, f, where[f.properties.subject_id]);
  for (const f of positions) subjectMarker(map, labels, track, f);
  track.subjects(positions.map((f) => [f.properties.subject_id, f.properties.at]));
  labels.layout();
  el.dataset.ready = "true";
}
draw();
