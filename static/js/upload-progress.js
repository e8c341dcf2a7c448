// An upload's page while it is checked or applied (upload_status.html): every few seconds, read the page again and
// put its progress in place, so that a screen reader hears the new figure rather than a whole page reloaded. Once
// the work is done the page is loaded whole (the preview, the problems or the result). A request that fails, on a
// bad connection, is simply tried again at the next turn. Without script, a <noscript> meta refresh does the same.
(function () {
  "use strict";
  var region = document.querySelector("[data-poll-seconds]");
  if (!region || !window.fetch || !window.DOMParser) {
    return;
  }
  var every = Number(region.getAttribute("data-poll-seconds")) * 1000;

  function poll() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("[data-poll-seconds]");
        if (!next) {
          window.location.reload();
          return;
        }
        if (next.innerHTML !== region.innerHTML) {
          region.innerHTML = next.innerHTML;
        }
        window.setTimeout(poll, every);
      })
      .catch(function () {
        window.setTimeout(poll, every);
      });
  }

  window.setTimeout(poll, every);
})();
