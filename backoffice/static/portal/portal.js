/* Customer portal: small progressive enhancements, no framework, no inline script (the CSP
   allows scripts from our own origin only). Everything here also works without it: the server
   checks every limit again and answers with a field error.

   - A character counter under every textarea and text input with a maxlength. The browser's
     own maxlength would cut a pasted text silently; it is lifted (kept as data-maxlength) so
     the customer sees "n characters too many" and the server refuses it with a field error.
   - File inputs: a file over the upload limit (body data-max-upload-bytes, or the input's own
     data-max-bytes) is refused before anything is sent, with a message at the field.
   - A form with errors: the summary at the top gets the focus; every field in error is
     marked aria-invalid.
   - A submit button is disabled for a moment after the first click (no double sending).
*/
(function () {
  "use strict";

  var body = document.body;

  function message(name, values) {
    var text = body.getAttribute("data-msg-" + name) || "";
    Object.keys(values).forEach(function (key) {
      text = text.split("{" + key + "}").join(String(values[key]));
    });
    return text;
  }

  function counted(field) {
    var type = (field.getAttribute("type") || "text").toLowerCase();
    if (field.tagName === "INPUT" && ["text", "email", "search", "url", "tel"].indexOf(type) < 0) {
      return false;
    }
    if (field.tagName === "INPUT" && field.hasAttribute("autocomplete")) {
      return false; // a username, an address, a one-time code: short and known to the customer
    }
    return true;
  }

  function attachCounter(field) {
    var max = parseInt(field.getAttribute("maxlength"), 10);
    if (!max || !counted(field)) {
      return;
    }
    if (field.tagName === "TEXTAREA") {
      // A textarea's maxlength cuts a pasted text without a word: count instead.
      field.removeAttribute("maxlength");
      field.setAttribute("data-maxlength", String(max));
    }
    var counter = document.createElement("p");
    counter.className = "counter";
    counter.setAttribute("aria-live", "polite");
    counter.setAttribute("data-testid", "counter-" + (field.name || "field"));
    if (!field.id) {
      field.id = "field-" + Math.random().toString(36).slice(2);
    }
    counter.id = field.id + "-counter";
    var described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    field.insertAdjacentElement("afterend", counter);

    function update() {
      // Count as the server does: characters, not UTF-16 units (an emoji is one).
      var count = Array.from(field.value).length;
      var over = count - max;
      if (over > 0) {
        counter.textContent = message("counter-over", { over: over, max: max });
        counter.classList.add("over");
        field.setAttribute("aria-invalid", "true");
      } else {
        counter.textContent = message("counter", { count: count, max: max });
        counter.classList.remove("over");
        if (!field.closest(".has-error")) {
          field.removeAttribute("aria-invalid");
        }
      }
    }
    field.addEventListener("input", update);
    update();
  }

  function fileError(input, text) {
    var holder = input.closest(".field") || input.parentNode;
    var note = holder.querySelector(".file-error");
    if (!text) {
      if (note) {
        note.remove();
      }
      input.removeAttribute("aria-invalid");
      return;
    }
    if (!note) {
      note = document.createElement("p");
      note.className = "field-error file-error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-testid", "file-too-large");
      input.insertAdjacentElement("afterend", note);
    }
    note.textContent = text;
    input.setAttribute("aria-invalid", "true");
  }

  function tooLarge(input) {
    var limit = parseInt(
      input.getAttribute("data-max-bytes") || body.getAttribute("data-max-upload-bytes"),
      10
    );
    if (!limit || !input.files) {
      return false;
    }
    return Array.from(input.files).some(function (file) {
      return file.size > limit;
    });
  }

  function attachFileCheck(input) {
    input.addEventListener("change", function () {
      // The file stays chosen and the message stays shown: sending is refused (guardForm)
      // until another file is chosen. Emptying the input instead let the next click send the
      // text alone, without the file the customer meant, and took the message away.
      if (tooLarge(input)) {
        fileError(input, message("file-too-large", {}));
      } else {
        fileError(input, "");
      }
    });
  }

  function guardForm(form) {
    form.addEventListener("submit", function (event) {
      var files = form.querySelectorAll("input[type=file]");
      for (var i = 0; i < files.length; i += 1) {
        if (tooLarge(files[i])) {
          event.preventDefault();
          fileError(files[i], message("file-too-large", {}));
          files[i].focus();
          return;
        }
      }
      var buttons = form.querySelectorAll("button[type=submit], button:not([type])");
      buttons.forEach(function (button) {
        window.setTimeout(function () {
          button.disabled = true;
        }, 0);
        window.setTimeout(function () {
          button.disabled = false;
        }, 4000);
      });
    });
  }

  document.querySelectorAll("textarea[maxlength], input[maxlength]").forEach(attachCounter);
  document.querySelectorAll("input[type=file]").forEach(attachFileCheck);
  document.querySelectorAll("main form").forEach(guardForm);
  document.querySelectorAll(".has-error input, .has-error textarea, .has-error select")
    .forEach(function (field) {
      field.setAttribute("aria-invalid", "true");
    });
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
})();
