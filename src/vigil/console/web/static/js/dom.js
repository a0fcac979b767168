// Building the page from API data without ever parsing it as HTML.
// Every string becomes a text node or an attribute value, so a title such as
// "<script>" is shown as text. URLs pass through safeUrl (no javascript: links).

const SVG_NS = "http://www.w3.org/2000/svg";
const URL_ATTRS = new Set(["href", "src", "xlink:href", "action"]);

/** A same-origin path, an http(s) URL or an image data URL; anything else is refused. */
export function safeUrl(value) {
  const text = String(value ?? "").trim();
  if (/^\/(?![/\\])/.test(text)) return text;
  if (/^https?:\/\//i.test(text)) return text;
  if (/^data:image\/(png|jpeg|gif|webp);/i.test(text)) return text;
  return null;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "class") el.setAttribute("class", String(value));
    else if (key === "style") el.style.cssText = String(value); // CSSOM: allowed by the page's CSP
    else if (key === "dataset") for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (URL_ATTRS.has(key)) {
      const url = safeUrl(value);
      if (url !== null) el.setAttribute(key, url);
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function addChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "object" && "nodeType" in child ? child : document.createTextNode(String(child)));
  }
}

/** h("td", {class: "num"}, "12") builds an HTML element; children are nodes or text. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  addChildren(el, children);
  return el;
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  addChildren(el, children);
  return el;
}

/** Replace everything inside `el` with `children`. */
export function fill(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  addChildren(el, children);
  return el;
}

export const byId = (id) => document.getElementById(id);

/** Show a short message at the top of the page; errors stay until the next message. */
export function notify(message, kind = "info") {
  const box = byId("notice");
  if (!box) return;
  box.hidden = false;
  box.dataset.kind = kind;
  box.textContent = message;
  if (kind !== "error") {
    const shown = message;
    setTimeout(() => { if (box.textContent === shown) box.hidden = true; }, 4000);
  }
}

/** The signed-in user as the page shell describes them. */
export function currentUser() {
  const data = document.body?.dataset ?? {};
  const roles = (data.roles ?? "").split(" ").filter(Boolean);
  return { username: data.user ?? "", roles };
}

const RANK = ["viewer", "analyst", "approver", "admin"];

/** Roles are cumulative: an admin can do what an analyst can. */
export function can(user, role) {
  const need = RANK.indexOf(role);
  return user.roles.some((held) => RANK.indexOf(held) >= need && need >= 0);
}
