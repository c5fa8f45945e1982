/* civicgrid pages: Leaflet maps (location picker, case pin, grid load map).
 * Pages work without this file (plain forms); it only adds the maps.
 * No external requests: base tiles are drawn only when the server configures an intranet tile URL. */
(function () {
  "use strict";

  var DEFAULT_CENTER = [26.09, 119.34];

  function tiles(map, el) {
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    var url = el.getAttribute("data-tiles");
    if (url) {
      L.tileLayer(url, { maxZoom: 19 }).addTo(map);
    }
  }

  function center(el) {
    var raw = el.getAttribute("data-center");
    if (!raw) { return DEFAULT_CENTER; }
    var parts = raw.split(",").map(Number);
    return parts.length === 2 && parts.every(isFinite) ? parts : DEFAULT_CENTER;
  }

  function tipContent(name, count, countLabel) {
    var box = document.createElement("div");
    box.className = "grid-tip";
    var strong = document.createElement("strong");
    strong.textContent = name;
    box.appendChild(strong);
    if (count !== null && count !== undefined) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(countLabel + ": " + count));
    }
    return box;
  }

  function loadGrids(el, map, style, onEach) {
    var url = el.getAttribute("data-grids");
    if (!url) { return Promise.resolve(null); }
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, { style: style, onEachFeature: onEach }).addTo(map);
        return { layer: layer, count: (data.features || []).length };
      });
  }

  function lang() { return document.body.getAttribute("data-lang") || "zh"; }

  function gridName(props) {
    return lang() === "en" ? (props.name_en || props.name_zh) : props.name_zh;
  }

  /* New-case form: click to set the location; the hidden lat/lon fields carry it. */
  function pickMap(el) {
    var map = L.map(el, { zoomControl: true }).setView(center(el), 14);
    tiles(map, el);
    var form = el.closest("form");
    var latField = form.querySelector("#" + el.getAttribute("data-lat-field"));
    var lonField = form.querySelector("#" + el.getAttribute("data-lon-field"));
    var status = document.getElementById("pick-status");
    var marker = null;

    function place(lat, lon) {
      if (marker) { marker.setLatLng([lat, lon]); } else { marker = L.marker([lat, lon]).addTo(map); }
      latField.value = lat.toFixed(6);
      lonField.value = lon.toFixed(6);
      if (status) {
        status.querySelector("[data-empty]").hidden = true;
        status.querySelector("[data-chosen]").hidden = false;
        status.querySelector("[data-coords]").textContent = latField.value + ", " + lonField.value;
      }
    }

    map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng); });
    loadGrids(el, map, function () {
      return { color: "#1d4f91", weight: 1, fillOpacity: 0.05, dashArray: "3" };
    }, function (feature, layer) {
      layer.bindTooltip(tipContent(gridName(feature.properties), null, ""), { sticky: true });
      layer.on("click", function (e) { place(e.latlng.lat, e.latlng.lng); });
    }).then(function (res) {
      if (res && res.count && !latField.value) { map.fitBounds(res.layer.getBounds(), { padding: [10, 10] }); }
    }).catch(function () { /* the picker still works without the grid outlines */ });
    if (latField.value && lonField.value) {
      place(Number(latField.value), Number(lonField.value));
      map.setView([Number(latField.value), Number(lonField.value)], 15);
    }
    el.setAttribute("data-ready", "1");
  }

  /* Case detail: the case's position and its grid. */
  function pinMap(el) {
    var lat = Number(el.getAttribute("data-lat"));
    var lon = Number(el.getAttribute("data-lon"));
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 15);
    tiles(map, el);
    var grid = el.getAttribute("data-grid");
    if (grid) {
      var layer = L.geoJSON(JSON.parse(grid), {
        style: { color: "#1d4f91", weight: 2, fillColor: "#1d4f91", fillOpacity: 0.08 },
      }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [12, 12] });
    }
    var marker = L.marker([lat, lon]).addTo(map);
    var label = el.getAttribute("data-popup");
    if (label) { marker.bindTooltip(label); }
    el.setAttribute("data-ready", "1");
  }

  /* Grid map: every grid coloured by open cases; hover for name and count. */
  function gridsMap(el) {
    var map = L.map(el).setView(center(el), 13);
    tiles(map, el);
    var status = document.getElementById("grid-map-status");
    var countLabel = el.getAttribute("data-count-label") || "";
    if (status) { status.textContent = status.getAttribute("data-loading"); }
    loadGrids(el, map, function (feature) {
      return { color: "#5b6b7f", weight: 1, fillColor: feature.properties.fill, fillOpacity: 0.75 };
    }, function (feature, layer) {
      var p = feature.properties;
      layer.bindTooltip(tipContent(gridName(p), p.open_cases, countLabel), { sticky: true });
      layer.on("mouseover", function () { layer.setStyle({ weight: 3, color: "#123764" }); });
      layer.on("mouseout", function () { layer.setStyle({ weight: 1, color: "#5b6b7f" }); });
    }).then(function (res) {
      if (res && res.count) { map.fitBounds(res.layer.getBounds(), { padding: [16, 16] }); }
      if (status) { status.textContent = status.getAttribute("data-loaded").replace("{n}", res ? res.count : 0); }
      el.setAttribute("data-ready", "1");
    }).catch(function () {
      if (status) { status.textContent = status.getAttribute("data-failed"); }
    });
  }

  var KINDS = { pick: pickMap, pin: pinMap, grids: gridsMap };

  function init(root) {
    if (typeof L === "undefined") { return; }
    var scope = root && root.querySelectorAll ? root : document;
    var maps = Array.prototype.slice.call(scope.querySelectorAll("[data-map]"));
    if (scope.matches && scope.matches("[data-map]")) { maps.push(scope); }
    maps.forEach(function (el) {
      if (el.getAttribute("data-init")) { return; }
      var make = KINDS[el.getAttribute("data-map")];
      if (make) { el.setAttribute("data-init", "1"); make(el); }
    });
  }

  /* After htmx changes the address (list filters), the language switch should come back here. */
  function followAddress() {
    var here = window.location.pathname + window.location.search;
    document.querySelectorAll(".langswitch a").forEach(function (a) {
      var url = new URL(a.getAttribute("href"), window.location.origin);
      url.searchParams.set("next", here);
      a.setAttribute("href", url.pathname + url.search);
    });
  }
  document.addEventListener("htmx:pushedIntoHistory", followAddress);

  /* "Go back" links: back in history when there is one, else their own href (home). */
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-back]");
    if (link && window.history.length > 1) {
      e.preventDefault();
      window.history.back();
    }
  });

  if (window.htmx) {
    window.htmx.onLoad(init);
  } else {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  }
})();
