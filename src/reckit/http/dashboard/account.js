// Sign-in and the account's apps.

import { ApiError, call, session } from "./api.js";
import { go, say } from "./app.js";
import { h, number, time } from "./dom.js";

function field(label, input, hint) {
  const id = input.id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

export function signInView({ token = "", account = "", appId = "" }) {
  const accountInput = h("input", {
    id: "signin-account",
    name: "account",
    required: true,
    autocomplete: "username",
    spellcheck: "false",
    "aria-describedby": "signin-account-hint",
  });
  accountInput.value = account || session.account;
  const tokenInput = h("input", {
    id: "signin-token",
    name: "token",
    type: "password",
    required: true,
    autocomplete: "current-password",
    "aria-describedby": "signin-token-hint",
  });
  tokenInput.value = token;
  const appInput = h("input", { id: "signin-app", name: "app", spellcheck: "false" });
  appInput.value = appId || "";
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    field(
      "Account ID",
      accountInput,
      "The account the token belongs to (reckit accounts list; printed at the first start).",
    ),
    field(
      "API token",
      tokenInput,
      "Kept only in this tab (session storage) and sent only to this server's API.",
    ),
    field("App ID (optional)", appInput),
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const acct = accountInput.value.trim();
    const tok = tokenInput.value.trim();
    const target = appInput.value.trim();
    button.disabled = true;
    try {
      // The token is checked against the account before it is kept.
      await call("GET", "apps", { query: { per_page: 1 }, token: tok, account: acct });
    } catch (err) {
      button.disabled = false;
      if (err instanceof ApiError && err.status === 401) {
        say(
          "This API token was not accepted: it is wrong, or it has been revoked. " +
            "Check the token and try again.",
        );
      } else if (err instanceof ApiError && err.status === 403) {
        say(`This API token does not belong to account ${acct}.`);
      } else if (err instanceof ApiError && err.status === 400) {
        say(`That account ID is not valid: ${err.message}`);
      } else {
        say(err.message);
      }
      tokenInput.focus();
      return;
    }
    session.set(tok, acct);
    say("");
    go(target ? `#/apps/${encodeURIComponent(target)}/recordings` : "#/apps");
  });
  return form;
}

export async function appsView(params) {
  const page = Number(params.get("page") || 1);
  const body = await call("GET", "apps", { query: { page_no: page, per_page: 50 } });
  const rows = body.data.map((a) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/apps/${encodeURIComponent(a.id)}/recordings` }, a.name)),
      h("td", { class: "mono" }, a.id),
      h("td", {}, time(a.created_at)),
      h(
        "td",
        {},
        h("a", { href: `#/apps/${encodeURIComponent(a.id)}/meetings` }, "Meetings"),
        " · ",
        h("a", { href: `#/apps/${encodeURIComponent(a.id)}/webhooks` }, "Webhooks"),
      ),
    ),
  );
  const total = body.paging ? body.paging.total_count : body.data.length;
  const pages = Math.max(1, Math.ceil(total / 50));
  return h(
    "section",
    {},
    h("h1", {}, "Apps"),
    h("p", { class: "summary" }, `${number(total)} apps in account ${session.account}`),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("caption", { class: "sr-only" }, "Apps of the account"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Name", "ID", "Created", "Open"].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
    pages > 1
      ? h(
          "nav",
          { class: "pager", "aria-label": "Pages" },
          page > 1 ? h("a", { href: `#/apps?page=${page - 1}` }, "Previous") : null,
          ` Page ${page} of ${pages} `,
          page < pages ? h("a", { href: `#/apps?page=${page + 1}` }, "Next") : null,
        )
      : null,
  );
}
