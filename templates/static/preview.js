// Live reload: long-poll /changes and reload the page when the preview's version goes up.
(function () {
  var version = Number(document.body.dataset.version || 0);
  var text = document.getElementById("live-text");
  function poll() {
    fetch("/changes?since=" + version, { cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        if (data.version > version) {
          if (text) { text.textContent = "Change saved, reloading..."; }
          window.location.reload();
        } else { poll(); }
      })
      .catch(function () {
        if (text) { text.textContent = "Preview server not reachable; retrying..."; }
        setTimeout(poll, 2000);
      });
  }
  poll();
})();
