// An app's meetings (search, status, paging), a meeting's page: its recordings, start one.

import { call } from "./api.js";
import { failed, go, sayNext } from "./app.js";
import { badge, h, number, time } from "./dom.js";
import { recordingsHash, recordingsTable } from "./recordings.js";

const PER_PAGE = 20;

function meetingsHash(appId, state) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) if (value) q.set(key, value);
  const qs = q.toString();
  return `#/apps/${encodeURIComponent(appId)}/meetings${qs ? `?${qs}` : ""}`;
}

export async function meetingsView(appId, params) {
  const state = {
    search: params.get("search") || "",
    status: params.get("status") || "",
    page: params.get("page") || "",
  };
  const pageNo = Math.max(1, Number(state.page) || 1);
  const body = await call("GET", `${encodeURIComponent(appId)}/meetings`, {
    query: { search: state.search, status: state.status, page_no: pageNo, per_page: PER_PAGE },
  });
  const total = body.paging.total_count;
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  const search = h("input", { id: "m-search", name: "search", type: "search" });
  search.value = state.search;
  const status = h("select", { id: "m-status", name: "status" });
  for (const [v, label] of [
    ["", "Any"],
    ["ACTIVE", "Active"],
    ["INACTIVE", "Inactive"],
  ]) {
    status.append(h("option", { value: v, selected: v === state.status }, label));
  }
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Find meetings" },
    h("div", { class: "field" }, h("label", { for: "m-search" }, "Title or ID"), search),
    h("div", { class: "field" }, h("label", { for: "m-status" }, "Status"), status),
    h("div", { class: "buttons" }, h("button", { type: "submit" }, "Search")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(meetingsHash(appId, { search: search.value.trim(), status: status.value }));
  });
  const a = encodeURIComponent(appId);
  const rows = body.data.map((m) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/apps/${a}/meetings/${m.id}` }, m.title || "(untitled)")),
      h("td", { class: "mono" }, m.id),
      h("td", {}, badge(m.status)),
      h("td", {}, time(m.created_at)),
    ),
  );
  const link = (n, label) =>
    h("a", { href: meetingsHash(appId, { ...state, page: n > 1 ? String(n) : "" }) }, label);
  return h(
    "section",
    {},
    h("h1", {}, "Meetings"),
    form,
    h("p", { class: "summary", "aria-live": "polite" }, `${number(total)} meetings`),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("caption", { class: "sr-only" }, "Meetings"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Title", "ID", "Status", "Created"].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h(
          "tbody",
          {},
          rows.length ? rows : h("tr", {}, h("td", { colspan: 4 }, "No meetings match.")),
        ),
      ),
    ),
    pages > 1
      ? h(
          "nav",
          { class: "pager", "aria-label": "Pages" },
          pageNo > 1 ? link(pageNo - 1, "Previous") : null,
          h("span", {}, ` Page ${number(pageNo)} of ${number(pages)} `),
          pageNo < pages ? link(pageNo + 1, "Next") : null,
        )
      : null,
  );
}

export async function meetingView(appId, meetingId) {
  const a = encodeURIComponent(appId);
  const [m, recs] = await Promise.all([
    call("GET", `${a}/meetings/${encodeURIComponent(meetingId)}`),
    call("GET", `${a}/recordings`, { query: { meeting_id: meetingId, per_page: 20 } }),
  ]);
  const meeting = m.data;
  const start = h("button", { type: "button", id: "start-recording" }, "Start a recording");
  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      const made = await call("POST", `${a}/recordings`, { body: { meeting_id: meeting.id } });
      sayNext("Recording started.");
      go(`#/apps/${a}/recordings/${made.data.id}`);
    } catch (err) {
      start.disabled = false;
      failed(err);
    }
  });
  return h(
    "section",
    {},
    h("a", { href: `#/apps/${a}/meetings`, class: "back" }, "← Meetings"),
    h("h1", {}, meeting.title || "(untitled meeting)"),
    h(
      "dl",
      { class: "fields" },
      [
        ["ID", h("span", { class: "mono" }, meeting.id)],
        ["Status", badge(meeting.status)],
        ["Created", time(meeting.created_at)],
        ["Updated", time(meeting.updated_at)],
        ["Record on start", meeting.record_on_start ? "yes" : "no"],
      ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    ),
    meeting.status === "ACTIVE" ? h("div", { class: "actions" }, start) : null,
    h("h2", {}, `Recordings (${number(recs.paging.total_count)})`),
    recordingsTable(appId, recs.data, "Recordings of this meeting"),
    recs.paging.total_count > recs.data.length
      ? h("p", {}, h("a", { href: recordingsHash(appId, { meeting: meeting.id }) }, "All of them"))
      : null,
  );
}
