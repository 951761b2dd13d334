// tokensvc console: a progressive enhancement. Every page works without
// it, except copying to the clipboard and enabling a typed confirmation's
// button before the server checks the typed text anyway.
(function () {
  "use strict";

  // <button type="button" data-copy="ELEMENT-ID">Copy</button> copies the
  // text of the element with that id, and says so.
  function copyText(el) {
    var text = (el.tagName === "INPUT" || el.tagName === "TEXTAREA") ? el.value : el.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http (other than localhost) has no clipboard API: select the
    // text and ask the browser to copy it.
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    // The first label, kept across quick clicks.
    var label = button.getAttribute("data-copy-label") || button.textContent;
    button.setAttribute("data-copy-label", label);
    copyText(source).then(function () {
      button.textContent = "Copied";
    }, function () {
      button.textContent = "Selected: press Ctrl+C";
    });
    window.setTimeout(function () {
      button.textContent = label;
    }, 2500);
  });

  // <form data-confirm-kid="KID"> keeps its submit buttons disabled until
  // its input named confirm_kid holds exactly KID.
  function typedConfirmation(form) {
    var want = form.getAttribute("data-confirm-kid");
    var input = form.querySelector('input[name="confirm_kid"]');
    if (!input) {
      return;
    }
    var buttons = form.querySelectorAll('button[type="submit"], button:not([type])');
    function update() {
      var ok = input.value === want;
      buttons.forEach(function (b) {
        b.disabled = !ok;
      });
    }
    input.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("form[data-confirm-kid]").forEach(typedConfirmation);
})();
