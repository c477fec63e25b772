// @ts-check
// Building elements. Every piece of text goes in as text (textContent, or a text node),
// never as markup: a run's model output can open nothing on the page.

const SVGNS = "http://www.w3.org/2000/svg";

/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Child | (Child | Child[])[]} Children  A child, or lists of them (null, undefined and false are left out). */
/** @typedef {string | number | boolean | null | undefined | ((event: Event) => void)} AttrValue */
/**
 * Attributes: `text` sets the text, `onX` adds a listener for X, `true` sets an empty
 * attribute; null, undefined and false leave the attribute out.
 * @typedef {Record<string, AttrValue> | null} Attrs
 */

/**
 * An HTML element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {Children[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  el.append(...nodes(children));
  return el;
}

/**
 * An SVG element.
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {Children[]} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  el.append(...nodes(children));
  return el;
}

/**
 * Replaces an element's children.
 * @param {Element} el
 * @param {Children[]} children
 */
export function fill(el, ...children) {
  el.replaceChildren(...nodes(children));
}

/**
 * @param {Element} el
 * @param {Attrs | undefined} attrs
 */
function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = String(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

/**
 * The children as nodes and strings, flattened.
 * @param {Children[]} children
 * @returns {(Node | string)[]}
 */
function nodes(children) {
  /** @type {(Node | string)[]} */
  const out = [];
  /** @param {Children | Child[]} child */
  const add = (child) => {
    if (Array.isArray(child)) child.forEach(add);
    else if (child !== null && child !== undefined && child !== false) out.push(child instanceof Node ? child : String(child));
  };
  children.forEach(add);
  return out;
}
