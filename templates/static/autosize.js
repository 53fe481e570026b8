// Size the archived issue's frame to its content (the frame runs no script of its own).
(function () {
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (doc && doc.documentElement) { frame.style.height = doc.documentElement.scrollHeight + 24 + "px"; }
    } catch (e) { /* keep the fixed height */ }
  }
  document.querySelectorAll("iframe[data-autosize]").forEach(function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") { fit(frame); }
    window.addEventListener("resize", function () { fit(frame); });
  });
})();
