/* Cold-spot map (Leaflet, served locally): needs with no compatible offer within 50 miles. Works offline: with no
   tile URL, or when tiles fail, England's district outlines are drawn (basemap.js), the circles are still drawn; the page lists the same places as text. */
(function () {
  "use strict";
  var el = document.getElementById("cold-map");
  if (!el || typeof L === "undefined" || !window.spMap) { return; }
  var data = document.getElementById(el.getAttribute("data-points-id"));
  var points = data ? JSON.parse(data.textContent) : [];
  if (!points.length) { return; }
  var map = L.map(el, { scrollWheelZoom: false });
  window.spMap.addBase(map, el);
  var bounds = [];
  points.forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { radius: 7, color: "#d4351c", weight: 2, fillOpacity: 0.5 })
      .bindTooltip(p.name + ": " + p.area).addTo(map);
    bounds.push([p.lat, p.lon]);
  });
  map.fitBounds(L.latLngBounds(bounds), { padding: [30, 30], maxZoom: 11 });
  el.setAttribute("data-ready", "true");
})();
