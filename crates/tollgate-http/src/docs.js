"use strict";
function el(tag, text, cls) { const e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; }
function type(s) {
  if (!s) return "";
  if (s.type === "array") return "array of " + (type(s.items) || "values");
  if (Array.isArray(s.type)) return s.type.join(" or ");
  return s.type || "any";
}
function fields(schema) {
  const t = el("table"); const h = t.insertRow();
  ["field", "type", "required"].forEach(x => h.appendChild(el("th", x)));
  const req = new Set(schema.required || []);
  Object.entries(schema.properties || {}).forEach(([k, v]) => {
    const r = t.insertRow(); r.insertCell().appendChild(el("code", k));
    r.insertCell().textContent = type(v); r.insertCell().textContent = req.has(k) ? "yes" : "";
  });
  return t;
}
fetch("/openapi.json").then(r => r.json()).then(doc => {
  document.getElementById("intro").textContent = doc.info.description;
  const byTag = {};
  Object.entries(doc.paths).forEach(([path, item]) => {
    ["get", "post", "delete"].forEach(m => {
      const op = item[m]; if (!op) return;
      (byTag[(op.tags || ["other"])[0]] ||= []).push([m.toUpperCase(), path, op]);
    });
  });
  const main = document.getElementById("api");
  Object.keys(byTag).sort().forEach(tag => {
    main.appendChild(el("h2", tag));
    byTag[tag].forEach(([m, path, op]) => {
      const d = el("details"); const s = el("summary");
      s.appendChild(el("span", m, "m " + m)); s.appendChild(el("code", path));
      s.appendChild(document.createTextNode(" " + (op.summary || ""))); d.appendChild(s);
      (op.parameters || []).length && d.appendChild(el("p", "Parameters: " + op.parameters.map(p => p.name + " (" + p.in + (p.required ? ", required" : "") + ")").join(", ")));
      const body = op.requestBody && op.requestBody.content;
      body && Object.entries(body).forEach(([media, c]) => { d.appendChild(el("p", "Body: " + media)); d.appendChild(fields(c.schema || {})); });
      Object.entries(op.responses || {}).forEach(([status, r]) => {
        d.appendChild(el("p", status + ": " + r.description));
        Object.entries(r.content || {}).forEach(([media, c]) => { if (c.schema && c.schema.properties) d.appendChild(fields(c.schema)); });
      });
      main.appendChild(d);
    });
  });
});
