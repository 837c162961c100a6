// Pulse's GraphQL client for the dashboard: queries and mutations over
// HTTP, subscriptions over graphql-transport-ws (the protocol of the
// graphql-ws library, written out here: it is a handful of messages).
"use strict";

window.PulseGraphQL = (() => {
  // query POSTs a GraphQL operation with key and returns its data, or throws
  // an Error carrying the first GraphQL error (and its extensions.code).
  async function query(key, text, variables) {
    const res = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + key },
      body: JSON.stringify({ query: text, variables: variables || {} }),
    });
    let body;
    try { body = await res.json(); } catch (e) { throw new Error("HTTP " + res.status); }
    if (body.errors && body.errors.length) {
      const err = new Error(body.errors[0].message);
      err.code = body.errors[0].extensions && body.errors[0].extensions.code;
      err.status = res.status;
      throw err;
    }
    return body.data;
  }

  // subscribe keeps one subscription alive over graphql-transport-ws,
  // reconnecting with backoff; onState sees "connecting", "live" and
  // "closed". It returns a function that ends it.
  function subscribe(key, text, { onData, onError, onState }) {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql";
    let socket = null, stopped = false, retries = 0, timer = null;

    function connect() {
      onState("connecting");
      socket = new WebSocket(url, "graphql-transport-ws");
      socket.onopen = () => {
        socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: "Bearer " + key } }));
      };
      socket.onmessage = (event) => {
        const msg = JSON.parse(event.data);
        switch (msg.type) {
          case "connection_ack":
            retries = 0;
            socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: text } }));
            onState("live");
            break;
          case "next":
            if (msg.payload.errors) onError(new Error(msg.payload.errors[0].message));
            if (msg.payload.data) onData(msg.payload.data);
            break;
          case "error":
            onError(new Error(msg.payload && msg.payload[0] ? msg.payload[0].message : "subscription error"));
            break;
          case "ping":
            socket.send(JSON.stringify({ type: "pong" }));
            break;
          case "complete": // the server ended it: subscribe again
            socket.close(1000, "completed");
            break;
        }
      };
      socket.onclose = (event) => {
        onState("closed");
        if (stopped) return;
        if (event.code === 4403) { // graphql-transport-ws: Forbidden
          onError(new Error("the live feed refused the key: " + (event.reason || "forbidden")));
          return;
        }
        const delay = Math.min(15000, 500 * 2 ** retries++);
        timer = setTimeout(connect, delay);
      };
    }

    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close(1000, "bye");
    };
  }

  return { query, subscribe };
})();
