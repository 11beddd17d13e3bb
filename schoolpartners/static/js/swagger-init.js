// Start Swagger UI on /api/docs with the settings the page carries as JSON (no inline script: CSP).
(function () {
  var config = JSON.parse(document.getElementById("swagger-settings").textContent);
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  var csrf = document.cookie.split("; ").filter(function (c) { return c.indexOf("csrftoken=") === 0; })[0];
  if (csrf) {
    config.requestInterceptor = function (req) {
      req.headers["X-CSRFToken"] = csrf.split("=")[1];
      return req;
    };
  }
  window.ui = SwaggerUIBundle(config);
})();
