/* The base layer of every map (Leaflet, served locally). With a tile server configured and answering, its tiles;
   with none configured, or when tiles fail or do not arrive within a few seconds, England's district outlines
   (ONS, Open Government Licence) served by this app from the data bundle. The map element then carries
   data-base="tiles" or data-base="outlines" once the base layer is drawn. */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="sp-map-outlines"]');
  var OUTLINES = meta ? meta.getAttribute("content") : null;
  var WAIT_MS = 4000;
  var cached = null;

  function loadOutlines() {
    if (!cached) {
      cached = fetch(OUTLINES, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("outlines " + r.status); }
        return r.json();
      });
    }
    return cached;
  }

  function drawOutlines(map, el, style) {
    if (!OUTLINES || el.getAttribute("data-base") === "outlines") { return Promise.resolve(null); }
    el.setAttribute("data-base", "loading");
    return loadOutlines().then(function (gj) {
      var layer = L.geoJSON(gj, {
        interactive: false,
        style: style || function () {
          return { color: "#505a5f", weight: 1, opacity: 0.8, fillColor: "#f3f2f1", fillOpacity: 1 };
        }
      }).addTo(map);
      layer.bringToBack();
      el.classList.add("sp-map--outlines");
      el.setAttribute("data-base", "outlines");
      map.attributionControl.addAttribution("District outlines: ONS (OGL)");
      return layer;
    });
  }

  /* Add the base layer to `map` (drawn in element `el`, whose data-tiles/data-attribution name the tile server). */
  function addBase(map, el) {
    var tiles = el.getAttribute("data-tiles");
    if (!tiles) { return drawOutlines(map, el); }
    var loaded = false;
    var layer = L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" });
    function fallBack() {
      if (loaded) { return; }
      map.removeLayer(layer);
      drawOutlines(map, el);
    }
    layer.on("tileload", function () {
      if (!loaded) { loaded = true; el.setAttribute("data-base", "tiles"); }
    });
    layer.on("tileerror", fallBack);
    layer.addTo(map);
    window.setTimeout(fallBack, WAIT_MS);
    return Promise.resolve(layer);
  }

  window.spMap = { addBase: addBase, drawOutlines: drawOutlines, loadOutlines: loadOutlines };
})();
