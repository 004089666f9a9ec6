// The dashboard: a router over the URL's fragment (#/apps/<app>/recordings?...), views that
// read the public API (api.js) and the sign-in. No data is loaded before a token is given.

import { ApiError, session } from "./api.js";
import { h } from "./dom.js";
import { appsView, signInView } from "./account.js";
import { recordingsView, recordingView } from "./recordings.js";
import { meetingsView, meetingView } from "./meetings.js";
import { webhooksView, webhookView } from "./webhooks.js";
import { nodesView } from "./nodes.js";

const main = document.getElementById("main");
const alertBox = document.getElementById("alert");
const nav = document.getElementById("nav");
let seq = 0;
let timers = [];
let lastPath = null;

export function say(message, kind = "error") {
  alertBox.replaceChildren();
  if (!message) return;
  alertBox.append(h("p", { class: `msg ${kind}` }, message));
}

// A message for the next view (a navigation clears the last one).
let flash = null;
export function sayNext(message, kind = "info") {
  flash = [message, kind];
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// A view's repeating work (live status), stopped when the view changes.
export function every(ms, fn) {
  const mine = seq;
  const id = setInterval(() => {
    if (mine === seq) fn();
  }, ms);
  timers.push(id);
}

export function current(mine) {
  return mine === seq;
}

// Errors of the API as the person should read them; 401 and 403 end the session's view.
export function failed(err) {
  if (!(err instanceof ApiError)) {
    say(`Something went wrong: ${err.message}`);
    return;
  }
  if (err.status === 401) {
    session.clear();
    say(
      "This API token was not accepted: it is wrong, or it has been revoked. " +
        "Sign in with a valid token.",
    );
    main.replaceChildren(signInView({}));
    updateHeader(null);
    return;
  }
  if (err.status === 403) {
    const account = session.account;
    session.clear();
    updateHeader(null);
    say(
      `This API token may not see account ${account}: it belongs to another ` +
        "account. Sign in with that account's ID or another token.",
    );
    main.replaceChildren(signInView({}));
    return;
  }
  if (err.status === 404) {
    say(`Not found: ${err.message}`);
    return;
  }
  say(err.message);
}

function updateHeader(appId) {
  document.getElementById("who").textContent = session.signedIn
    ? `Account ${session.account}`
    : "";
  document.getElementById("signout").hidden = !session.signedIn;
  nav.replaceChildren();
  if (!session.signedIn) return;
  const links = [["Apps", "#/apps"]];
  if (appId) {
    const a = encodeURIComponent(appId);
    links.push(
      ["Recordings", `#/apps/${a}/recordings`],
      ["Meetings", `#/apps/${a}/meetings`],
      ["Webhooks", `#/apps/${a}/webhooks`],
      ["Nodes", `#/apps/${a}/nodes`],
    );
  }
  const here = location.hash.split("?")[0];
  nav.append(
    h(
      "ul",
      {},
      links.map(([label, href]) =>
        h("li", {}, h("a", { href, "aria-current": here === href ? "page" : null }, label)),
      ),
    ),
  );
}

// #token=...&account=...&app=... signs in; the token leaves the URL at once.
function signInFromFragment() {
  const raw = location.hash.slice(1);
  if (!/^(token|account|app)=/.test(raw)) return false;
  const p = new URLSearchParams(raw);
  const token = p.get("token") || "";
  const account = p.get("account") || session.account;
  const appId = p.get("app") || "";
  const target = appId ? `#/apps/${encodeURIComponent(appId)}/recordings` : "#/apps";
  if (token && account) {
    session.set(token, account);
    history.replaceState(null, "", `${location.pathname}${location.search}${target}`);
  } else {
    // No account given and none known: ask for it, the token kept only in the form.
    history.replaceState(null, "", `${location.pathname}${location.search}#/signin`);
    main.replaceChildren(signInView({ token, account, appId }));
    say("Give the account ID of this token to sign in.", "info");
    return true;
  }
  return false;
}

function parse(hash) {
  const [path, query = ""] = hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(query) };
}

export async function render() {
  seq += 1;
  const mine = seq;
  for (const id of timers) clearInterval(id);
  timers = [];
  const started = performance.now();
  main.dataset.ready = "";
  const { parts, params } = parse(location.hash);
  const path = parts.join("/");
  if (flash) {
    say(...flash);
    flash = null;
  } else if (path !== lastPath) say("");
  if (!session.signedIn || parts[0] === "signin") {
    updateHeader(null);
    if (!alertBox.textContent && parts[0] !== "signin" && parts.length) {
      say("Sign in to see this page.", "info");
    }
    main.replaceChildren(signInView({ appId: parts[0] === "apps" ? parts[1] : "" }));
    finish(mine, started, "signin", path);
    return;
  }
  const appId = parts[0] === "apps" ? parts[1] : null;
  updateHeader(appId);
  let view;
  try {
    if (!appId) view = await appsView(params);
    else if (parts[2] === "meetings" && parts[3]) view = await meetingView(appId, parts[3], mine);
    else if (parts[2] === "meetings") view = await meetingsView(appId, params);
    else if (parts[2] === "webhooks" && parts[3]) view = await webhookView(appId, parts[3], mine);
    else if (parts[2] === "webhooks") view = await webhooksView(appId);
    else if (parts[2] === "nodes") view = await nodesView(appId, mine);
    else if (parts[2] === "recordings" && parts[3]) {
      view = await recordingView(appId, parts[3], mine);
    } else view = await recordingsView(appId, params, mine);
  } catch (err) {
    if (current(mine)) {
      failed(err);
      finish(mine, started, "error", path);
    }
    return;
  }
  if (!current(mine)) return;
  main.replaceChildren(view);
  finish(mine, started, parts[3] ? parts[2].slice(0, -1) : parts[2] || "apps", path);
}

function finish(mine, started, name, path) {
  main.dataset.view = name;
  // For bench/dashboard.py: this render's time, and the time since the page's navigation.
  main.dataset.renderMs = String(Math.round(performance.now() - started));
  main.dataset.readyAt = String(Math.round(performance.now()));
  main.dataset.ready = String(mine);
  if (path !== lastPath) {
    const heading = main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      if (lastPath !== null) heading.focus({ preventScroll: false });
    }
    lastPath = path;
  }
}

document.getElementById("signout").addEventListener("click", () => {
  session.clear();
  sayNext("Signed out.");
  go("#/signin");
});
window.addEventListener("hashchange", () => {
  if (!signInFromFragment()) render();
});
if (!signInFromFragment()) render();
