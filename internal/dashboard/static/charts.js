// Small SVG and HTML charts for the dashboard, with no library.
"use strict";

window.PulseCharts = (() => {
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // sparkline draws sizes (oldest first) as a polyline in an SVG element.
  function sparkline(svg, points) {
    svg.replaceChildren();
    svg.setAttribute("viewBox", "0 0 100 30");
    svg.setAttribute("preserveAspectRatio", "none");
    if (points.length < 2) return;
    const sizes = points.map((p) => p.size);
    const lo = Math.min(...sizes), hi = Math.max(...sizes), span = hi - lo || 1;
    const coords = sizes.map((s, i) => {
      const x = (i / (sizes.length - 1)) * 100;
      const y = 28 - ((s - lo) / span) * 26;
      return x.toFixed(2) + "," + y.toFixed(2);
    });
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", coords.join(" "));
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.appendChild(line);
  }

  // overlapMatrix renders segmentOverlap pairs as a symmetric table whose
  // cells are shaded by Jaccard index and show the intersection.
  function overlapMatrix(container, segments, pairs) {
    const byPair = new Map();
    for (const p of pairs) {
      byPair.set(p.a.id + "/" + p.b.id, p);
      byPair.set(p.b.id + "/" + p.a.id, p);
    }
    const table = el("table", { class: "matrix" });
    const head = el("tr");
    head.appendChild(el("th"));
    for (const s of segments) head.appendChild(el("th", { title: s.name }, s.name));
    table.appendChild(head);
    for (const row of segments) {
      const tr = el("tr");
      tr.appendChild(el("th", {}, row.name));
      for (const col of segments) {
        if (row.id === col.id) {
          tr.appendChild(el("td", { class: "muted" }, String(row.size)));
          continue;
        }
        const p = byPair.get(row.id + "/" + col.id);
        const td = el("td", { title: p ? "Jaccard " + p.jaccard.toFixed(2) : "" }, p ? String(p.intersection) : "–");
        if (p) td.style.background = "rgba(59, 91, 219, " + (0.08 + p.jaccard * 0.8).toFixed(2) + ")";
        if (p && p.jaccard > 0.5) td.style.color = "#fff";
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    container.replaceChildren(table);
  }

  // feedbackBars renders NPS (-100..100, centred) and bug reports per 100
  // active users for each segment and all users.
  function feedbackBars(container, rows) {
    const box = el("div", { class: "bars" });
    box.appendChild(el("div", { class: "muted small" }, "NPS"));
    for (const r of rows) {
      const row = el("div", { class: "bar-row" });
      row.appendChild(el("span", { title: r.name }, r.name));
      const track = el("div", { class: "bar-track" });
      track.appendChild(el("div", { class: "bar-zero" }));
      if (r.nps !== null && r.nps !== undefined) {
        const width = Math.abs(r.nps) / 2;
        const bar = el("div", { class: "bar" + (r.nps < 0 ? " neg" : "") });
        bar.style.width = width + "%";
        bar.style.left = (r.nps < 0 ? 50 - width : 50) + "%";
        track.appendChild(bar);
      }
      row.appendChild(track);
      row.appendChild(el("span", {}, r.nps === null || r.nps === undefined ? "–" : Math.round(r.nps) + " (" + r.npsRespondents + ")"));
      box.appendChild(row);
    }
    const maxBugs = Math.max(1, ...rows.map((r) => r.bugs || 0));
    box.appendChild(el("div", { class: "muted small" }, "Bug reports per 100 active users"));
    for (const r of rows) {
      const row = el("div", { class: "bar-row" });
      row.appendChild(el("span", { title: r.name }, r.name));
      const track = el("div", { class: "bar-track" });
      const bar = el("div", { class: "bar bugs" });
      bar.style.width = ((r.bugs || 0) / maxBugs) * 100 + "%";
      track.appendChild(bar);
      row.appendChild(track);
      row.appendChild(el("span", {}, r.bugs === null || r.bugs === undefined ? "–" : r.bugs.toFixed(1)));
      box.appendChild(row);
    }
    container.replaceChildren(box);
  }

  return { el, sparkline, overlapMatrix, feedbackBars };
})();
