// Tinyforge panel: opens the Sync confirm <dialog>, and shows times in the browser's time zone.
// Without JavaScript (or <dialog>) the Sync link goes to the confirm page instead, so every
// action also works as a plain form post, and times stay in the server's readable UTC text.
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

// localTimes rewrites every <time datetime="RFC 3339"> as a short local date and time in the
// page's language ("2 Dec 2026, 14:05"); the exact time stays in its title, shown on hover.
function localTimes() {
  var locale = document.documentElement.lang === "ru" ? "ru-RU" : "en-GB";
  var format;
  try {
    format = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  } catch (err) {
    return;
  }
  var times = document.querySelectorAll("time[datetime]");
  for (var i = 0; i < times.length; i++) {
    var el = times[i];
    var exact = el.getAttribute("datetime");
    var when = new Date(exact);
    if (isNaN(when.getTime())) { continue; }
    el.textContent = format.format(when);
    el.setAttribute("data-local", "");
  }
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", localTimes);
} else {
  localTimes();
}
