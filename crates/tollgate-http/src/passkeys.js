// Tollgate's only script: the WebAuthn calls behind the passkey forms. Each form marked
// data-passkey carries its options (JSON from the server) in data-options; the script asks
// the browser for a credential, puts the answer in the form's "credential" field and submits
// it. Everything else on the pages works without it.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  function b64(buf) {
    var s = "";
    var bytes = new Uint8Array(buf);
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function bytes(s) {
    var bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out;
  }
  function creationOptions(json) {
    var o = JSON.parse(json).publicKey;
    o.challenge = bytes(o.challenge);
    o.user.id = bytes(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    return o;
  }
  function requestOptions(json) {
    var o = JSON.parse(json).publicKey;
    o.challenge = bytes(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    return o;
  }
  // The credential as JSON, its response's buffers in base64url.
  function credential(cred, response) {
    return JSON.stringify({
      id: cred.id,
      rawId: b64(cred.rawId),
      type: cred.type,
      response: response,
      extensions: {}
    });
  }
  function registration(cred) {
    var r = cred.response;
    return credential(cred, {
      attestationObject: b64(r.attestationObject),
      clientDataJSON: b64(r.clientDataJSON),
      transports: r.getTransports ? r.getTransports() : []
    });
  }
  function assertion(cred) {
    var r = cred.response;
    return credential(cred, {
      authenticatorData: b64(r.authenticatorData),
      clientDataJSON: b64(r.clientDataJSON),
      signature: b64(r.signature),
      userHandle: r.userHandle ? b64(r.userHandle) : null
    });
  }
  function send(form, value) {
    form.querySelector("input[name=credential]").value = value;
    form.submit();
  }
  function status(form, text) {
    var out = form.querySelector("[data-passkey-status]");
    if (out) {
      out.textContent = text;
    }
  }
  var waiting = null;
  function get(form, conditional) {
    if (waiting) {
      waiting.abort();
    }
    waiting = new AbortController();
    var request = { publicKey: requestOptions(form.dataset.options), signal: waiting.signal };
    if (conditional) {
      request.mediation = "conditional";
    }
    return navigator.credentials.get(request).then(function (cred) {
      if (cred) {
        send(form, assertion(cred));
      }
    });
  }
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var kind = form.dataset.passkey;
    form.addEventListener("submit", function (event) {
      if (form.querySelector("input[name=credential]").value) {
        return;
      }
      event.preventDefault();
      var done = kind === "create"
        ? navigator.credentials.create({ publicKey: creationOptions(form.dataset.options) })
            .then(function (cred) { send(form, registration(cred)); })
        : get(form, false);
      done.catch(function (e) {
        if (e && e.name !== "AbortError") {
          status(form, "The passkey was not used: " + e.message);
        }
      });
    });
    if (kind === "sign-in" && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (yes) {
          get(form, true).catch(function () {});
        }
      });
    }
  });
})();
