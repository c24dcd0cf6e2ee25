// A plan's taskings to hand out: the CSV to download, and the printable page (one unit per
// page) opened in a window of its own to print. Both are made by the service from the plan as
// the key reads it; the page adds nothing to them.

import { api } from "./api.js";
import { download } from "./history.js";

export async function downloadTasking(planId) {
  download(`tasking-${planId.slice(0, 8)}.csv`, await api.taskingCsv(planId), "text/csv");
}

// The window opens at the click: one opened after the fetch would be a pop-up the browser
// blocks. The service's page goes in it (its stylesheet is the service's own, which the
// Content-Security-Policy allows), then the browser's print dialog.
export async function printTasking(planId) {
  const win = window.open("", "_blank");
  if (!win) throw new Error("the browser blocked the print window — allow pop-ups for this page");
  try {
    const html = await api.taskingPage(planId);
    const made = new DOMParser().parseFromString(html, "text/html");
    const doc = win.document;
    doc.replaceChild(doc.importNode(made.documentElement, true), doc.documentElement);
    const sheet = doc.querySelector('link[rel="stylesheet"]');
    if (sheet && !sheet.sheet) {
      await new Promise((resolve) => {
        sheet.addEventListener("load", resolve);
        sheet.addEventListener("error", resolve);
      });
    }
    doc.body.dataset.ready = "true";
    win.focus();
    win.print();
  } catch (err) {
    win.close();
    throw err;
  }
}
