// Starts Swagger UI on /docs. A file rather than an inline script, so the page runs under the
// server's Content-Security-Policy (script-src 'self'); the UI's own files come from the
// installed package (/docs/assets), never from a CDN.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null, // the default asks validator.swagger.io for a badge
});
