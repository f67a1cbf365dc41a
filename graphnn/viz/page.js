// The graphnn visualiser page's script (inlined by graphnn/viz/html.py): node panel, search, zoom, and for a
// model with blocks the scopes: each group's drawing opens from its box's "+" (or a click), with a trail back.
// Everything taken from the model goes into the page as text (textContent), never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("graphnn-data").textContent);
  var pane = document.getElementById("graph");
  var svg = pane.querySelector(".scope svg");
  var trail = document.getElementById("trail");
  var current = "";  // the scope shown: "" the top level, else a group id
  var panel = document.getElementById("panel");
  var search = document.getElementById("search");
  var searchCount = document.getElementById("search-count");
  var SVG_NS = "http://www.w3.org/2000/svg";
  var natural = { width: svg.width.baseVal.value, height: svg.height.baseVal.value };
  var scale = 1;

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgElement(tag, attributes, text) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function number(value) {
    if (value === null || value === undefined) return "?";
    if (Number.isInteger(value)) return value.toLocaleString("en-US");
    return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e5 ? value.toFixed(4) : value.toExponential(3);
  }

  function show(value) {
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function table(rows, className) {
    var result = element("table", { "class": "facts " + (className || "") });
    rows.forEach(function (row) {
      var tr = element("tr", row.attributes || {});
      tr.appendChild(element("th", {}, row.key));
      tr.appendChild(element("td", {}, row.value));
      result.appendChild(tr);
    });
    return result;
  }

  function histogram(stats) {
    var width = 360, height = 110, bottom = 18, counts = stats.histogram.counts;
    var most = Math.max.apply(null, counts) || 1, barWidth = width / counts.length;
    var chart = svgElement("svg", { "class": "histogram", width: width, height: height + bottom,
                                    viewBox: "0 0 " + width + " " + (height + bottom) });
    counts.forEach(function (count, i) {
      var barHeight = count / most * (height - 4);
      var bar = svgElement("rect", { x: (i * barWidth + 0.5).toFixed(1), y: (height - barHeight).toFixed(1),
                                     width: Math.max(barWidth - 1, 0.5).toFixed(1), height: barHeight.toFixed(1) });
      var edges = stats.histogram.edges;
      bar.appendChild(svgElement("title", {}, number(edges[i]) + " … " + number(edges[i + 1]) + ": " + count));
      chart.appendChild(bar);
    });
    chart.appendChild(svgElement("line", { "class": "axis", x1: 0, y1: height, x2: width, y2: height }));
    chart.appendChild(svgElement("text", { x: 0, y: height + 13 }, number(stats.min)));
    chart.appendChild(svgElement("text", { x: width, y: height + 13, "text-anchor": "end" }, number(stats.max)));
    return chart;
  }

  function arraySection(name, stats, kind) {
    var section = element("div", { "class": "weight", "data-weight": name });
    section.appendChild(element("h3", {}, kind + " " + name));
    var rows = [{ key: "shape", value: "(" + stats.shape.join(", ") + (stats.shape.length === 1 ? ",)" : ")") },
                { key: "dtype", value: stats.dtype }];
    ["min", "max", "mean", "std"].forEach(function (key) {
      if (key in stats) rows.push({ key: key, value: number(stats[key]), attributes: { "data-stat": key } });
    });
    if (stats.nonfinite) rows.push({ key: "non-finite", value: number(stats.nonfinite) });
    section.appendChild(table(rows));
    if (stats.histogram) section.appendChild(histogram(stats));
    return section;
  }

  function renderPanel(id) {
    var info = data.nodes[id];
    panel.replaceChildren();
    var close = element("button", { "class": "close", type: "button", title: "Close (Esc)" }, "×");
    close.addEventListener("click", function () { select(null); });
    panel.appendChild(close);
    panel.appendChild(element("h2", { id: "panel-name" }, info.name));
    panel.appendChild(element("p", { "class": "op-name" }, "op " + info.op + " · node " + info.index + " in the file"));
    if (info.errors.length) {
      var list = element("ul", { "class": "node-errors" });
      info.errors.forEach(function (error) { list.appendChild(element("li", {}, error)); });
      panel.appendChild(list);
    }
    panel.appendChild(element("h3", {}, "Parameters"));
    var params = Object.keys(info.params).map(function (key) {
      var written = info.written.indexOf(key) >= 0;
      return { key: key, value: show(info.params[key]) + (written ? "" : "  (default)"),
               attributes: { "data-param": key, "class": written ? "" : "default" } };
    });
    panel.appendChild(params.length ? table(params, "params") : element("p", {}, "none"));
    panel.appendChild(element("h3", {}, "Shapes (batch not shown) and counts"));
    var shapes = info.inputs.map(function (input, i) {
      return { key: "input " + i + " (" + input.name + ")", value: input.shape, attributes: { "data-input": i } };
    });
    shapes.push({ key: "output", value: info.output, attributes: { "data-output": "" } });
    shapes.push({ key: "trained parameters", value: number(info.parameters), attributes: { "data-count": "" } });
    shapes.push({ key: "forward FLOPs / sample", value: number(info.flops) });
    panel.appendChild(table(shapes, "shapes"));
    Object.keys(info.weights).forEach(function (name) {
      panel.appendChild(arraySection(name, info.weights[name], "weight"));
    });
    Object.keys(info.state).forEach(function (name) {
      panel.appendChild(arraySection(name, info.state[name], "state"));
    });
    panel.hidden = false;
  }

  function scopeOf(id) {  // the scope a node is drawn in
    var info = data.nodes[id];
    return info && info.group ? info.group : "";
  }

  function renderTrail() {
    trail.replaceChildren();
    trail.hidden = !current;  // shown inside a group
    var chain = [], group = current;
    while (group) { chain.unshift(group); group = data.groups[group].parent; }
    var top = element("button", { type: "button", "class": "crumb", "data-scope": "" }, data.name);
    trail.appendChild(top);
    chain.forEach(function (id) {
      var info = data.groups[id];
      trail.appendChild(element("span", { "class": "sep" }, " › "));
      var label = info.path + " (" + info.block + (info.kind === "chain" ? " ×" + info.count : "") + ")";
      trail.appendChild(element("button", { type: "button", "class": "crumb", "data-scope": id }, label));
    });
    if (current) {
      var up = element("button", { type: "button", id: "collapse", title: "Collapse: back to the enclosing scope" },
                       "collapse ▲");
      trail.appendChild(up);
    }
  }

  function showScope(id) {
    current = id || "";
    pane.querySelectorAll(".scope").forEach(function (scope) { scope.hidden = scope.dataset.scope !== current; });
    svg = pane.querySelector('.scope[data-scope="' + current + '"] svg');
    natural = { width: Number(svg.getAttribute("viewBox").split(" ")[2]),
                height: Number(svg.getAttribute("viewBox").split(" ")[3]) };
    pane.scrollTo(0, 0);
    var fit = Math.min((pane.clientWidth - 8) / natural.width,
                       (pane.clientHeight - (current ? trailHeight() : 0) - 8) / natural.height);
    zoom(Math.min(Math.max(fit, 0.6), 1));  // each scope opens as large as fits, and never below 60%
    renderTrail();
    if (search.value.trim()) find();
  }

  function select(id) {
    pane.querySelectorAll(".node.selected").forEach(function (n) { n.classList.remove("selected"); });
    pane.querySelectorAll(".edge.active").forEach(function (e) { e.classList.remove("active"); });
    if (id === null) {
      panel.hidden = true;
      return;
    }
    if (scopeOf(id) !== current) showScope(scopeOf(id));
    svg.querySelector('.node[data-id="' + id + '"]').classList.add("selected");
    svg.querySelectorAll(".edge").forEach(function (edge) {
      if (edge.dataset.source === id || edge.dataset.target === id) edge.classList.add("active");
    });
    renderPanel(id);
  }

  function reveal(node) {
    var box = node.getBoundingClientRect(), view = pane.getBoundingClientRect();
    pane.scrollBy({ left: box.left + box.width / 2 - (view.left + view.width / 2),
                    top: box.top + box.height / 2 - (view.top + view.height / 2) });
  }

  function find() {  // every scope's nodes; the first match's scope is shown
    var query = search.value.trim().toLowerCase();
    var matches = [];
    pane.querySelectorAll(".node").forEach(function (node) {
      var hit = query !== "" && node.dataset.name.toLowerCase().indexOf(query) >= 0;
      node.classList.toggle("match", hit);
      node.classList.toggle("dim", query !== "" && !hit);
      if (hit) matches.push(node);
    });
    pane.querySelectorAll(".group, .external").forEach(function (item) { item.classList.toggle("dim", query !== ""); });
    pane.querySelectorAll(".edge").forEach(function (edge) { edge.classList.toggle("dim", query !== ""); });
    searchCount.textContent = query === "" ? "" : matches.length + " match" + (matches.length === 1 ? "" : "es");
    var here = matches.filter(function (node) { return scopeOf(node.dataset.id) === current; });
    if (matches.length && !here.length) {
      showScope(scopeOf(matches[0].dataset.id));
      here = [matches[0]];
    }
    if (here.length) reveal(here[0]);
    return here.concat(matches.filter(function (node) { return here.indexOf(node) < 0; }));
  }

  function zoom(factor) {
    scale = Math.min(Math.max(factor, 0.01), 4);
    svg.setAttribute("width", (natural.width * scale).toFixed(0));
    svg.setAttribute("height", (natural.height * scale).toFixed(0));
  }

  pane.addEventListener("click", function (event) {
    if (!event.target.closest("svg")) {
      var crumb = event.target.closest(".crumb");
      if (crumb) showScope(crumb.dataset.scope);
      if (event.target.closest("#collapse")) showScope(data.groups[current].parent || "");
      return;
    }
    var group = event.target.closest(".group");
    if (group) {
      showScope(group.dataset.group);
      return;
    }
    var node = event.target.closest(".node");
    select(node ? node.dataset.id : null);
  });
  search.addEventListener("input", find);
  search.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    var matches = find();
    if (matches.length) {
      select(matches[0].dataset.id);
      reveal(matches[0]);  // again: the panel opening narrowed the pane
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") select(null);
  });
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(scale * 1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(scale / 1.25); });
  document.getElementById("zoom-reset").addEventListener("click", function () { zoom(1); });
  document.getElementById("zoom-fit").addEventListener("click", function () {
    zoom(Math.min(pane.clientWidth / natural.width, pane.clientHeight / natural.height, 1));
  });
  function trailHeight() {
    return trail.offsetHeight || 38;
  }

  if (Object.keys(data.groups).length) showScope("");  // a model with blocks: its overview fits the window
  window.graphnnViz = { select: select, find: find, zoom: zoom, data: data, showScope: showScope,
                        scope: function () { return current; } };
}());
