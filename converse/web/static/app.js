// @ts-check
// converse view: the page. It only places what the server sends; every piece of text from a
// run (model output included) goes into the page as text (textContent), never as markup.
//
// The modules, each one idea: router.js (which page, and the visit to it), api.js (the
// viewer's API: JSON and the event stream), items.js (the run page's items: the types of
// what the server sends), runs.js, run.js, call.js and sweep.js (the pages, and the model
// call dialog), population.js (a population run's panel on its page), table.js (sortable
// tables), charts.js (the charts: a sweep's, a population's), shell.js (the frame around
// every page), dom.js and format.js (building elements, showing numbers).

import { startRouter } from "./router.js";
import { showRun } from "./run.js";
import { showIndex } from "./runs.js";
import { showGroup } from "./sweep.js";

startRouter({ index: (visit) => showIndex(visit), run: showRun, sweep: (path, visit) => showGroup(path, visit) });
