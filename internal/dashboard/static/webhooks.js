// The health of the project's webhook endpoints: one row each with its
// state, since when it fails (or why it is disabled) and its last delivery.
"use strict";

window.PulseWebhooks = (() => {
  const { el } = window.PulseCharts;

  // lastDelivery says when the endpoint was last tried and how it answered.
  function lastDelivery(attempt, ago) {
    if (!attempt) return "never";
    const answer = attempt.httpStatus ? "HTTP " + attempt.httpStatus : attempt.error || "no answer";
    return ago(new Date(attempt.at)) + " · " + answer;
  }

  // detail is what a state needs said: why it is disabled, since when it fails.
  function detail(endpoint, ago) {
    if (endpoint.state === "DISABLED") return endpoint.disabledReason || "disabled";
    if (endpoint.state === "FAILING") return "failing since " + ago(new Date(endpoint.failingSince));
    return "";
  }

  // render replaces container's content with a table of endpoints; ago
  // formats a past instant.
  function render(container, endpoints, ago) {
    container.replaceChildren();
    if (endpoints.length === 0) {
      container.appendChild(el("p", { class: "muted small" },
        "No webhook endpoints: an ADMIN key creates one with createWebhookEndpoint (docs/WEBHOOKS.md)."));
      return;
    }
    const table = el("table", { class: "webhooks" });
    const head = el("tr");
    for (const h of ["Endpoint", "State", "", "Last delivery"]) head.appendChild(el("th", {}, h));
    table.appendChild(head);
    for (const e of endpoints) {
      const row = el("tr", { "data-endpoint-id": e.id, "data-state": e.state });
      const target = el("td", { class: "url" }, e.url);
      if (e.description) target.appendChild(el("span", { class: "muted small" }, " " + e.description));
      row.appendChild(target);
      const badge = el("td");
      badge.appendChild(el("span", { class: "badge " + e.state }, e.state));
      row.appendChild(badge);
      row.appendChild(el("td", { class: "detail" }, detail(e, ago)));
      row.appendChild(el("td", { class: "last" }, lastDelivery(e.lastAttempt, ago)));
      table.appendChild(row);
    }
    container.appendChild(table);
  }

  return { render };
})();
