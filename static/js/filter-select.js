// A search box that narrows a long <select> (the enrol picker: every installer, grouped by team).
// Without JavaScript the box stays hidden and the grouped list works on its own.
(function () {
  "use strict";
  document.querySelectorAll("input[data-filter-select]").forEach(function (box) {
    var select = document.getElementById(box.dataset.filterSelect);
    if (!select) { return; }
    box.parentElement.hidden = false;
    box.addEventListener("input", function () {
      var words = box.value.trim().toLowerCase();
      var first = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var group = option.parentElement.tagName === "OPTGROUP" ? option.parentElement.label : "";
        var match = !words || (option.text + " " + group).toLowerCase().indexOf(words) !== -1;
        option.hidden = !match;
        option.disabled = !match;  // browsers that show hidden options still skip disabled ones
        if (match && first === null) { first = option; }
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      if (first !== null && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) {
        first.selected = true;
      }
    });
  });
})();
