// The upload of a reporter (and an admin): a file of the country's incident rows — CSV,
// Parquet or JSON — sent as it is to POST /submissions, then the receipt, or every problem
// with its file, row, column and fix. A submission is all or nothing: one bad row stores none.

import { ApiError, api } from "./api.js";
import { fmt } from "./colors.js";
import { facts, h, missing } from "./dom.js";

const FIRST_PROBLEMS = 50; // the rest fold away, still on the page

// The Content-Type of a file, from its name's ending: types maps ".csv" -> "text/csv", ...
export function contentType(name, types) {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? null : types[name.slice(dot).toLowerCase()] || null;
}

function megabytes(bytes) {
  return `${fmt(bytes / 2 ** 20, 1)} MB`;
}

export class SubmitView {
  // el: form, file, button, progress, message, receipt, problems; types: ending -> Content-Type;
  // maxBytes: the largest body the service takes; onSubmitted(receipt); onError(err).
  constructor({ el, types, maxBytes, onSubmitted, onError }) {
    this.el = el;
    this.types = types;
    this.maxBytes = maxBytes;
    this.onSubmitted = onSubmitted;
    this.onError = onError;
    el.file.setAttribute("accept", [...Object.keys(types), ...new Set(Object.values(types))].join(","));
  }

  clear() {
    this.el.message.replaceChildren();
    this.el.receipt.hidden = true;
    this.el.receipt.replaceChildren();
    this.el.problems.hidden = true;
    this.el.problems.replaceChildren();
  }

  refuse(text) {
    this.el.message.textContent = text;
    this.el.file.focus();
  }

  async send() {
    this.clear();
    const file = this.el.file.files[0];
    if (!file) return this.refuse("Choose a file to send.");
    const type = contentType(file.name, this.types);
    if (!type) {
      return this.refuse(`${file.name}: the service reads ${Object.keys(this.types).join(", ")} files; ` +
        "save the rows in one of these formats, or rename the file if it is one.");
    }
    if (this.maxBytes && file.size > this.maxBytes) {
      return this.refuse(`${file.name} is ${megabytes(file.size)}; one submission may be at most ${megabytes(this.maxBytes)}. ` +
        "Split it by period, or save it as Parquet, which is smaller.");
    }
    const { button, progress } = this.el;
    button.disabled = true;
    progress.hidden = false;
    progress.textContent = `Sending ${file.name}…`;
    document.body.dataset.submitting = "true";
    try {
      const receipt = await api.submit(file, type);
      this.showReceipt(receipt);
      this.onSubmitted?.(receipt);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) this.showProblems(file.name, err.body);
      else this.onError(err);
    } finally {
      button.disabled = false;
      progress.hidden = true;
      delete document.body.dataset.submitting;
      this.el.form.dataset.answered = String(Number(this.el.form.dataset.answered || 0) + 1);
    }
  }

  showReceipt(r) {
    const receipt = this.el.receipt;
    receipt.dataset.submissionId = String(r.submission_id);
    receipt.dataset.duplicate = String(r.duplicate);
    receipt.replaceChildren(...[
      h("h3", {}, r.duplicate ? "Already received: nothing new was stored" : "Received and stored"),
      r.duplicate ? h("p", { class: "note" }, `The same rows came in before, as submission ${r.submission_id}; sending them again changes nothing.`) : null,
      facts([
        ["Submission", `#${r.submission_id}`],
        ["Received", r.received_at.replace("T", " ").slice(0, 19) + " UTC"],
        ["File", r.file],
        ["Rows", fmt(r.rows, 0)],
        ["New cells", fmt(r.new, 0)],
        ["Corrected cells", `${fmt(r.corrected, 0)}${r.corrected ? " (stored as new versions; the earlier values are kept)" : ""}`],
        ["Unchanged cells", fmt(r.unchanged, 0)],
        ["Periods", r.periods.join(", ") || missing("the file held no row")],
        ["Alerts raised", `${fmt(r.alerts, 0)}${r.alerts ? " (see Alerts)" : ""}`],
        ["Fingerprint", h("code", {}, r.fingerprint)],
      ], "Receipt"),
    ].filter(Boolean));
    receipt.hidden = false;
  }

  showProblems(name, body) {
    // In the file's order: a reporter fixes it from the top down.
    const line = (p) => (Number.isInteger(p.row) ? p.row : Infinity);
    const problems = [...(body.problems || [])].sort((a, b) => line(a) - line(b));
    const section = this.el.problems;
    section.dataset.problems = String(problems.length);
    const item = (p) => {
      const inFile = p.file !== null && p.file !== undefined;
      const where = inFile
        ? [p.row !== null && p.row !== undefined ? `row ${p.row}` : null, p.column ? `column ${p.column}` : null, p.file]
        : [p.field ? `${p.field}` : null, "the request"];
      return h("li", { "data-file": inFile ? p.file : null, "data-row": p.row ?? null, "data-column": p.column ?? (inFile ? null : p.field) },
        h("p", { class: "where" }, where.filter(Boolean).join(" · ")),
        h("p", { class: "what" }, p.message),
        h("p", { class: "fix" }, `Fix: ${p.fix || "see the message"}`));
    };
    const list = (items, start = 1) => h("ol", { class: "problems-list", start }, items.map(item));
    const rest = problems.slice(FIRST_PROBLEMS);
    section.replaceChildren(...[
      h("h3", {}, `Nothing was stored: ${problems.length || "a"} problem${problems.length === 1 ? "" : "s"} to fix`),
      h("p", {}, body.error || "The service refused the file."),
      problems.length ? list(problems.slice(0, FIRST_PROBLEMS)) : null,
      rest.length ? h("details", {}, h("summary", {}, `${rest.length} more`), list(rest, FIRST_PROBLEMS + 1)) : null,
      h("p", { class: "note" }, "Fix every row listed, then send the whole file again."),
    ].filter(Boolean));
    section.hidden = false;
    section.focus();
  }
}
