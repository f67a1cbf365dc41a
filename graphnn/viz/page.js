// The graphnn visualiser page's script (inlined by graphnn/viz/html.py): node panel, search, zoom.
// Everything taken from the model goes into the page as text (textContent), never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("graphnn-data").textContent);
  var pane = document.getElementById("graph");
  var svg = pane.querySelector("svg");
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

  function select(id) {
    svg.querySelectorAll(".node.selected").forEach(function (n) { n.classList.remove("selected"); });
    svg.querySelectorAll(".edge.active").forEach(function (e) { e.classList.remove("active"); });
    if (id === null) {
      panel.hidden = true;
      return;
    }
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

  function find() {
    var query = search.value.trim().toLowerCase();
    var matches = [];
    svg.querySelectorAll(".node").forEach(function (node) {
      var hit = query !== "" && node.dataset.name.toLowerCase().indexOf(query) >= 0;
      node.classList.toggle("match", hit);
      node.classList.toggle("dim", query !== "" && !hit);
      if (hit) matches.push(node);
    });
    svg.querySelectorAll(".edge").forEach(function (edge) { edge.classList.toggle("dim", query !== ""); });
    searchCount.textContent = query === "" ? "" : matches.length + " match" + (matches.length === 1 ? "" : "es");
    if (matches.length) reveal(matches[0]);
    return matches;
  }

  function zoom(factor) {
    scale = Math.min(Math.max(factor, 0.01), 4);
    svg.setAttribute("width", (natural.width * scale).toFixed(0));
    svg.setAttribute("height", (natural.height * scale).toFixed(0));
  }

  svg.addEventListener("click", function (event) {
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
  window.graphnnViz = { select: select, find: find, zoom: zoom, data: data };
}());
