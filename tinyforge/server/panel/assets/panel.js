// Tinyforge panel: opens the Sync confirm <dialog>. Without JavaScript (or <dialog>) the Sync
// link goes to the confirm page instead, so every action also works as a plain form post.
"use strict";
document.addEventListener("click", function (e) {
  var t = e.target instanceof Element ? e.target : null;
  if (!t) { return; }
  var opener = t.closest("[data-dialog]");
  if (opener) {
    var d = document.getElementById(opener.getAttribute("data-dialog"));
    if (d && typeof d.showModal === "function") {
      e.preventDefault();
      d.showModal();
      var first = d.querySelector("button[type=submit]");
      if (first) { first.focus(); }
    }
    return;
  }
  var closer = t.closest("[data-close]");
  if (closer) {
    var dlg = closer.closest("dialog");
    if (dlg) { e.preventDefault(); dlg.close(); }
  }
});
