// The case action "message": picking a canned reply fills the message box with its text, already
// filled in for the case by the server (the option's data-text). Without script the form still
// works: a canned reply picked with an empty box is sent as it is.
(function () {
  "use strict";

  function wire() {
    document.querySelectorAll("select[data-canned-reply]").forEach(function (select) {
      var form = select.form;
      var box = form && form.querySelector("textarea[data-canned-target]");
      if (!box) {
        return;
      }
      select.addEventListener("change", function () {
        var option = select.options[select.selectedIndex];
        var text = option ? option.getAttribute("data-text") : null;
        if (text !== null) {
          box.value = text;
          box.dispatchEvent(new Event("input", { bubbles: true }));
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
