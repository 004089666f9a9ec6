// The nodes sharing the store (reckit's extension …/nodes): state, roles, built-in recorder
// slots, the last heartbeat; and how many of the app's recordings wait for a recorder, and why.
// Refreshed every few seconds while shown.

import { call } from "./api.js";
import { current, every, failed } from "./app.js";
import { h, number, time } from "./dom.js";

const POLL_MS = 5000;

function slots(n) {
  return n.recorder_slots === null ? "—" : `${n.recorder_slots_in_use} of ${n.recorder_slots}`;
}

function nodeRows(nodes) {
  if (!nodes.length) return h("tr", {}, h("td", { colspan: 5 }, "No node has registered."));
  return nodes.map((n) =>
    h(
      "tr",
      { dataset: { node: n.id } },
      h("td", { class: "mono", "data-label": "Node" }, n.id),
      h("td", { "data-label": "State" }, h("span", { class: `node-${n.state}` }, n.state)),
      h("td", { "data-label": "Roles" }, n.roles.join(", ")),
      h("td", { class: "num", "data-label": "Recorder slots in use" }, slots(n)),
      h("td", { class: "num", "data-label": "Seconds since heartbeat" }, [
        number(n.seconds_since_heartbeat),
        " ",
        h("span", { class: "hint" }, "(", time(n.heartbeat_at), ")"),
      ]),
    ),
  );
}

function waitingPart(w) {
  if (!w.count) {
    return h("p", { id: "nodes-waiting" }, "None of this app's recordings waits for a recorder.");
  }
  const some =
    w.count === 1
      ? "1 recording of this app waits"
      : `${number(w.count)} recordings of this app wait`;
  return h(
    "div",
    { id: "nodes-waiting" },
    h("p", {}, `${some} for a recorder, the oldest since `, time(w.since), "."),
    h(
      "ul",
      { class: "reasons" },
      w.reasons.map((r) => h("li", {}, `${number(r.count)}: ${r.reason}`)),
    ),
    h(
      "p",
      { class: "hint" },
      `A recording no recorder claims within ${w.claim_timeout_s} s of its start ends ERRORED.`,
    ),
  );
}

export async function nodesView(appId, mine) {
  const path = `${encodeURIComponent(appId)}/nodes`;
  const first = (await call("GET", path)).data;
  const body = h("tbody", {}, nodeRows(first.nodes));
  const waiting = h("div", {}, waitingPart(first.waiting));
  every(POLL_MS, async () => {
    try {
      const fresh = (await call("GET", path)).data;
      if (!current(mine)) return;
      body.replaceChildren(...[nodeRows(fresh.nodes)].flat());
      waiting.replaceChildren(waitingPart(fresh.waiting));
    } catch (err) {
      if (current(mine)) failed(err);
    }
  });
  return h(
    "section",
    {},
    h("h1", {}, "Nodes"),
    h(
      "p",
      { class: "hint" },
      "The reckit nodes sharing the store: a node is gone after 30 s without a heartbeat. " +
        "Recorders of your own (reckit recorder, a media plane) are not listed.",
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "nodes" },
        h("caption", { class: "sr-only" }, "Nodes"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Node", "State", "Roles", "Recorder slots in use", "Seconds since heartbeat"].map(
              (c) => h("th", { scope: "col" }, c),
            ),
          ),
        ),
        body,
      ),
    ),
    h("h2", {}, "Recordings waiting for a recorder"),
    waiting,
  );
}
