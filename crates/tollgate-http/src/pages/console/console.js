// Progressive enhancement for the console: a copy button beside each secret shown once.
// Without this script the secret stays selectable text in a read-only field.
(function () {
  'use strict';
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var id = button.getAttribute('data-copy');
    var field = document.getElementById(id);
    var status = document.getElementById(id + '-status');
    if (!field) { return; }
    var say = function (text) { if (status) { status.textContent = text; } };
    var fallback = function () {
      field.focus();
      field.select();
      var copied = false;
      try { copied = document.execCommand('copy'); } catch (e) { copied = false; }
      say(copied ? 'Copied.' : 'Selected: press Ctrl+C (or \u2318C) to copy.');
    };
    button.hidden = false;
    button.addEventListener('click', function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { say('Copied.'); }, fallback);
      } else {
        fallback();
      }
    });
  });
}());
