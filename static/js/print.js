// Printable pages: the Print button (no inline script under the CSP).
document.addEventListener("click", function (event) {
  "use strict";
  if (event.target.closest("[data-print-page]")) {
    window.print();
  }
});
