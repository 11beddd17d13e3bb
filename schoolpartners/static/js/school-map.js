/* School location map (Leaflet, served locally). Works offline: with no tile URL, or when tiles fail to load,
   the marker is still drawn and the coordinates are always printed as text beside the map. */
(function () {
  "use strict";
  var el = document.getElementById("school-map");
  if (!el || typeof L === "undefined" || !window.spMap) { return; }
  var lat = parseFloat(el.getAttribute("data-lat"));
  var lon = parseFloat(el.getAttribute("data-lon"));
  if (isNaN(lat) || isNaN(lon)) { return; }
  L.Icon.Default.imagePath = el.getAttribute("data-icon-path");
  var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 15);
  window.spMap.addBase(map, el);
  var name = el.getAttribute("data-name") || "School";
  L.circleMarker([lat, lon], { radius: 10, color: "#d4351c", weight: 3, fillOpacity: 0.4 }).addTo(map);
  L.marker([lat, lon], { title: name, alt: name, keyboard: false }).addTo(map);
  el.setAttribute("data-ready", "true");
})();
