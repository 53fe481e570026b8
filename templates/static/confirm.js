// Confirm on page load for people with a browser; mail scanners that only fetch the link do not.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("confirm-form");
  if (form && !form.dataset.sent) { form.dataset.sent = "1"; form.submit(); }
});
