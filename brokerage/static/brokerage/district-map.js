/* Unmet need by district (Leaflet, served locally): England's district outlines shaded by the number of needs the
   matching left unserved. Drawn from the app's own outline file, so it works with no tile server or network;
   the table below the map holds the same figures. */
(function () {
  "use strict";
  var el = document.getElementById("district-map");
  if (!el || typeof L === "undefined" || !window.spMap) { return; }
  var data = document.getElementById(el.getAttribute("data-shading-id"));
  var unserved = data ? JSON.parse(data.textContent) : {};
  var COLOURS = ["#f3f2f1", "#f4c2b6", "#e0775f", "#aa2a16"]; /* 0, 1, 2-4, 5+ unserved */
  function shade(feature) {
    var name = feature.properties.name;
    if (!Object.prototype.hasOwnProperty.call(unserved, name)) {
      return { color: "#b1b4b6", weight: 0.6, fillColor: "#ffffff", fillOpacity: 1 };
    }
    var n = unserved[name];
    var c = n >= 5 ? COLOURS[3] : n >= 2 ? COLOURS[2] : n >= 1 ? COLOURS[1] : COLOURS[0];
    return { color: "#505a5f", weight: 0.8, fillColor: c, fillOpacity: 1 };
  }
  var map = L.map(el, { scrollWheelZoom: false, attributionControl: true });
  map.setView([52.8, -1.6], 6);
  window.spMap.drawOutlines(map, el, shade).then(function (layer) {
    if (!layer) { return; }
    var bounds = [];
    layer.eachLayer(function (l) {
      if (Object.prototype.hasOwnProperty.call(unserved, l.feature.properties.name)) { bounds.push(l.getBounds()); }
    });
    if (bounds.length) {
      var b = bounds[0];
      for (var i = 1; i < bounds.length; i++) { b.extend(bounds[i]); }
      map.fitBounds(b, { padding: [10, 10] });
    }
    el.setAttribute("data-ready", "true");
  });
})();
