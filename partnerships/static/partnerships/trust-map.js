/* Trust members map (Leaflet, served locally). Works offline: without tiles the markers are still drawn, and the
   members table beside the map lists every school with its distance to the trust's centre. */
(function () {
  "use strict";
  var el = document.getElementById("trust-map");
  var dataEl = document.getElementById("trust-map-data");
  if (!el || !dataEl || typeof L === "undefined" || !window.spMap) { return; }
  var points = JSON.parse(dataEl.textContent);
  if (!points.length) { return; }
  L.Icon.Default.imagePath = el.getAttribute("data-icon-path");
  var map = L.map(el, { scrollWheelZoom: false });
  window.spMap.addBase(map, el);
  var bounds = [];
  points.forEach(function (p) {
    L.marker([p.lat, p.lon], { title: p.name, alt: p.name, keyboard: false }).bindTooltip(p.name).addTo(map);
    bounds.push([p.lat, p.lon]);
  });
  var clat = parseFloat(el.getAttribute("data-centroid-lat"));
  var clon = parseFloat(el.getAttribute("data-centroid-lon"));
  if (!isNaN(clat) && !isNaN(clon)) {
    L.circleMarker([clat, clon], { radius: 6, color: "#d4351c", weight: 3, fillOpacity: 0.6 }).bindTooltip("Centre of the trust").addTo(map);
  }
  if (bounds.length === 1) { map.setView(bounds[0], 12); } else { map.fitBounds(L.latLngBounds(bounds), { padding: [30, 30], maxZoom: 13 }); }
  el.setAttribute("data-ready", "true");
})();
