// The workplace: the live queue, a case, its actions; the transcript through the key (keys.js).
import { call } from "./http.js";
import { t, built } from "./texts.js";
import { KeyPanel } from "./keys.js";
import { renderEntries, exportMarkdown, exportJson, download } from "./transcript.js";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function caseLine(row, current) {
  const parts = [];
  if (row.urgent) parts.push(el("span", { class: "urgent" }, t("queue.urgent") + " "));
  parts.push(t("case.title", { case: row.case }));
  const meta = [
    `${row.language || "?"} (${t("catalog." + row.catalog)})`,
    row.waiting_seconds !== null && row.status === "queued"
      ? t("queue.waiting_for", { minutes: Math.floor(row.waiting_seconds / 60) })
      : t("case.status." + row.status),
    row.needs.join(", "),
    row.interpreter_needed ? t("queue.interpreter_needed") : "",
    row.channel,
  ].filter(Boolean);
  const button = el("button", { type: "button", "data-case": row.case }, ...parts, el("span", { class: "meta" }, meta.join(" · ")));
  if (current) button.setAttribute("aria-current", "true");
  return el("li", {}, button);
}

export function startWorkplace(me) {
  const state = { me, current: null, facts: null, entries: [], lengths: {} };
  const keys = new KeyPanel(built, () => showTranscript(state));
  $("who").textContent = t("console.signed_in_as", { name: me.name, role: t("console.role." + me.role) });

  $("signout").addEventListener("click", async () => {
    keys.wipe();
    try {
      await call("POST", "/console/api/signout");
    } finally {
      window.location.assign("/console/");
    }
  });

  function drawQueue(queue) {
    for (const [id, rows] of [["mine", queue.mine], ["waiting", queue.waiting]]) {
      const list = $(id);
      list.replaceChildren(...(rows.length ? rows.map((r) => caseLine(r, r.case === state.current)) : [el("li", {}, t("queue.empty"))]));
    }
    $("office").textContent = queue.office.open ? t("queue.office_open") : t("queue.office_closed");
    state.queue = queue;
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-case]");
    if (target) openCase(target.dataset.case);
  });

  async function refreshQueue() {
    drawQueue(await call("GET", "/console/api/queue"));
  }

  function live() {
    if (!("EventSource" in window)) {
      poll();
      return;
    }
    const source = new EventSource("/console/api/events");
    source.addEventListener("queue", (event) => drawQueue(JSON.parse(event.data)));
    source.addEventListener("case", (event) => {
      const { case: id, entries } = JSON.parse(event.data);
      const before = state.lengths[id];
      state.lengths[id] = entries;
      if (id === state.current && before !== undefined && before !== entries) showTranscript(state);
    });
    source.addEventListener("end", () => {
      source.close();
      keys.wipe();
      window.location.assign("/console/");
    });
    source.onopen = () => {
      $("live").textContent = t("queue.live");
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) poll();
    };
  }

  function poll() {
    $("live").textContent = t("queue.polling");
    setInterval(() => refreshQueue().catch(() => window.location.assign("/console/")), 10000);
  }

  function fact(term, value) {
    return [el("dt", {}, term), el("dd", {}, value)];
  }

  function drawCase(facts) {
    state.facts = facts;
    $("case-title").textContent = t("case.title", { case: facts.case });
    $("case-facts").replaceChildren(
      ...fact(t("case.status"), t("case.status." + facts.status)),
      ...fact(t("case.urgent"), facts.urgent ? t("case.yes") : t("case.no")),
      ...fact(t("case.language"), facts.language || "?"),
      ...fact(t("case.channel"), facts.channel),
      ...fact(t("case.needs"), facts.needs.join(", ") || "-"),
      ...fact(t("case.caseworker"), facts.caseworker || "-"),
      ...fact(t("case.interpreter"), facts.interpreter || "-"),
    );
    const open = facts.status === "claimed" || facts.status === "active";
    const caseworker = me.role === "caseworker";
    $("case-actions").hidden = false;
    $("claim").hidden = !(caseworker && facts.status === "queued");
    $("close").hidden = !(facts.yours && open);
    $("reopen").hidden = !(facts.yours && facts.status === "closed");
    $("block").hidden = !facts.yours;
    $("invite-form").hidden = !(facts.yours && open);
    $("transfer-form").hidden = !(facts.yours && open);
    $("export-md").hidden = facts.status === "queued" || !caseworker;
    $("export-json").hidden = facts.status === "queued" || !caseworker;
    $("reply-form").hidden = !open;
    $("transcript-box").hidden = facts.status === "queued";
    if (facts.yours && open) loadColleagues(facts.case);
  }

  async function loadColleagues(id) {
    const found = await call("GET", `/console/api/cases/${id}/colleagues`);
    const option = (p) => el("option", { value: String(p.id) }, p.languages.length ? `${p.name} (${p.languages.join(", ")})` : p.name);
    $("invite-who").replaceChildren(...found.interpreters.map(option));
    $("transfer-who").replaceChildren(...found.caseworkers.map(option));
  }

  async function openCase(id) {
    state.current = id;
    state.entries = [];
    $("sent").replaceChildren();
    $("case-status").textContent = "";
    if (state.queue) drawQueue(state.queue);
    const row = [...(state.queue?.waiting || [])].find((r) => r.case === id);
    if (row) {
      drawCase({ ...row, caseworker: null, interpreter: null, yours: false });
      $("summary-box").hidden = true;
      $("transcript").replaceChildren();
    } else {
      try {
        drawCase(await call("GET", `/console/api/cases/${id}`));
      } catch (error) {
        $("case-status").textContent = error.message;
        return;
      }
      await showTranscript(state);
    }
    $("case").focus();
  }

  async function showTranscript() {
    if (!state.current || !state.facts || state.facts.status === "queued") return;
    if (!keys.ready()) {
      $("transcript").replaceChildren(el("li", {}, t("case.locked")));
      return;
    }
    try {
      const opened = await keys.read(state.current);
      state.entries = opened.entries;
      renderEntries(opened, $("summary-box"), $("summary"), $("transcript"), $("transcript-warning"), me.role);
    } catch (error) {
      $("transcript").replaceChildren(el("li", {}, error.message || t("console.error")));
    }
  }

  async function act(path, body, done) {
    const id = state.current;
    try {
      const result = await call("POST", `/console/api/cases/${id}/${path}`, body);
      $("case-status").textContent = t(done);
      if (result.case && result.status) drawCase(result);
      await refreshQueue();
      return result;
    } catch (error) {
      $("case-status").textContent = error.message;
      return null;
    }
  }

  $("claim").addEventListener("click", async () => {
    const result = await act("claim", undefined, "case.claimed");
    if (result) showTranscript();
  });
  $("close").addEventListener("click", () => window.confirm(t("case.close_confirm")) && act("close", undefined, "case.closed"));
  $("reopen").addEventListener("click", () => act("reopen", undefined, "case.reopened"));
  $("block").addEventListener("click", () => window.confirm(t("case.block_confirm")) && act("block", undefined, "case.blocked"));
  $("invite-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act("invite", { staff_id: Number($("invite-who").value) }, "case.invited");
  });
  $("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await act("transfer", { staff_id: Number($("transfer-who").value) }, "case.transferred")) {
      $("case-actions").hidden = true;
      $("reply-form").hidden = true;
    }
  });
  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value;
    if (!text.trim()) return;
    const result = await act("reply", { text }, "case.sent");
    if (result) {
      $("reply-text").value = "";
      $("sent").replaceChildren(el("strong", {}, t("case.sent")), el("p", { class: "sent-text" }, result.sent));
    }
  });
  for (const [id, format] of [["export-md", "md"], ["export-json", "json"]]) {
    $(id).addEventListener("click", async () => {
      if (!state.entries.length) {
        $("case-status").textContent = t("case.locked");
        return;
      }
      const text = format === "md" ? exportMarkdown(state.current, state.entries) : exportJson(state.current, state.entries);
      download(`case-${state.current}.${format}`, text, format === "md" ? "text/markdown" : "application/json");
      await act("export", { format }, "case.exported");
    });
  }

  refreshQueue().then(live, () => window.location.assign("/console/"));
}
