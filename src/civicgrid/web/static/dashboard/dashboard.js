/* 指挥中心大屏: loads /api/dashboard, draws ECharts panels, follows live counters over SSE. */
(function () {
  "use strict";
  var root = document.getElementById("dash");
  if (!root) return;
  var regionId = root.dataset.region;
  var en = root.dataset.lang === "en";
  var charts = {};
  var state = { data: null, measure: "open_now" };
  var RISK = { green: "#52c41a", blue: "#1890ff", yellow: "#fadb14", orange: "#fa8c16", red: "#f5222d" };
  var AXIS = { axisLine: { lineStyle: { color: "#3a5a80" } }, axisLabel: { color: "#8fb0d6" }, splitLine: { lineStyle: { color: "#16304f" } } };

  function t(zh, e) { return en ? e : zh; }
  function nm(o) { return en ? (o.name_en || o.name) : o.name; }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) n.textContent = text;
    return n;
  }
  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    return charts[id];
  }
  function fmtRate(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }

  function setCounters(c) {
    ["received", "registered", "open_now", "overdue_now", "closures", "satisfaction"].forEach(function (k) {
      var box = document.getElementById("counter-" + k);
      if (!box || !c[k]) return;
      var v = c[k].value;
      var text = v === null ? "—" : (k === "satisfaction" ? v + "%" : String(v));
      var span = box.querySelector("[data-value]");
      if (span.textContent !== text && span.textContent !== "—") {
        span.classList.add("bump");
        setTimeout(function () { span.classList.remove("bump"); }, 1500);
      }
      span.textContent = text;
      box.href = c[k].href;
    });
  }

  function list(id, items, render) {
    var ol = document.getElementById(id);
    ol.innerHTML = "";
    if (!items.length) { ol.appendChild(el("li", { "class": "empty" }, t("暂无", "None"))); return; }
    items.forEach(function (it) { ol.appendChild(render(it)); });
  }
  function linkRow(text, href, num, cls) {
    var li = el("li");
    li.appendChild(el("a", { href: href }, text));
    var a = el("a", { href: href, "class": cls || "n" }, num);
    li.appendChild(a);
    return li;
  }

  function drawMap(m) {
    var c = chart("map");
    var feats = m.features.filter(function (f) { return f.geometry; });
    var name = "r" + regionId;
    echarts.registerMap(name, { type: "FeatureCollection", features: feats.map(function (f) {
      return { type: "Feature", geometry: f.geometry, properties: { name: String(f.properties.id) } };
    }) });
    var key = state.measure;
    var values = m.features.map(function (f) {
      var p = f.properties;
      var v = key === "risk" ? RISK_ORDER.indexOf(p.risk || "") : p[key];
      return { name: String(p.id), value: v === null || v === undefined ? 0 : v, props: p };
    });
    var visual;
    if (key === "risk") {
      visual = { type: "piecewise", pieces: RISK_ORDER.map(function (col, i) { return { value: i, color: RISK[col] || "#334", label: col }; }).filter(function (p) { return p.label; }),
        left: 10, bottom: 10, textStyle: { color: "#8fb0d6" } };
    } else {
      var max = Math.max.apply(null, values.map(function (v) { return v.value; }).concat([1]));
      visual = { min: 0, max: max, left: 10, bottom: 10, calculable: true, text: [t("高", "high"), t("低", "low")],
        inRange: { color: ["#0e3a5f", "#1677ff", "#fadb14", "#fa541c", "#f5222d"] }, textStyle: { color: "#8fb0d6" } };
    }
    var series = [{
      type: "map", map: name, roam: true, data: values, selectedMode: false,
      label: { show: m.features.length <= 40, color: "#e6f0ff", fontSize: 11,
        formatter: function (p) { return p.data ? nm(p.data.props) : ""; } },
      itemStyle: { borderColor: "#6fb6ff", borderWidth: 1, areaColor: "#123" },
      emphasis: { label: { color: "#fff" }, itemStyle: { areaColor: "#40a9ff" } }
    }];
    var opt = {
      tooltip: { trigger: "item", formatter: function (p) {
        if (p.seriesType === "scatter") return p.data.title + "<br>" + p.data.state;
        var d = p.data && p.data.props; if (!d) return "";
        return nm(d) + "<br>" + t("在办", "Open") + " " + d.open_now + " · " + t("超期", "Overdue") + " " + d.overdue_now +
          "<br>" + t("每千人(30天)", "Per 1,000 (30 d)") + " " + (d.per_1000 === null ? "—" : d.per_1000) +
          (d.risk ? "<br>" + t("风险", "Risk") + " " + d.risk : "");
      } },
      visualMap: visual, series: series
    };
    if (m.leaf && m.cases.length) {
      opt.geo = { map: name, roam: true, itemStyle: { areaColor: "#123a5e", borderColor: "#6fb6ff" }, silent: true };
      series[0].geoIndex = 0;
      series.push({ type: "scatter", coordinateSystem: "geo", symbolSize: 12, zlevel: 2,
        data: m.cases.filter(function (k) { return k.lat !== null && k.lon !== null; }).map(function (k) {
          return { value: [k.lon, k.lat], title: k.number + " " + k.title, state: en ? k.state_en : k.state_zh, href: k.href,
            itemStyle: { color: k.overdue ? "#ff4d4f" : "#ffd666" } };
        }) });
    }
    c.setOption(opt, true);
    c.off("click");
    c.on("click", function (p) {
      if (p.seriesType === "scatter" && p.data.href) { window.location.href = p.data.href; return; }
      if (p.data && p.data.props && p.data.props.drill) window.location.href = "/dashboard?region=" + p.data.props.id;
    });
    var ul = document.getElementById("area-list");
    ul.innerHTML = "";
    m.features.forEach(function (f) {
      var p = f.properties;
      var li = el("li");
      li.appendChild(el("a", { href: p.drill ? "/dashboard?region=" + p.id : p.href_open, "data-area": p.id, "class": "area-link" }, nm(p)));
      var href = key === "overdue_now" ? p.href_overdue : (key === "per_1000" ? p.href_received : p.href_open);
      var val = key === "risk" ? (p.risk || "—") : (p[key] === null ? "—" : p[key]);
      li.appendChild(el("a", { href: href, "class": "num" }, String(val)));
      ul.appendChild(li);
    });
    var panel = document.getElementById("grid-cases-panel");
    if (m.leaf) {
      panel.hidden = false;
      list("grid-cases", m.cases, function (k) {
        return linkRow(k.number + " " + k.title, k.href, en ? k.state_en : k.state_zh, k.overdue ? "meta overdue" : "meta");
      });
    }
  }
  var RISK_ORDER = ["green", "blue", "yellow", "orange", "red"];

  function lines(id, tr, key) {
    var c = chart(id);
    var series = tr[key].map(function (s) {
      return { name: nm(s), type: "line", smooth: true, showSymbol: false, data: s.data, href: s.href };
    });
    c.setOption({
      color: ["#40a9ff", "#73d13d", "#ffd666", "#ff7a45", "#b37feb", "#36cfc9", "#ff85c0", "#bfbfbf"],
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", textStyle: { color: "#9fb6d3" }, top: 0 },
      grid: { left: 36, right: 12, top: 30, bottom: 24 },
      xAxis: Object.assign({ type: "category", data: tr.days.map(function (d) { return d.slice(5); }) }, AXIS),
      yAxis: Object.assign({ type: "value", minInterval: 1 }, AXIS),
      series: series
    }, true);
    c.off("click");
    c.on("click", function (p) { window.location.href = tr.day_links[p.dataIndex]; });
    c.off("legendselectchanged");
  }

  function kpis(k) {
    var box = document.getElementById("kpis");
    box.innerHTML = "";
    document.getElementById("kpi-period").textContent = k.period;
    var score = el("a", { "class": "kpi score", href: "/assessment?region=" + regionId + "&period=" + k.period });
    score.appendChild(el("span", { "class": "k" }, t("综合指标值", "Composite score") + (k.grade ? " · " + (en ? k.grade.en : k.grade.zh) : "")));
    score.appendChild(el("span", { "class": "v", id: "kpi-score" }, k.score === null ? "—" : k.score.toFixed(1)));
    box.appendChild(score);
    var items = [["received", "受理数", "Received", "count"], ["registered", "立案数", "Registered", "count"],
      ["closure_rate", "结案率", "Closure rate", "rate", "closed"], ["on_time_closure_rate", "按期结案率", "On-time closure", "rate", "closed_on_time"],
      ["on_time_handling_rate", "按期处置率", "On-time handling", "rate", "handled_on_time"], ["overdue", "超期数", "Overdue", "count"],
      ["satisfaction_rate", "满意率", "Satisfaction", "rate", "satisfied"], ["self_handled", "自行处置数", "Handled at grid", "count"]];
    items.forEach(function (it) {
      var link = it[3] === "rate" ? k.links[it[4]] : k.links[it[0]];
      var a = el("a", { "class": "kpi", href: link || "#", "data-kpi": it[0] });
      a.appendChild(el("span", { "class": "k" }, t(it[1], it[2])));
      a.appendChild(el("span", { "class": "v" }, it[3] === "rate" ? fmtRate(k.rates[it[0]]) : String(k.counts[it[0]])));
      box.appendChild(a);
    });
  }

  function render(d) {
    state.data = d;
    setCounters(d.counters);
    drawMap(d.map);
    lines("trend-category", d.trends, "by_category");
    lines("trend-channel", d.trends, "by_channel");
    list("top-categories", d.top_categories, function (x) { return linkRow(nm(x), x.href, String(x.count)); });
    list("units-overdue", d.units_overdue, function (x) { return linkRow(nm(x), x.href, String(x.count)); });
    list("urgent", d.urgent, function (x) {
      return linkRow(x.number + " " + x.title, x.href, (en ? x.urgency_en : x.urgency_zh) + " · " + (en ? x.state_en : x.state_zh), x.overdue ? "meta overdue" : "meta");
    });
    list("hotspots", d.hotspots, function (x) {
      return linkRow(nm(x), x.dashboard, "+" + x.rise + " (" + x.last_week + "→" + x.this_week + ")");
    });
    kpis(d.kpis);
  }

  function load() {
    fetch("/api/dashboard?region=" + encodeURIComponent(regionId), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(render)
      .catch(function (e) { document.getElementById("live-state").textContent = t("加载失败 ", "Failed to load ") + e; });
  }

  function live() {
    if (!window.EventSource) return;
    var badge = document.getElementById("live-state");
    var es = new EventSource("/api/dashboard/stream?region=" + encodeURIComponent(regionId));
    es.addEventListener("counters", function (ev) {
      badge.textContent = "● " + t("实时", "live");
      badge.classList.add("on");
      setCounters(JSON.parse(ev.data));
    });
    es.onerror = function () { badge.textContent = "● " + t("重连中", "reconnecting"); badge.classList.remove("on"); };
  }

  function clock() {
    var c = document.getElementById("clock");
    var tick = function () { c.textContent = new Date().toLocaleString(en ? "en-GB" : "zh-CN", { hour12: false }); };
    tick(); setInterval(tick, 1000);
  }

  document.getElementById("measure").addEventListener("change", function (e) {
    state.measure = e.target.value;
    if (state.data) drawMap(state.data.map);
  });
  document.getElementById("fullscreen").addEventListener("click", function () {
    document.body.classList.toggle("dash-full");
    if (!document.fullscreenElement && document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(function () {});
    else if (document.exitFullscreen && document.fullscreenElement) document.exitFullscreen();
    setTimeout(function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); }, 200);
  });
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  clock();
  load();
  live();
})();
