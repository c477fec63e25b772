// @ts-check
// A population run's panel on its run page, from its census items (converse/web/_population.py):
// the share of each lab's researchers who worked on safety, period by period; all the labs'
// papers by area; and the last period's census as a table. It stays hidden for a run
// without a census, and is drawn again as a running run's periods come in.

import { lineChart } from "./charts.js";
import { fill, h } from "./dom.js";
import { cellText, num } from "./format.js";
import { sortableTable } from "./table.js";

/** @typedef {import("./items.js").Census} Census */
/** @typedef {import("./items.js").LabShown} LabShown */
/** @typedef {import("./table.js").Column<LabShown>} LabColumn */
/** @typedef {import("./table.js").SortState} SortState */

export class PopulationPanel {
  constructor() {
    this.root = h("section", { class: "population", hidden: true });
    /** @type {Map<string, Census>} the censuses so far, by id (one sent again replaces it) */
    this.censuses = new Map();
    /** @type {Partial<SortState>} the table's sort, kept as it is drawn again */
    this.sort = {};
    this.pending = false;
  }

  /**
   * Takes a census in; the panel is drawn again once the batch it came in is placed.
   * @param {Census} item
   */
  add(item) {
    this.censuses.set(item.id, item);
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => this.draw());
  }

  draw() {
    this.pending = false;
    const all = [...this.censuses.values()].sort((a, b) => a.index - b.index);
    const last = all[all.length - 1];
    const steps = all.map((c) => c.period);
    const labs = [...new Set(all.flatMap((c) => c.labs.map((l) => l.lab)))];
    const areas = [...new Set(all.flatMap((c) => c.areas))];
    const safety = labs.map((lab) => ({ name: lab, values: all.map((c) => c.labs.find((l) => l.lab === lab)?.safety ?? null) }));
    const papers = areas.map((area) => ({ name: area, values: all.map((c) => c.papers[c.areas.indexOf(area)] ?? null) }));
    /** @type {(key: string, label: (area: string) => string, counts: (lab: LabShown) => number[]) => LabColumn[]} */
    const byArea = (key, label, counts) =>
      last.areas.map((area, i) => ({ key: `${key}:${area}`, label: label(area), num: true, value: (r) => counts(r)[i], cell: (r) => cellText(counts(r)[i]) }));
    const table = sortableTable(
      [
        { key: "lab", label: "Lab" },
        { key: "researchers", label: "Researchers", num: true },
        ...byArea("working", (area) => "on " + area, (r) => r.working),
        ...byArea("papers", (area) => area + " papers", (r) => r.papers),
        { key: "joined", label: "Joined", num: true },
        { key: "left", label: "Left", num: true },
      ],
      last.labs,
      { class: "census-table", state: this.sort },
    );
    /** @type {[string, number][]} */
    const facts = [
      ["moved", last.moves],
      ["meetings inside labs", last.meetings],
      ["at the conference", last.conference],
    ];
    this.root.hidden = false;
    fill(this.root,
      h("h2", { text: "Population" }),
      h(
        "div",
        { class: "charts" },
        lineChart(steps, safety, { name: "safety-share", caption: "share of each lab's researchers working on safety", percent: true }),
        lineChart(steps, papers, { name: "papers", caption: "papers by area, all labs" }),
      ),
      h("h3", { class: "census-period", text: "After " + last.period }),
      h("ul", { class: "facts" }, facts.map(([k, v]) => h("li", null, h("b", { text: num(v) }), " " + k))),
      h("div", { class: "scroll" }, table),
    );
  }
}
