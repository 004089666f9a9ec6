// An app's webhooks: list, create, edit, and each one's deliveries (reckit's extension).

import { call } from "./api.js";
import { failed, go, sayNext } from "./app.js";
import { h, time } from "./dom.js";

function webhookForm(appId, events, hook) {
  const a = encodeURIComponent(appId);
  const name = h("input", { id: "w-name", name: "name", required: true });
  name.value = hook ? hook.name : "";
  const url = h("input", { id: "w-url", name: "url", type: "url", required: true });
  url.value = hook ? hook.url : "";
  const chosen = new Set(hook ? hook.events : ["recording.statusUpdate"]);
  const enabled = h("input", { id: "w-enabled", type: "checkbox", checked: !hook || hook.enabled });
  const form = h(
    "form",
    { class: "card", "aria-label": hook ? "Edit webhook" : "New webhook" },
    h("div", { class: "field" }, h("label", { for: "w-name" }, "Name"), name),
    h("div", { class: "field" }, h("label", { for: "w-url" }, "URL"), url),
    h(
      "fieldset",
      {},
      h("legend", {}, "Events"),
      events.map((e) =>
        h(
          "label",
          { class: "check" },
          h("input", { type: "checkbox", name: "events", value: e, checked: chosen.has(e) }),
          ` ${e}`,
        ),
      ),
    ),
    hook ? h("label", { class: "check", for: "w-enabled" }, enabled, " Enabled") : null,
    h("button", { type: "submit" }, hook ? "Save" : "Create webhook"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      name: name.value.trim(),
      url: url.value.trim(),
      events: new FormData(form).getAll("events"),
    };
    if (hook) body.enabled = enabled.checked;
    try {
      const made = hook
        ? await call("PATCH", `${a}/webhooks/${hook.id}`, { body })
        : await call("POST", `${a}/webhooks`, { body });
      sayNext(hook ? "Webhook saved." : "Webhook created.");
      go(`#/apps/${a}/webhooks/${made.data.id}`);
    } catch (err) {
      failed(err);
    }
  });
  return form;
}

export async function webhooksView(appId) {
  const a = encodeURIComponent(appId);
  const [list, events] = await Promise.all([
    call("GET", `${a}/webhooks`),
    call("GET", `${a}/webhooks/all`),
  ]);
  return h(
    "section",
    {},
    h("h1", {}, "Webhooks"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("caption", { class: "sr-only" }, "Webhooks"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Name", "URL", "Events", "Enabled"].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h(
          "tbody",
          {},
          list.data.length
            ? list.data.map((w) =>
                h(
                  "tr",
                  {},
                  h("td", {}, h("a", { href: `#/apps/${a}/webhooks/${w.id}` }, w.name)),
                  h("td", { class: "mono" }, w.url),
                  h("td", {}, w.events.join(", ")),
                  h("td", {}, w.enabled ? "yes" : "no"),
                ),
              )
            : h("tr", {}, h("td", { colspan: 4 }, "No webhooks yet.")),
        ),
      ),
    ),
    h("h2", {}, "New webhook"),
    webhookForm(appId, events.data, null),
  );
}

export async function webhookView(appId, webhookId) {
  const a = encodeURIComponent(appId);
  const w = encodeURIComponent(webhookId);
  const [hook, events, deliveries] = await Promise.all([
    call("GET", `${a}/webhooks/${w}`),
    call("GET", `${a}/webhooks/all`),
    call("GET", `${a}/webhooks/${w}/deliveries`),
  ]);
  const rows = deliveries.data.map((d) => {
    const again = h("button", { type: "button", class: "secondary" }, "Redeliver");
    again.addEventListener("click", async () => {
      again.disabled = true;
      try {
        await call("POST", `${a}/webhooks/${w}/deliveries/${d.id}/redeliver`);
        sayNext("Sent again (a new delivery).");
        go(location.hash);
      } catch (err) {
        again.disabled = false;
        failed(err);
      }
    });
    return h(
      "tr",
      {},
      h("td", {}, d.event),
      h("td", {}, d.status),
      h("td", { class: "num" }, String(d.attempts)),
      h("td", {}, d.last_status_code == null ? "—" : String(d.last_status_code)),
      h("td", {}, time(d.last_attempt_at)),
      h("td", {}, d.last_error || ""),
      h("td", {}, again),
    );
  });
  return h(
    "section",
    {},
    h("a", { href: `#/apps/${a}/webhooks`, class: "back" }, "← Webhooks"),
    h("h1", {}, hook.data.name),
    webhookForm(appId, events.data, hook.data),
    h("h2", {}, "Deliveries"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("caption", { class: "sr-only" }, "Deliveries"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Event", "Status", "Attempts", "Last answer", "Last attempt", "Error", ""].map((c) =>
              h("th", { scope: "col" }, c),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          rows.length ? rows : h("tr", {}, h("td", { colspan: 7 }, "No deliveries yet.")),
        ),
      ),
    ),
  );
}
