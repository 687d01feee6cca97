// gongfang pages: the glue htmx does not do. No framework, nothing loaded from outside.
(function () {
  "use strict";
  var gf = (window.gf = window.gf || {});
  gf.csrf = function () { return document.body ? document.body.dataset.csrf || "" : ""; };
  // JSON POST with the CSRF header (fetch does not send hx-headers).
  gf.post = function (url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrftoken": gf.csrf() },
      body: JSON.stringify(data || {})
    });
  };
  if (window.htmx) {
    // Validation answers (4xx) carry the form with its messages: swap them in like a 200.
    // 5xx is never swapped: the page keeps what it had and says so.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[4]..", swap: true, error: false },
      { code: "...", swap: false, error: true }
    ];
    document.addEventListener("htmx:responseError", function () {
      var box = document.getElementById("gf-net-error");
      if (box) { box.hidden = false; }
    });
  }
})();
