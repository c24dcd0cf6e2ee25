// Small helpers to build the page's HTML without innerHTML (text is never parsed as markup).

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A two-column table of label / value rows.
export function facts(rows, caption) {
  return h("table", { class: "facts" },
    caption ? h("caption", {}, caption) : null,
    h("tbody", {}, rows.map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value)))));
}

export function options(select, items, selected) {
  select.replaceChildren(...items.map(([value, label]) => h("option", { value }, label)));
  if (selected !== undefined) select.value = selected;
}

// A figure that is not there: a dash that says why (hover, and read out by screen readers).
export function missing(reason) {
  return h("span", { class: "missing", title: reason, "data-reason": reason }, "–", h("span", { class: "sr-only" }, ` (${reason})`));
}

// "1 alert", "2 alerts": a count with its noun (plural: the noun with an "s", or as given).
export function count(n, noun, plural = `${noun}s`) {
  return `${n.toLocaleString("en-GB")} ${n === 1 ? noun : plural}`;
}
