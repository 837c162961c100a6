// Pulse's GraphiQL: asks for an API key as the dashboard does (and shares
// the tab's sessionStorage entry with it), then runs GraphiQL with the key
// as "Authorization: Bearer" over HTTP and in connection_init for
// subscriptions over graphql-transport-ws.
"use strict";

(() => {
  const KEY = "pulse.key"; // the dashboard's entry: one key per tab
  const endpoint = document.body.dataset.endpoint;
  const $ = (id) => document.getElementById(id);
  let root = null;

  const DEFAULT_QUERY = `# Pulse's GraphQL API, with this tab's key sent as Authorization: Bearer.
# Press the run button (or Ctrl-Enter). Subscriptions run over WebSocket.
query Viewer {
  viewer {
    role
    project { id name }
  }
}
`;

  function showLogin(message) {
    if (root) { root.unmount(); root = null; }
    $("graphiql").hidden = true;
    $("sign-out").hidden = true;
    $("who").textContent = "";
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("key").focus();
  }

  // whoAmI asks the server about key: it answers the viewer, or throws
  // when the key is refused (401 or UNAUTHENTICATED).
  async function whoAmI(key) {
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "Authorization": "Bearer " + key },
      body: JSON.stringify({ query: "{ viewer { role project { name } } }" }),
    });
    let body = null;
    try { body = await res.json(); } catch (e) { /* not JSON: judged by the status */ }
    const err = body && body.errors && body.errors[0];
    if (res.status === 401 || (err && err.extensions && err.extensions.code === "UNAUTHENTICATED")) {
      throw new Error(err ? err.message : "HTTP " + res.status);
    }
    if (!res.ok && !body) throw new Error("HTTP " + res.status);
    return body && body.data && body.data.viewer;
  }

  async function open(key) {
    let viewer;
    try {
      viewer = await whoAmI(key);
    } catch (err) {
      sessionStorage.removeItem(KEY);
      return showLogin("That key was refused: " + err.message);
    }
    sessionStorage.setItem(KEY, key);
    $("login").hidden = true;
    $("graphiql").hidden = false;
    $("sign-out").hidden = false;
    $("who").textContent = viewer ? viewer.project.name + " · " + viewer.role : "";

    const authorization = "Bearer " + key;
    const fetcher = GraphiQL.createFetcher({
      url: location.origin + endpoint,
      subscriptionUrl: (location.protocol === "https:" ? "wss://" : "ws://") + location.host + endpoint,
      headers: { Authorization: authorization },
      wsConnectionParams: { Authorization: authorization },
      // A key revoked while the page is open: ask for another.
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        if (res.status === 401) setTimeout(() => {
          sessionStorage.removeItem(KEY);
          showLogin("The server refused the key (401): it may have been revoked.");
        }, 0);
        return res;
      },
    });
    root = ReactDOM.createRoot($("graphiql"));
    root.render(React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: DEFAULT_QUERY,
      // The key is added by the fetcher; headers typed in the editor stay
      // in this page and are never written to localStorage.
      shouldPersistHeaders: false,
      isHeadersEditorEnabled: true,
      inputValueDeprecation: true,
    }));
  }

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key").value.trim();
    if (key) open(key);
  });

  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    $("key").value = "";
    showLogin();
  });

  const saved = sessionStorage.getItem(KEY);
  if (saved) open(saved); else showLogin();
})();
