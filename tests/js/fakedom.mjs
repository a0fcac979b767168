// A minimal DOM for testing the console's rendering code under Node: elements,
// text nodes, attributes, dataset, style and an HTML serialiser that escapes text.

const escapeText = (text) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const escapeAttr = (text) => escapeText(text).replaceAll('"', "&quot;");

class FakeNode {
  constructor(nodeType) {
    this.nodeType = nodeType;
    this.childNodes = [];
    this.parentNode = null;
  }
  get firstChild() { return this.childNodes[0] ?? null; }
  append(...nodes) {
    for (const node of nodes) {
      const child = typeof node === "string" ? new FakeText(node) : node;
      child.parentNode = this;
      this.childNodes.push(child);
    }
  }
  prepend(node) { node.parentNode = this; this.childNodes.unshift(node); }
  removeChild(node) { this.childNodes = this.childNodes.filter((c) => c !== node); return node; }
  get textContent() { return this.childNodes.map((c) => c.textContent).join(""); }
  set textContent(value) { this.childNodes = []; this.append(new FakeText(String(value))); }
}

export class FakeText extends FakeNode {
  constructor(data) { super(3); this.data = data; }
  get textContent() { return this.data; }
  get outerHTML() { return escapeText(this.data); }
}

export class FakeElement extends FakeNode {
  constructor(tagName, namespaceURI = "http://www.w3.org/1999/xhtml") {
    super(1);
    this.tagName = tagName.toLowerCase();
    this.namespaceURI = namespaceURI;
    this.attributes = new Map();
    this.dataset = {};
    this.style = { cssText: "" };
    this.listeners = {};
    const self = this;
    this.classList = { contains: (name) => (self.attributes.get("class") ?? "").split(/\s+/).includes(name) };
  }
  setAttribute(name, value) { this.attributes.set(name, String(value)); }
  getAttribute(name) { return this.attributes.get(name) ?? null; }
  hasAttribute(name) { return this.attributes.has(name); }
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  get children() { return this.childNodes.filter((c) => c.nodeType === 1); }
  /** Every element below this one, depth first. */
  descendants() {
    return this.children.flatMap((child) => [child, ...child.descendants()]);
  }
  get outerHTML() {
    const data = Object.entries(this.dataset).map(([k, v]) => ` data-${k}="${escapeAttr(String(v))}"`).join("");
    const attrs = [...this.attributes].map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join("");
    const style = this.style.cssText ? ` style="${escapeAttr(this.style.cssText)}"` : "";
    return `<${this.tagName}${attrs}${data}${style}>${this.childNodes.map((c) => c.outerHTML).join("")}</${this.tagName}>`;
  }
}

/** Install `document` on globalThis so the console's modules can build nodes. */
export function install() {
  globalThis.document = {
    createElement: (tag) => new FakeElement(tag),
    createElementNS: (ns, tag) => new FakeElement(tag, ns),
    createTextNode: (text) => new FakeText(text),
    getElementById: () => null,
    querySelector: () => null,
    body: { dataset: {} },
  };
}
