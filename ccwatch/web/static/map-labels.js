"use strict";
// Map labels that do not overlap. Each label is a <div> (text only: textContent) in a pane
// of its own, put at the first free spot around its point, trying rings of growing radius;
// a label moved away from its point gets a leader line. Markers are obstacles too. Laid out
// again after every zoom; a label with no free spot is hidden (its marker's tooltip stays).
const mapLabels = {
  RINGS: [9, 18, 30, 44, 60, 78, 98, 120, 145, 175],

  // Where a w x h box may go around a point: its top-left corner relative to the point.
  *spots(w, h, centred) {
    if (centred) yield [-w / 2, -h / 2];
    for (const r of mapLabels.RINGS) {
      const steps = r < 20 ? 8 : 16;
      for (let k = 0; k < steps; k++) {
        const a = (k / steps) * 2 * Math.PI, cos = Math.cos(a), sin = Math.sin(a);
        const x = Math.abs(cos) < 0.35 ? r * cos - w / 2 : cos > 0 ? r * cos : r * cos - w;
        const y = Math.abs(sin) < 0.35 ? r * sin - h / 2 : sin > 0 ? r * sin : r * sin - h;
        yield [x, y];
      }
    }
  },

  apart(a, b) {
    return a.x1 <= b.x0 || b.x1 <= a.x0 || a.y1 <= b.y0 || b.y1 <= a.y0;
  },

  create(map) {
    const pane = map.createPane("labels");
    const leaders = L.layerGroup().addTo(map);
    const labels = [];

    // parts: [[text, class], ...]; options: centred (an area's name), marker (its radius, px).
    function add(latlng, parts, cls, priority, options = {}) {
      const el = document.createElement("div");
      el.className = `map-label ${cls}`;
      for (const [text, part] of parts) {
        const span = document.createElement("span");
        span.className = part;
        span.textContent = text;
        el.append(span);
      }
      pane.append(el);
      labels.push({ latlng, el, priority, centred: !!options.centred, marker: options.marker || 0 });
      return el;
    }

    function layout() {
      leaders.clearLayers();
      const taken = labels.filter((l) => l.marker).map((l) => {
        const p = map.latLngToLayerPoint(l.latlng), r = l.marker + 1;
        return { x0: p.x - r, y0: p.y - r, x1: p.x + r, y1: p.y + r };
      });
      const sizes = labels.map((l) => [l.el.offsetWidth, l.el.offsetHeight]);  // measured once
      const order = labels.map((l, i) => i).sort((i, j) => labels[i].priority - labels[j].priority);
      for (const i of order) {
        const label = labels[i], [w, h] = sizes[i];
        const p = map.latLngToLayerPoint(label.latlng);
        let box = null;
        for (const [dx, dy] of mapLabels.spots(w, h, label.centred)) {
          const b = { x0: p.x + dx - 1, y0: p.y + dy - 1, x1: p.x + dx + w + 1, y1: p.y + dy + h + 1 };
          if (taken.every((t) => mapLabels.apart(t, b))) { box = b; break; }
        }
        label.el.hidden = box === null;
        if (!box) continue;
        taken.push(box);
        L.DomUtil.setPosition(label.el, L.point(box.x0 + 1, box.y0 + 1));
        const near = L.point(Math.max(box.x0, Math.min(p.x, box.x1)), Math.max(box.y0, Math.min(p.y, box.y1)));
        if (!label.centred && near.distanceTo(p) > 12) {
          L.polyline([label.latlng, map.layerPointToLatLng(near)], { className: "leader", interactive: false }).addTo(leaders);
        }
      }
    }

    map.on("zoomstart", () => pane.classList.add("moving"));
    map.on("zoomend viewreset", () => { layout(); pane.classList.remove("moving"); });
    return { add, layout };
  },
};
