// A decrypted transcript on the page, and its exports (made here, downloaded, never sent back).
import { t } from "./texts.js";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (cls === "said" || cls === "original") node.dir = "auto"; // Arabic, Persian... read right to left
  if (text !== undefined) node.textContent = text;
  return node;
}

function words(entry) {
  if (entry.kind === "answer" || entry.kind === "answers") {
    return typeof entry.answer === "string" ? entry.answer : JSON.stringify(entry.answer ?? entry.text ?? "");
  }
  if (entry.kind === "media") return `[${entry.name || entry.mime || "media"}] ${entry.caption || ""}`.trim();
  return entry.text ?? "";
}

function when(at) {
  const moment = new Date(at);
  return Number.isNaN(moment.getTime()) ? at : moment.toLocaleString(document.documentElement.lang);
}

/** What an interpreter is shown: what was said between the person and the staff, as it was written. */
function forInterpreter(entries) {
  return entries
    .filter((e) => (e.kind === "message" || e.kind === "media") && ["victim", "caseworker", "interpreter"].includes(e.who))
    .map((e) => ({ ...e, translation: undefined, machine_translated: false }));
}

export function renderEntries(opened, summaryBox, summary, list, warning, role) {
  const interpreter = role === "interpreter";
  const summaries = interpreter ? [] : opened.entries.filter((e) => e.kind === "summary");
  summaryBox.hidden = summaries.length === 0;
  if (summaries.length) summary.textContent = summaries[summaries.length - 1].text || "";
  warning.hidden = !opened.warning;
  warning.textContent = opened.warning ? t("case.rollback") : "";
  list.replaceChildren(
    ...(interpreter ? forInterpreter(opened.entries) : opened.entries)
      .filter((e) => e.kind !== "summary")
      .map((entry) => {
        const item = el("li");
        const who = t("who." + entry.who);
        item.append(el("span", "who", entry.by ? `${entry.by} (${who})` : who));
        item.append(el("time", "at", when(entry.at)));
        const staff = entry.who === "caseworker" || entry.who === "interpreter";
        if (staff || !entry.translation) {
          // Staff words as written; what the person was sent (machine-translated) beneath.
          item.append(el("p", "said", words(entry)));
          if (entry.translation) {
            const sent = el("span", "original", entry.translation);
            sent.append(el("span", "mt", t("case.machine")));
            item.append(sent);
          }
        } else {
          // The person's words: the machine translation, and the original beneath it.
          const line = el("p", "said", entry.translation);
          line.append(el("span", "mt", t("case.machine")));
          item.append(line);
          item.append(el("span", "original", `${t("case.original")} (${entry.language || "?"}) : ${words(entry)}`));
        }
        if (entry.kind === "media" && entry.data) item.append(mediaButton(entry));
        return item;
      }),
  );
}

function mediaButton(entry) {
  // A file the person sent: decrypted with the entry, opened from memory (a blob URL), never re-sent.
  const button = el("button", "quiet", t("case.open_media", { name: entry.name || entry.mime || "media" }));
  button.type = "button";
  button.addEventListener("click", () => {
    const raw = atob(entry.data);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
    const url = URL.createObjectURL(new Blob([bytes], { type: entry.mime || "application/octet-stream" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = entry.name || "media";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  return button;
}

export function exportMarkdown(caseId, entries) {
  const lines = [`# ${t("case.title", { case: caseId })}`, ""];
  for (const entry of entries) {
    const who = entry.by ? `${entry.by} (${entry.who})` : entry.who;
    lines.push(`- **${who}** ${entry.at}: ${words(entry).replace(/\n/g, " ")}`);
    if (entry.translation) lines.push(`  - ${t("case.machine")}: ${entry.translation.replace(/\n/g, " ")}`);
  }
  return lines.join("\n") + "\n";
}

export function exportJson(caseId, entries) {
  return JSON.stringify({ case: caseId, entries }, null, 2) + "\n";
}

export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
