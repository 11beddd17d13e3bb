/* School and partner map (Leaflet, served locally). Works offline: with no tile URL, or when tiles fail to load,
   both markers and the line between them are still drawn, and the page prints the coordinates as text. */
(function () {
  "use strict";
  var el = document.getElementById("partner-map");
  if (!el || typeof L === "undefined" || !window.spMap) { return; }
  var lat = parseFloat(el.getAttribute("data-lat"));
  var lon = parseFloat(el.getAttribute("data-lon"));
  if (isNaN(lat) || isNaN(lon)) { return; }
  L.Icon.Default.imagePath = el.getAttribute("data-icon-path");
  var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 12);
  window.spMap.addBase(map, el);
  var name = el.getAttribute("data-name") || "School";
  L.circleMarker([lat, lon], { radius: 10, color: "#d4351c", weight: 3, fillOpacity: 0.4 })
    .bindTooltip(name).addTo(map);
  var plat = parseFloat(el.getAttribute("data-partner-lat"));
  var plon = parseFloat(el.getAttribute("data-partner-lon"));
  if (!isNaN(plat) && !isNaN(plon)) {
    var pname = el.getAttribute("data-partner-name") || "Partner";
    L.polyline([[lat, lon], [plat, plon]], { color: "#0b0c0c", weight: 2, dashArray: "6 6" }).addTo(map);
    L.marker([plat, plon], { title: pname, alt: pname, keyboard: false }).bindTooltip(pname).addTo(map);
    map.fitBounds(L.latLngBounds([[lat, lon], [plat, plon]]), { padding: [30, 30], maxZoom: 14 });
  }
  el.setAttribute("data-ready", "true");
})();
