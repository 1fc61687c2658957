// Progressive enhancement only: every page reads and works without this script.
// It adds a "Copy" button to each copy-paste snippet.
(function () {
  "use strict";
  function addCopyButton(pre) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy secondary";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + (pre.getAttribute("aria-label") || "this snippet"));
    button.addEventListener("click", function () {
      var text = pre.innerText;
      var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 2000); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(pre); });
      } else {
        select(pre);
      }
    });
    var label = pre.previousElementSibling;
    (label || pre.parentNode).appendChild(button);
  }
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("pre[data-copy]").forEach(addCopyButton);
  });
})();
