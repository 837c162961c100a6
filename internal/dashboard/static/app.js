// The Pulse dashboard: segment tiles, the live feed of users entering and
// leaving segments, export and recompute buttons, the health of the
// webhook endpoints and the analytics charts.
"use strict";

(() => {
  const { query, subscribe } = window.PulseGraphQL;
  const { el, sparkline, overlapMatrix, feedbackBars } = window.PulseCharts;
  const config = JSON.parse(document.getElementById("pulse-config").textContent);
  const $ = (id) => document.getElementById(id);
  const KEY = "pulse.key";

  const state = { readKey: null, adminKey: null, segments: new Map(), stopLive: null, requestedRuns: new Set(), quietRuns: new Map(), unchanged: 0,
    freshnessDue: null };

  const DASHBOARD = `query Dashboard($since: Time) {
    viewer { role project { id name } }
    segments(first: 100) { edges { node {
      id name status size lastComputedAt lastError ruleText
      freshness { mode reason lagSeconds }
      sizeHistory(from: $since) { at size seq }
    } } }
  }`;
  const LIVE = `subscription Live { segmentsChanged {
    seq size enteredCount exitedCount committedAt
    run { id trigger }
    segment { id name }
    entered { externalId } exited { externalId }
  } }`;
  const WEBHOOKS = `query Webhooks { webhookEndpoints(first: 100) { edges { node {
    id url description state disabledReason failingSince lastAttempt { at httpStatus error }
  } } } }`;
  const FRESHNESS = `query Freshness { segments(first: 100) { edges { node { id freshness { mode reason lagSeconds } } } } }`;
  const RECOMPUTE = `mutation Recompute($id: ID!) { recomputeSegment(id: $id) { id status } }`;
  const RECOMPUTE_ALL = `mutation RecomputeAll { recomputeAllSegments { id } }`;
  const OVERLAP = `query Overlap($ids: [ID!]!) { segmentOverlap(segmentIds: $ids) { a { id } b { id } intersection jaccard } }`;
  const FEEDBACK = `query FeedbackBySegment($ids: [ID!]!, $from: Date!, $to: Date!) {
    feedbackBySegment(segmentIds: $ids, from: $from, to: $to) {
      segments { segment { id name } nps npsRespondents bugReportsPer100ActiveUsers }
      allUsers { nps npsRespondents bugReportsPer100ActiveUsers }
    }
  }`;

  function start() {
    if (config.keys) {
      state.readKey = config.keys.read;
      state.adminKey = config.keys.admin;
      // GraphiQL, opened from this tab, finds the key where the login keeps it.
      sessionStorage.setItem(KEY, config.keys.admin);
    } else {
      const saved = sessionStorage.getItem(KEY);
      if (!saved) return showLogin();
      state.readKey = saved;
    }
    open();
  }

  function showLogin(message) {
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("demo-hint").hidden = !config.demo;
    $("live-status").hidden = true;
  }

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    state.readKey = key;
    $("login").hidden = true;
    open();
  });

  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    if (state.stopLive) state.stopLive();
    location.reload();
  });

  async function open() {
    try {
      await loadSegments();
    } catch (err) {
      if (!config.keys && (err.status === 401 || err.code === "UNAUTHENTICATED" || err.code === "FORBIDDEN")) {
        sessionStorage.removeItem(KEY);
        return showLogin("That key was refused: " + err.message);
      }
      return showError(err);
    }
    $("app").hidden = false;
    $("live-status").hidden = false;
    $("sign-out").hidden = !!config.keys;
    state.stopLive = subscribe(state.readKey, LIVE, {
      onData: (data) => onChange(data.segmentsChanged),
      onError: showError,
      onState: (s) => {
        $("live-status").dataset.state = s;
        $("live-status").textContent = s === "live" ? "live" : s === "closed" ? "reconnecting…" : "connecting…";
      },
    });
    loadCharts();
    loadWebhooks();
    setInterval(() => loadSegments().catch(showError), 30000);
    setInterval(loadCharts, 30000);
    setInterval(loadWebhooks, 30000);
    setInterval(loadFreshness, 5000);
    setInterval(renderFreshness, 1000);
  }

  // loadFreshness reads how far behind each tile is: the lag counts the
  // changes not yet in the members, which a live run does not tell (others
  // may be waiting behind it).
  async function loadFreshness() {
    state.freshnessDue = null;
    try {
      const data = await query(state.readKey, FRESHNESS);
      for (const { node } of data.segments.edges) {
        const seg = state.segments.get(node.id);
        if (seg) seg.freshness = node.freshness;
      }
      renderFreshness();
    } catch (err) {
      showError(err);
    }
  }

  // freshnessSoon reads the lag again shortly after live runs, once for a
  // burst of them.
  function freshnessSoon() {
    if (!state.freshnessDue) state.freshnessDue = setTimeout(loadFreshness, 500);
  }

  function showError(err) {
    $("error").hidden = false;
    $("error").textContent = String(err.message || err);
  }

  async function loadSegments() {
    const since = new Date(Date.now() - config.historyWindowSeconds * 1000).toISOString();
    const data = await query(state.readKey, DASHBOARD, { since });
    const { viewer } = data;
    $("project").textContent = viewer.project.name + " · " + viewer.role + (config.demo ? " · demo" : "");
    if (viewer.role === "ADMIN" && !state.adminKey) state.adminKey = state.readKey;
    $("recompute-all").hidden = !state.adminKey;
    const nodes = data.segments.edges.map((e) => e.node);
    $("no-segments").hidden = nodes.length > 0;
    const seen = new Set();
    for (const seg of nodes) {
      seen.add(seg.id);
      const prev = state.segments.get(seg.id);
      state.segments.set(seg.id, Object.assign(prev || {}, seg, { history: seg.sizeHistory }));
      renderTile(state.segments.get(seg.id));
    }
    for (const [id, seg] of state.segments) {
      if (!seen.has(id)) {
        seg.tile.remove();
        state.segments.delete(id);
      }
    }
    $("error").hidden = true;
  }

  function renderTile(seg) {
    if (!seg.tile) {
      seg.tile = el("article", { class: "tile" });
      seg.tile.innerHTML = `<div class="top"><span class="name"></span><span class="badge"></span></div>
        <div class="size"></div><svg aria-hidden="true"></svg><div class="rule"></div>
        <div class="lasterror" hidden></div>
        <div class="meta"><span class="fresh"></span><span class="actions">
          <button class="export" title="Download the current members as CSV">Export CSV</button>
          <button class="recompute" hidden>Recompute</button></span></div>`;
      seg.tile.querySelector(".recompute").addEventListener("click", () => recompute(seg));
      seg.tile.querySelector(".export").addEventListener("click", () => exportMembers(seg));
      $("tiles").appendChild(seg.tile);
    }
    const t = seg.tile;
    t.dataset.segmentId = seg.id;
    t.dataset.segmentName = seg.name;
    t.dataset.size = seg.size;
    t.querySelector(".name").textContent = seg.name;
    const badge = t.querySelector(".badge");
    badge.textContent = seg.status;
    badge.className = "badge " + seg.status;
    t.querySelector(".size").textContent = seg.size.toLocaleString();
    t.querySelector(".rule").textContent = seg.ruleText || "";
    const lastError = t.querySelector(".lasterror");
    lastError.hidden = !seg.lastError;
    lastError.textContent = seg.lastError ? "Last error: " + seg.lastError : "";
    t.querySelector(".recompute").hidden = !state.adminKey;
    sparkline(t.querySelector("svg"), seg.history || []);
    renderFreshness();
  }

  // renderFreshness says how current each tile is: REALTIME segments move
  // within seconds of their data (with the lag of changes not yet in the
  // members, read every 5 s and shortly after live runs), SCHEDULED ones when they
  // are recomputed.
  function renderFreshness() {
    for (const seg of state.segments.values()) {
      const fresh = seg.tile.querySelector(".fresh");
      const f = seg.freshness || { mode: "SCHEDULED" };
      const computed = seg.lastComputedAt ? "computed " + ago(new Date(seg.lastComputedAt)) : "never computed";
      if (f.mode === "REALTIME") {
        const lag = Math.round(f.lagSeconds || 0);
        fresh.textContent = "REALTIME · " + (lag < 1 ? "up to date" : "lag " + lag + "s");
        fresh.title = "Moves within seconds of its data; last full recompute: " + computed;
      } else {
        fresh.textContent = "SCHEDULED · " + computed;
        fresh.title = f.reason || "";
      }
      fresh.dataset.mode = f.mode;
    }
  }

  function ago(at) {
    const s = Math.max(0, Math.round((Date.now() - at.getTime()) / 1000));
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }

  async function recompute(seg) {
    const button = seg.tile.querySelector(".recompute");
    button.disabled = true;
    try {
      const data = await query(state.adminKey, RECOMPUTE, { id: seg.id });
      const runID = data.recomputeSegment.id;
      seg.tile.dataset.pendingRun = runID;
      state.requestedRuns.add(runID);
      // The run may have committed, and reached the page, before this
      // answer did: list it now.
      const early = state.quietRuns.get(runID);
      if (early) {
        state.quietRuns.delete(runID);
        addFeedEntry(early);
      }
      button.textContent = "Queued";
    } catch (err) {
      showError(err);
    } finally {
      setTimeout(() => { button.disabled = false; button.textContent = "Recompute"; }, 1500);
    }
  }

  // exportMembers downloads the segment's current members as CSV. The
  // export wants the key in an Authorization header, which a plain link
  // cannot send (and a key in a URL would end up in logs and history), so
  // the page fetches the file itself and hands the browser a blob of it
  // to save under the name the server gives.
  async function exportMembers(seg) {
    const button = seg.tile.querySelector(".export");
    button.disabled = true;
    button.textContent = "Exporting…";
    try {
      const res = await fetch("/v1/segments/" + encodeURIComponent(seg.id) + "/members.csv", {
        headers: { "Authorization": "Bearer " + state.readKey },
      });
      if (!res.ok) {
        let message = "HTTP " + res.status;
        try { message = (await res.json()).error.message; } catch (e) { /* not a JSON error */ }
        throw new Error("The export of " + seg.name + " was refused: " + message);
      }
      // A response cut short by the server rejects here: no partial file.
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: downloadName(res.headers.get("Content-Disposition"), seg.name + "-members.csv") });
      document.body.appendChild(link);
      link.click();
      link.remove();
      // The download reads the blob after click returns.
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      seg.tile.dataset.exportedBytes = blob.size;
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
      button.textContent = "Export CSV";
    }
  }

  // downloadName reads the file name of a Content-Disposition header:
  // RFC 6266's UTF-8 filename* first, else the ASCII filename.
  function downloadName(header, fallback) {
    const ext = /filename\*=UTF-8''([^;]+)/i.exec(header || "");
    if (ext) {
      try { return decodeURIComponent(ext[1]); } catch (e) { /* malformed: try the plain name */ }
    }
    const plain = /filename="([^"]*)"/i.exec(header || "");
    return plain ? plain[1] : fallback;
  }

  $("recompute-all").addEventListener("click", async () => {
    try { await query(state.adminKey, RECOMPUTE_ALL); } catch (err) { showError(err); }
  });

  // onChange applies one committed run: the tile's size, freshness and
  // sparkline, and an entry at the top of the live feed.
  function onChange(change) {
    const seg = state.segments.get(change.segment.id);
    if (seg) {
      seg.size = change.size;
      seg.status = "READY";
      seg.lastError = null;
      if (change.run.trigger !== "INGEST") seg.lastComputedAt = change.committedAt;
      seg.history = (seg.history || []).concat([{ at: change.committedAt, size: change.size, seq: change.seq }]);
      renderTile(seg);
      seg.tile.classList.add("flash");
      setTimeout(() => seg.tile.classList.remove("flash"), 800);
      freshnessSoon();
    }
    addFeedEntry(change);
  }

  // addFeedEntry lists a run that moved someone, or one this page asked
  // for; runs that changed nothing are only counted.
  function addFeedEntry(c) {
    if (c.enteredCount + c.exitedCount === 0 && !state.requestedRuns.delete(c.run.id)) {
      state.quietRuns.set(c.run.id, c);
      if (state.quietRuns.size > 50) state.quietRuns.delete(state.quietRuns.keys().next().value);
      state.unchanged++;
      $("feed-empty").textContent = state.unchanged + " run(s) changed nobody since the page opened.";
      $("feed-empty").hidden = false;
      return;
    }
    const li = el("li", { "data-run-id": c.run.id, "data-segment-id": c.segment.id });
    li.appendChild(el("span", { class: "when" }, new Date(c.committedAt).toLocaleTimeString()));
    li.appendChild(el("strong", {}, c.segment.name));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", { class: "in" }, "+" + c.enteredCount));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", { class: "out" }, "−" + c.exitedCount));
    li.appendChild(document.createTextNode(" → " + c.size + " (run " + c.seq + ", " + c.run.trigger.toLowerCase() + ")"));
    const names = (list, n) => list.slice(0, n).map((u) => u.externalId || "anonymous").join(", ") + (list.length > n ? ", …" : "");
    const who = [];
    if (c.entered.length) who.push("entered: " + names(c.entered, 5));
    if (c.exited.length) who.push("left: " + names(c.exited, 5));
    if (who.length) li.appendChild(el("span", { class: "users" }, who.join(" · ")));
    const feed = $("feed");
    feed.prepend(li);
    while (feed.children.length > 100) feed.lastChild.remove();
  }

  async function loadWebhooks() {
    try {
      const data = await query(state.readKey, WEBHOOKS);
      window.PulseWebhooks.render($("webhooks"), data.webhookEndpoints.edges.map((e) => e.node), ago);
    } catch (err) {
      $("webhooks").textContent = "Webhook health is unavailable: " + err.message;
    }
  }

  async function loadCharts() {
    const segments = [...state.segments.values()];
    const ids = segments.map((s) => s.id).slice(0, 20);
    if (ids.length >= 2) {
      try {
        const data = await query(state.readKey, OVERLAP, { ids });
        overlapMatrix($("overlap"), segments.slice(0, 20), data.segmentOverlap);
      } catch (err) {
        $("overlap").textContent = "Segment overlap is unavailable: " + err.message;
      }
    } else {
      $("overlap").textContent = "Needs at least two segments.";
    }
    if (ids.length === 0) return;
    const to = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 29 * 86400000).toISOString().slice(0, 10);
    try {
      const data = await query(state.readKey, FEEDBACK, { ids, from, to });
      const fb = data.feedbackBySegment;
      const rows = fb.segments.map((s) => ({ name: s.segment.name, nps: s.nps, npsRespondents: s.npsRespondents, bugs: s.bugReportsPer100ActiveUsers }));
      rows.push({ name: "All users", nps: fb.allUsers.nps, npsRespondents: fb.allUsers.npsRespondents, bugs: fb.allUsers.bugReportsPer100ActiveUsers });
      feedbackBars($("feedback"), rows);
    } catch (err) {
      $("feedback").textContent = "Feedback by segment is unavailable: " + err.message;
    }
  }

  start();
})();
