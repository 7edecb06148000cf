// Render the math that pymdownx.arithmatex (generic mode) leaves in .arithmatex elements as
// \[ … \] (display) and \( … \) (inline), with the KaTeX copied from node_modules by
// docs/hooks/npm_assets.py. Only those elements are touched, so code blocks are never scanned.
// A formula KaTeX cannot parse is shown in red as a .katex-error span (the browser test looks for them).
(function () {
  "use strict";

  var DELIMITERS = [
    { open: "\\[", close: "\\]", displayMode: true },
    { open: "\\(", close: "\\)", displayMode: false },
  ];

  function renderMath(root) {
    root.querySelectorAll(".arithmatex").forEach(function (element) {
      if (element.querySelector(".katex")) return; // already rendered
      var text = element.textContent.trim();
      DELIMITERS.some(function (d) {
        if (!text.startsWith(d.open) || !text.endsWith(d.close)) return false;
        var tex = text.slice(d.open.length, text.length - d.close.length);
        katex.render(tex, element, { displayMode: d.displayMode, throwOnError: false });
        return true;
      });
    });
  }

  // Material's document$ emits the first page and every page reached by instant navigation,
  // which swaps the content without running this script again.
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { renderMath(document.body); });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { renderMath(document.body); });
  } else {
    renderMath(document.body);
  }
})();
