"use strict";
// Track playback: a subject's fixes in a window of local time (Asia/Shanghai, whatever the
// browser's zone) from GET /api/subjects/{id}/track, drawn as a line; a slider and a play
// button move a marker through the fixes. The form's data-count, data-index, data-lat and
// data-lon say where the marker is.
const mapTrack = {
  ZONE: "Asia/Shanghai",

  toInput(date) {  // a datetime-local value, in Beijing time
    return date.toLocaleString("sv-SE", { timeZone: mapTrack.ZONE }).slice(0, 16).replace(" ", "T");
  },
  fromInput(value) {  // a datetime-local value read as Beijing time
    return ccw.atLocal(value);
  },

  create(map) {
    const form = document.getElementById("track");
    const [select, since, until, play, slider, readout] = ["subject", "since", "until", "play", "slider", "at"]
      .map((id) => document.getElementById(`track-${id}`));
    const layer = L.layerGroup().addTo(map);
    let fixes = [], timer = null, last = {};

    function caption(zh, en) {
      const small = document.createElement("small");
      small.textContent = en;
      play.replaceChildren(`${zh} `, small);
    }

    function stop() {
      clearInterval(timer);
      timer = null;
      caption("播放", "Play");
    }

    function show(i) {
      const f = fixes[i];
      slider.value = String(i);
      form.dataset.index = String(i);
      form.dataset.lat = String(f.lat);
      form.dataset.lon = String(f.lon);
      marker.setLatLng([f.lat, f.lon]);
      readout.textContent = `${ccw.local(f.at)} · ${i + 1}/${fixes.length} · ±${Math.round(f.accuracy_m)} m · ${f.source}`;
    }

    const marker = L.circleMarker([0, 0], { radius: 8, className: "track-marker", interactive: false });

    async function load() {
      stop();
      layer.clearLayers();
      fixes = [];
      form.dataset.count = "0";
      play.disabled = slider.disabled = true;
      const query = new URLSearchParams({
        since: mapTrack.fromInput(since.value), until: mapTrack.fromInput(until.value), limit: "5000",
      });
      readout.textContent = "…";
      const r = await fetch(`/api/subjects/${encodeURIComponent(select.value)}/track?${query}`);
      if (r.status === 401) { location.href = "/login"; return; }
      if (!r.ok) {
        readout.textContent = r.status === 404 ? "没有该对象 No such subject" : `失败 Failed (${r.status})`;
        return;
      }
      fixes = (await r.json()).reverse();  // oldest first
      form.dataset.count = String(fixes.length);
      if (!fixes.length) { readout.textContent = "该时段无定位 No fixes in this window"; return; }
      const line = fixes.map((f) => [f.lat, f.lon]);
      L.polyline(line, { className: "track-line", interactive: false }).addTo(layer);
      for (const p of line) L.circleMarker(p, { radius: 2.5, className: "track-fix", interactive: false }).addTo(layer);
      marker.addTo(layer);
      slider.max = String(fixes.length - 1);
      play.disabled = slider.disabled = false;
      show(0);
      map.fitBounds(L.latLngBounds(line).pad(0.3), { maxZoom: 14 });
    }

    // A subject picked on the map or in the list: the day up to its last fix.
    function choose(subject, lastAt) {
      select.value = subject;
      const end = lastAt ? new Date(Date.parse(lastAt) + 60_000) : new Date();
      until.value = mapTrack.toInput(end);
      since.value = mapTrack.toInput(new Date(end - 24 * 3600_000));
    }

    function subjects(list) {  // [[id, last fix time], ...]
      select.replaceChildren(...list.map(([id]) => new Option(id, id)));
      last = Object.fromEntries(list);
      if (list.length) choose(list[0][0], list[0][1]);
    }

    select.addEventListener("change", () => choose(select.value, last[select.value]));
    form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
    slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
    play.addEventListener("click", () => {
      if (timer) { stop(); return; }
      if (Number(slider.value) >= fixes.length - 1) show(0);
      caption("暂停", "Pause");
      timer = setInterval(() => {
        const next = Number(slider.value) + 1;
        if (next >= fixes.length) { stop(); return; }
        show(next);
      }, 400);
    });
    return { choose, subjects };
  },
};
