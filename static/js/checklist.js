// The enrolment checklist: a running clock since the first tick, and the
// "copy the EHR note" button. Loaded as a file: pages allow no inline script.
(function () {
  "use strict";

  function formatElapsed(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = Math.floor(seconds % 60);
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function tickClocks() {
    document.querySelectorAll("[data-clock-since]").forEach(function (clock) {
      var since = Date.parse(clock.getAttribute("data-clock-since"));
      if (!isNaN(since)) {
        clock.textContent = formatElapsed(Math.max(0, (Date.now() - since) / 1000));
      }
    });
  }

  function copyFrom(button) {
    var source = document.querySelector(button.getAttribute("data-copy-from"));
    if (!source) {
      return;
    }
    var done = function () {
      button.textContent = button.getAttribute("data-copied-text") || button.textContent;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value || source.textContent).then(done);
    } else {
      source.select();
      document.execCommand("copy");
      done();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-from]");
    if (button) {
      copyFrom(button);
    }
  });
  tickClocks();
  setInterval(tickClocks, 1000);
})();
