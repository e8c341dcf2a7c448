// A region's heat map (templates/implementation/_region.html, "heatmap"): a click on a cell opens its State's page at
// its measure. A cell is one element with no link of its own, as a region has thousands of them; keyboards and screen
// readers reach a State through the link in its column's header, the address this takes. A State's page lists its
// measures only once it is rated (data-rated on the header); otherwise the cell opens the page at its top.
(function () {
  "use strict";

  function openCell(event) {
    var table = event.currentTarget;
    var cell = event.target.closest ? event.target.closest("td") : null;
    if (!cell || !table.contains(cell) || !table.tHead) {
      return;
    }
    var header = table.tHead.rows[0].cells[cell.cellIndex];
    var link = header ? header.querySelector("a[href]") : null;
    var code = cell.parentNode.querySelector("th .hm-code");
    if (!link || !code) {
      return;
    }
    var address = link.href;
    if (header.hasAttribute("data-rated")) {
      address += "#measure-" + encodeURIComponent(code.textContent.trim());
    }
    if (event.ctrlKey || event.metaKey || event.shiftKey) {
      window.open(address, "_blank", "noopener");
    } else {
      window.location.assign(address);
    }
  }

  var tables = document.querySelectorAll("table.heatmap");
  for (var i = 0; i < tables.length; i += 1) {
    tables[i].addEventListener("click", openCell);
  }
})();
