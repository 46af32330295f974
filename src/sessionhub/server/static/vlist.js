// A virtual list: items of fixed heights (two kinds: group headings and rows) laid out in a
// tall inner box, and only those near the viewport exist in the DOM. Appending a page of 50 to
// a list of 2,000 costs the same as to a list of 50, and the DOM stays around 60 nodes.

const OVERSCAN = 8; // items drawn beyond each edge of the viewport
const PREFETCH = 1500; // px: the next page is asked for this far before the end

export class VirtualList {
  /**
   * @param {HTMLElement} scroller the scrolling element
   * @param {{height: (item) => number, key: (item) => string, render: (item) => HTMLElement,
   *          looks?: (item) => string, onScrollEnd?: () => void}} opts
   *   `looks`: what an item shows; a drawn node whose new item looks the same is kept (a
   *   refresh that changed nothing visible must not replace a row under the user's pointer)
   */
  constructor(scroller, { height, key, render, looks, onScrollEnd }) {
    this.scroller = scroller;
    this.height = height;
    this.key = key;
    this.render = render;
    this.looks = looks || null;
    this.onScrollEnd = onScrollEnd || (() => {});
    this.inner = document.createElement("div");
    this.inner.className = "vlist";
    this.items = [];
    this.offsets = [0];
    this.nodes = new Map(); // key -> {item, el, look}
    this.frame = 0;
    this.scroller.append(this.inner);
    this.scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.scroller);
  }

  /** Replace the items (the nodes of unchanged items, same object, are kept). */
  setItems(items) {
    this.items = items;
    const offsets = new Array(items.length + 1);
    offsets[0] = 0;
    for (let i = 0; i < items.length; i++) offsets[i + 1] = offsets[i] + this.height(items[i]);
    this.offsets = offsets;
    this.inner.style.height = `${offsets[items.length]}px`;
    this.draw();
  }

  /** Redraw the visible items from scratch (their content changed, e.g. the active row). */
  refresh() {
    for (const n of this.nodes.values()) n.el.remove();
    this.nodes.clear();
    this.draw();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  indexAt(y) {
    let lo = 0;
    let hi = this.items.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid] <= y) lo = mid;
      else hi = mid - 1;
    }
    return Math.max(0, lo);
  }

  draw() {
    const top = this.scroller.scrollTop;
    const bottom = top + (this.scroller.clientHeight || 800);
    const n = this.items.length;
    const first = n ? Math.max(0, this.indexAt(top) - OVERSCAN) : 0;
    const last = n ? Math.min(n - 1, this.indexAt(bottom) + OVERSCAN) : -1;
    const wanted = new Map();
    for (let i = first; i <= last; i++) wanted.set(this.key(this.items[i]), i);
    const focused = document.activeElement;
    let refocus = null;
    for (const [k, node] of this.nodes) {
      const i = wanted.get(k);
      if (i !== undefined && this.items[i] === node.item) continue;
      if (i !== undefined && this.looks && this.looks(this.items[i]) === node.look) {
        node.item = this.items[i];
        continue;
      }
      if (i !== undefined && node.el.contains(focused) && focused !== node.el) {
        refocus = { k, cls: focused.classList[0] }; // the same control in the redrawn row
      }
      node.el.remove();
      this.nodes.delete(k);
    }
    const ordered = [];
    for (const [k, i] of wanted) {
      let node = this.nodes.get(k);
      if (!node) {
        node = { item: this.items[i], el: this.render(this.items[i]), look: this.looks?.(this.items[i]) };
        this.nodes.set(k, node);
      }
      node.el.style.top = `${this.offsets[i]}px`;
      ordered.push(node.el);
    }
    // DOM order = visual order, so Tab and screen readers go down the list
    let cursor = this.inner.firstChild;
    for (const el of ordered) {
      if (cursor === el) cursor = cursor.nextSibling;
      else this.inner.insertBefore(el, cursor);
    }
    if (refocus) this.nodes.get(refocus.k)?.el.querySelector(`.${refocus.cls}`)?.focus({ preventScroll: true });
    if (!n || bottom >= this.offsets[n] - PREFETCH) this.onScrollEnd();
  }

  /** Scroll so that the item with this key is visible; returns its node once drawn. */
  reveal(k) {
    const i = this.items.findIndex((it) => this.key(it) === k);
    if (i < 0) return null;
    const y = this.offsets[i];
    const h = this.offsets[i + 1] - y;
    if (y < this.scroller.scrollTop) this.scroller.scrollTop = y;
    else if (y + h > this.scroller.scrollTop + this.scroller.clientHeight) this.scroller.scrollTop = y + h - this.scroller.clientHeight;
    this.draw();
    return this.nodes.get(k)?.el || null;
  }

  nodeOf(k) {
    return this.nodes.get(k)?.el || null;
  }
}
