// An app's recordings (every filter of the list endpoint, sort, exact paging with the total)
// and a recording's page (every field, the player, the files, the actions, live status).

import { call } from "./api.js";
import { current, every, failed, go, say } from "./app.js";
import {
  LIVE,
  STATUSES,
  badge,
  duration,
  expiry,
  fromLocalInput,
  h,
  number,
  size,
  time,
  toLocalInput,
} from "./dom.js";

const POLL_MS = 1000;
const PER_PAGE = ["10", "20", "50", "100"];
// Meetings seen in lists, by recording ID: get-one does not carry its meeting.
const meetingOf = new Map();
// The last list shown (its filters and page), for the way back from a recording.
let lastList = "";

export function recordingsHash(appId, state) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) if (value) q.set(key, value);
  const qs = q.toString();
  return `#/apps/${encodeURIComponent(appId)}/recordings${qs ? `?${qs}` : ""}`;
}

function readState(params) {
  return {
    status: params.get("status") || "",
    search: params.get("search") || "",
    meeting: params.get("meeting") || "",
    start: params.get("start") || "",
    end: params.get("end") || "",
    expired: params.get("expired") || "",
    sort: params.get("sort") || "",
    per_page: params.get("per_page") || "",
    page: params.get("page") || "",
  };
}

export function listQuery(state) {
  return {
    status: state.status ? state.status.split(",") : undefined,
    search: state.search,
    meeting_id: state.meeting,
    start_time: state.start,
    end_time: state.end,
    expired: state.expired,
    sort_order: state.sort || "DESC",
    per_page: state.per_page || 20,
    page_no: state.page || 1,
  };
}

function select(id, name, options, value) {
  const el = h("select", { id, name });
  for (const [v, label] of options) {
    el.append(h("option", { value: v, selected: v === value }, label));
  }
  return el;
}

function filterForm(appId, state) {
  const chosen = new Set(state.status ? state.status.split(",") : []);
  const statusBoxes = STATUSES.map((s) =>
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name: "status", value: s, checked: chosen.has(s) }),
      ` ${s}`,
    ),
  );
  const input = (id, name, label, attrs = {}, value = "") => {
    const el = h("input", { id, name, ...attrs });
    el.value = value;
    return h("div", { class: "field" }, h("label", { for: id }, label), el);
  };
  const when = { type: "datetime-local", step: 1 };
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter recordings" },
    h("fieldset", { class: "statuses" }, h("legend", {}, "Status"), statusBoxes),
    input("f-search", "search", "Meeting title or ID", { type: "search" }, state.search),
    input("f-meeting", "meeting", "Meeting ID", { spellcheck: "false" }, state.meeting),
    input("f-start", "start", "From (UTC)", when, toLocalInput(state.start)),
    input("f-end", "end", "To (UTC)", when, toLocalInput(state.end)),
    h(
      "div",
      { class: "field" },
      h("label", { for: "f-expired" }, "Download link"),
      select(
        "f-expired",
        "expired",
        [
          ["", "Any"],
          ["true", "Expired"],
          ["false", "Not expired"],
        ],
        state.expired,
      ),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "f-sort" }, "Order"),
      select(
        "f-sort",
        "sort",
        [
          ["", "Newest first"],
          ["ASC", "Oldest first"],
        ],
        state.sort,
      ),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "f-per-page" }, "Per page"),
      select(
        "f-per-page",
        "per_page",
        PER_PAGE.map((n) => [n === "20" ? "" : n, n]),
        state.per_page,
      ),
    ),
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", id: "f-apply" }, "Apply"),
      h("button", { type: "reset", class: "secondary", id: "f-clear" }, "Clear"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    go(
      recordingsHash(appId, {
        status: data.getAll("status").join(","),
        search: String(data.get("search") || "").trim(),
        meeting: String(data.get("meeting") || "").trim(),
        start: fromLocalInput(String(data.get("start") || "")),
        end: fromLocalInput(String(data.get("end") || "")),
        expired: String(data.get("expired") || ""),
        sort: String(data.get("sort") || ""),
        per_page: String(data.get("per_page") || ""),
      }),
    );
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    go(recordingsHash(appId, {}));
  });
  return form;
}

const COLUMNS = ["ID", "Meeting", "Status", "Invoked", "Duration", "Size"];

function row(appId, r) {
  if (r.meeting) meetingOf.set(r.id, r.meeting);
  const title = r.meeting && r.meeting.title ? r.meeting.title : "(untitled)";
  const cells = [
    [
      "mono",
      h("a", { href: `#/apps/${encodeURIComponent(appId)}/recordings/${r.id}` }, r.id),
    ],
    ["title", title],
    ["status", badge(r.status)],
    ["", time(r.invoked_time)],
    ["num", duration(r.recording_duration)],
    ["num", size(r.file_size)],
  ];
  return h(
    "tr",
    { dataset: { id: r.id } },
    cells.map(([cls, content], i) =>
      h("td", { class: cls || null, dataset: { label: COLUMNS[i] } }, content),
    ),
  );
}

export function recordingsTable(appId, items, caption) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "recordings" },
      h("caption", { class: "sr-only" }, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          COLUMNS.map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h(
        "tbody",
        {},
        items.length
          ? items.map((r) => row(appId, r))
          : h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No recordings match.")),
      ),
    ),
  );
}

function pager(appId, state, pageNo, pages) {
  const link = (n, label, rel) =>
    h("a", { href: recordingsHash(appId, { ...state, page: n > 1 ? String(n) : "" }), rel }, label);
  const jump = h("input", {
    id: "p-page",
    type: "number",
    min: 1,
    max: pages,
    inputmode: "numeric",
    class: "page-input",
  });
  jump.value = String(pageNo);
  const form = h(
    "form",
    { class: "jump" },
    h("label", { for: "p-page" }, "Page"),
    jump,
    h("span", {}, ` of ${number(pages)} `),
    h("button", { type: "submit", class: "secondary" }, "Go"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const n = Math.min(pages, Math.max(1, Math.floor(Number(jump.value) || 1)));
    go(recordingsHash(appId, { ...state, page: n > 1 ? String(n) : "" }));
  });
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    pageNo > 1 ? link(1, "First") : h("span", { class: "off" }, "First"),
    pageNo > 1 ? link(pageNo - 1, "Previous", "prev") : h("span", { class: "off" }, "Previous"),
    form,
    pageNo < pages ? link(pageNo + 1, "Next", "next") : h("span", { class: "off" }, "Next"),
    pageNo < pages ? link(pages, "Last") : h("span", { class: "off" }, "Last"),
  );
}

export async function recordingsView(appId, params, mine) {
  lastList = location.hash;
  const state = readState(params);
  const query = listQuery(state);
  const body = await call("GET", `${encodeURIComponent(appId)}/recordings`, { query });
  const p = body.paging;
  const perPage = Number(query.per_page);
  const pageNo = Math.max(1, Number(query.page_no) || 1);
  const pages = Math.max(1, Math.ceil(p.total_count / perPage));
  const summary = h(
    "p",
    { class: "summary", id: "summary", "aria-live": "polite" },
    p.total_count
      ? `Showing ${number(p.start_offset)}–${number(p.end_offset)} of `
      : "No recordings match: ",
    h("strong", { id: "total", dataset: { total: p.total_count } }, number(p.total_count)),
    p.total_count === 1 ? " recording" : " recordings",
  );
  const table = recordingsTable(appId, body.data, "Recordings");
  const view = h(
    "section",
    {},
    h("h1", {}, "Recordings"),
    filterForm(appId, state),
    summary,
    table,
    pages > 1 ? pager(appId, state, pageNo, pages) : null,
  );
  // Rows still in progress follow their status without a reload.
  if (body.data.some((r) => LIVE.has(r.status))) {
    every(POLL_MS * 3, async () => {
      try {
        const fresh = await call("GET", `${encodeURIComponent(appId)}/recordings`, { query });
        if (!current(mine)) return;
        const tbody = table.querySelector("tbody");
        const byId = new Map(fresh.data.map((r) => [r.id, r]));
        for (const tr of tbody.querySelectorAll("tr[data-id]")) {
          const r = byId.get(tr.dataset.id);
          if (r) tr.replaceWith(row(appId, r));
        }
      } catch {
        // the next round tries again
      }
    });
  }
  return view;
}

// -- one recording ------------------------------------------------------------------------------

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

function dl(pairs) {
  return h(
    "dl",
    { class: "fields" },
    pairs.map(([k, v, id]) => [h("dt", {}, k), h("dd", { id }, v ?? "—")]),
  );
}

function fileLink(url, name, bytes, expiryIso) {
  return h(
    "p",
    { class: "file" },
    h("a", { href: url, download: name || true }, `Download ${name || "file"}`),
    bytes == null ? null : ` (${size(bytes)})`,
    expiryIso
      ? h(
          "span",
          { class: "hint" },
          " — link valid until ",
          time(expiryIso),
          `, ${expiry(expiryIso)}`,
        )
      : null,
  );
}

function history(r) {
  const steps = [["INVOKED", r.invoked_time]];
  if (r.started_time) steps.push(["RECORDING", r.started_time]);
  if (r.stopped_time) {
    steps.push([r.status === "ERRORED" ? "stopped" : "UPLOADING", r.stopped_time]);
  }
  if (r.status !== "INVOKED" && r.status !== "RECORDING") steps.push([r.status, null]);
  return h(
    "ol",
    { class: "history" },
    steps.map(([s, at]) => h("li", {}, badge(s), " ", at ? time(at) : "")),
  );
}

function actions(appId, r, update) {
  const act = async (action, button) => {
    button.disabled = true;
    try {
      const body = await call("PUT", `${encodeURIComponent(appId)}/recordings/${r.id}`, {
        body: { action },
      });
      say(`${action[0].toUpperCase()}${action.slice(1)} requested.`, "info");
      update(body.data);
    } catch (err) {
      button.disabled = false;
      failed(err);
    }
  };
  const can = {
    pause: r.status === "RECORDING",
    resume: r.status === "PAUSED",
    stop: ["INVOKED", "RECORDING", "PAUSED"].includes(r.status),
  };
  if (!can.pause && !can.resume && !can.stop) return null;
  return h(
    "div",
    { class: "actions", role: "group", "aria-label": "Actions" },
    Object.entries(can)
      .filter(([, ok]) => ok)
      .map(([action]) => {
        const b = h(
          "button",
          { type: "button", id: `action-${action}`, class: action === "stop" ? "danger" : "" },
          action[0].toUpperCase() + action.slice(1),
        );
        b.addEventListener("click", () => act(action, b));
        return b;
      }),
  );
}

// Why a recording waits for a recorder (reckit's extension), shown while it is INVOKED.
async function showWaiting(path, r, box) {
  let reason = null;
  if (r.status === "INVOKED") {
    try {
      const w = (await call("GET", `${path}/waiting`)).data;
      reason = w.waiting ? w.reason : null;
    } catch {
      reason = null; // the page's own poll reports what went wrong
    }
  }
  box.hidden = !reason;
  const text = reason ? `Waiting for a recorder: ${reason}` : "";
  if (box.textContent !== text) box.textContent = text;
}

function recordingBody(appId, r, meeting, update, waitingBox) {
  const a = encodeURIComponent(appId);
  const meetingId = meeting ? meeting.id : (r.output_file_name || "").match(UUID)?.[0];
  const parts = [];
  parts.push(
    h(
      "p",
      { class: "status-line" },
      "Status: ",
      h(
        "span",
        { id: "rec-status", "aria-live": "polite", dataset: { status: r.status } },
        badge(r.status),
      ),
      LIVE.has(r.status) ? h("span", { class: "hint" }, " (updates live)") : null,
    ),
  );
  parts.push(waitingBox);
  if (r.error_reason) {
    parts.push(
      h(
        "div",
        { class: "msg error", id: "error-reason" },
        h("strong", {}, "Why it failed: "),
        r.error_reason,
      ),
    );
  }
  parts.push(actions(appId, r, update));
  if (r.download_url) {
    parts.push(
      h(
        "section",
        { class: "media", "aria-labelledby": "player-title" },
        h("h2", { id: "player-title" }, "Recording"),
        h("video", {
          id: "player",
          controls: true,
          preload: "metadata",
          src: r.download_url,
          playsinline: true,
        }),
        fileLink(r.download_url, r.output_file_name, r.file_size, r.download_url_expiry),
      ),
    );
  } else if (r.status === "UPLOADED") {
    parts.push(
      h(
        "p",
        { class: "hint" },
        "This recording's file is not in reckit's bucket (delivered to storage only, or expired).",
      ),
    );
  }
  if (r.audio_download_url) {
    parts.push(
      h(
        "section",
        { class: "media" },
        h("h2", {}, "Audio"),
        h("audio", { controls: true, preload: "none", src: r.audio_download_url }),
        fileLink(r.audio_download_url, "audio file", null, r.download_url_expiry),
      ),
    );
  }
  if (r.tracks && r.tracks.length) {
    parts.push(
      h(
        "section",
        {},
        h("h2", {}, "Track files"),
        h(
          "ul",
          { class: "tracks" },
          r.tracks.map((t) =>
            h(
              "li",
              {},
              h(
                "span",
                {},
                `${t.user_id || t.participant_id || "participant"} — ${t.output_file_name} `,
              ),
              `(${duration(t.recording_duration)}, ${size(t.file_size)}) `,
              t.download_url
                ? h("a", { href: t.download_url, download: t.output_file_name }, "Download")
                : "not yet available",
            ),
          ),
        ),
      ),
    );
  }
  parts.push(h("h2", {}, "Status history"), history(r));
  parts.push(
    h("h2", {}, "Details"),
    dl([
      ["ID", h("span", { class: "mono" }, r.id)],
      [
        "Meeting",
        meetingId
          ? h(
              "a",
              { href: `#/apps/${a}/meetings/${meetingId}` },
              meeting && meeting.title ? meeting.title : meetingId,
            )
          : "—",
      ],
      ["Status", r.status],
      ["Invoked", time(r.invoked_time)],
      ["Started", time(r.started_time)],
      ["Stopped", time(r.stopped_time)],
      ["Duration", duration(r.recording_duration), "rec-duration"],
      ["Size", r.file_size == null ? "—" : `${size(r.file_size)} (${number(r.file_size)} bytes)`],
      ["File name", r.output_file_name],
      ["Session", r.session_id],
      [
        "Download link expiry",
        r.download_url_expiry
          ? [time(r.download_url_expiry), ` (${expiry(r.download_url_expiry)})`]
          : "—",
      ],
      ["Start reason", r.start_reason ? json(r.start_reason) : "—"],
      ["Stop reason", r.stop_reason ? json(r.stop_reason) : "—"],
      ["Storage destination", r.storage_config ? json(r.storage_config) : "reckit's bucket only"],
    ]),
  );
  const known = new Set([
    "id", "status", "invoked_time", "started_time", "stopped_time", "recording_duration",
    "file_size", "output_file_name", "session_id", "download_url_expiry", "start_reason",
    "stop_reason", "storage_config", "download_url", "audio_download_url", "tracks",
    "error_reason", "meeting",
  ]);
  const rest = Object.entries(r).filter(([k]) => !known.has(k));
  if (rest.length) {
    const shown = rest.map(([k, v]) => [k, typeof v === "object" ? json(v) : String(v)]);
    parts.push(h("h3", {}, "Other fields"), dl(shown));
  }
  return parts;
}

export async function recordingView(appId, recordingId, mine) {
  const path = `${encodeURIComponent(appId)}/recordings/${encodeURIComponent(recordingId)}`;
  const body = await call("GET", path);
  let r = body.data;
  let meeting = meetingOf.get(r.id) || null;
  const meetingId = (r.output_file_name || "").match(UUID)?.[0];
  if (!meeting && meetingId) {
    try {
      meeting = (await call("GET", `${encodeURIComponent(appId)}/meetings/${meetingId}`)).data;
    } catch {
      meeting = null;
    }
  }
  const content = h("div", { id: "recording" });
  // Kept across renders of the content; its text changes every second (the wait), so it is
  // not a live region: the status above it announces the claim.
  const waitingBox = h("p", { id: "rec-waiting", class: "msg info", hidden: true });
  const update = (fresh) => {
    const changed = JSON.stringify(fresh) !== JSON.stringify(r);
    r = fresh;
    if (changed || !content.childElementCount) {
      const body = recordingBody(appId, r, meeting, update, waitingBox);
      content.replaceChildren(...body.filter(Boolean));
    }
  };
  update(r);
  await showWaiting(path, r, waitingBox);
  every(POLL_MS, async () => {
    if (!LIVE.has(r.status)) return;
    try {
      const fresh = (await call("GET", path)).data;
      if (!current(mine)) return;
      update(fresh);
      await showWaiting(path, r, waitingBox);
    } catch (err) {
      if (current(mine)) failed(err);
    }
  });
  const listHash = lastList.startsWith(`#/apps/${encodeURIComponent(appId)}/recordings`)
    ? lastList
    : `#/apps/${encodeURIComponent(appId)}/recordings`;
  const back = h("a", { href: listHash, class: "back" }, "← Recordings");
  const heading = h("h1", {}, "Recording ", h("span", { class: "mono" }, r.id));
  return h("section", {}, back, heading, content);
}
