/**
 * A self-contained page that renders /openapi.json for people: every operation with its parameters,
 * body fields and responses. No script or style is fetched from elsewhere, so it works offline and
 * in a locked-down network.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>process-simulator API</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 980px; padding: 1rem 1.5rem 4rem; color: #1d232a; }
  h1 { margin-bottom: 0; } .lead { color: #57606a; margin-top: .25rem; }
  details { border: 1px solid #d0d7de; border-radius: 6px; margin: .5rem 0; }
  summary { cursor: pointer; padding: .5rem .75rem; display: flex; gap: .75rem; align-items: baseline; }
  .m { font: 600 12px/1 ui-monospace, monospace; padding: .3rem .45rem; border-radius: 4px; color: #fff; min-width: 3.6rem; text-align: center; }
  .get { background: #0969da; } .post { background: #1a7f37; } .delete { background: #cf222e; }
  code, .p { font-family: ui-monospace, monospace; font-size: 13px; }
  .body { padding: 0 1rem 1rem; } .d { color: #57606a; }
  table { border-collapse: collapse; width: 100%; margin: .25rem 0 .75rem; }
  td, th { text-align: left; vertical-align: top; padding: .25rem .5rem; border-bottom: 1px solid #eaeef2; font-size: 13px; }
  th { color: #57606a; font-weight: 600; } h2 { margin-top: 2rem; text-transform: capitalize; } h4 { margin: .75rem 0 .25rem; }
</style>
</head>
<body>
<h1>process-simulator control API</h1>
<p class="lead">Rendered from <a href="/openapi.json">/openapi.json</a>, the document generated from the schemas that validate every request.</p>
<div id="out">Loading…</div>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
let doc;
const deref = (s) => { while (s && s.$ref) s = s.$ref.split('/').slice(1).reduce((o, k) => o[k], doc); return s || {}; };
function typeOf(s) {
  s = deref(s);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alts = s.anyOf || s.oneOf;
  if (alts) return alts.map(typeOf).join(' or ');
  if (s.type === 'array') return typeOf(s.items) + '[]';
  let t = Array.isArray(s.type) ? s.type.join(' | ') : s.type || 'any';
  const limits = [];
  if (s.minimum !== undefined) limits.push('≥ ' + s.minimum);
  if (s.exclusiveMinimum !== undefined) limits.push('> ' + s.exclusiveMinimum);
  if (s.maximum !== undefined) limits.push('≤ ' + s.maximum);
  if (s.maxLength !== undefined) limits.push('length ≤ ' + s.maxLength);
  if (s.nullable) t += ' | null';
  return t + (limits.length ? ' (' + limits.join(', ') + ')' : '');
}
function fields(s, prefix, rows) {
  s = deref(s);
  const props = s.properties || {};
  for (const [name, p] of Object.entries(props)) {
    const q = deref(p);
    rows.push('<tr><td class="p">' + esc(prefix + name) + ((s.required || []).includes(name) ? ' *' : '') + '</td><td><code>' + esc(typeOf(q)) + '</code></td><td class="d">' + esc(q.description || '') + (q.example !== undefined ? ' <code>e.g. ' + esc(JSON.stringify(q.example)) + '</code>' : '') + '</td></tr>');
    if (q.type === 'object' && q.properties && prefix.split('.').length < 3) fields(q, prefix + name + '.', rows);
  }
  return rows;
}
const table = (head, rows) => rows.length ? '<table><tr>' + head.map((h) => '<th>' + h + '</th>').join('') + '</tr>' + rows.join('') + '</table>' : '';
function operation(path, method, op) {
  const open = op.operationId && location.hash === '#' + op.operationId ? ' open' : '';
  let html = '<details id="' + esc(op.operationId) + '"' + open + '><summary><span class="m ' + method + '">' + method.toUpperCase() + '</span><code>' + esc(path) + '</code><span class="d">' + esc(op.summary) + '</span></summary><div class="body">';
  if (op.description) html += '<p>' + esc(op.description) + '</p>';
  if (op.security && op.security.length) html += '<p><b>Needs</b> <code>Authorization: Bearer &lt;API_TOKEN&gt;</code></p>';
  const params = (op.parameters || []).map(deref);
  if (params.length) html += '<h4>Parameters</h4>' + table(['name', 'in', 'type', ''], params.map((p) => '<tr><td class="p">' + esc(p.name) + (p.required ? ' *' : '') + '</td><td>' + esc(p.in) + '</td><td><code>' + esc(typeOf(p.schema)) + '</code></td><td class="d">' + esc(p.description || (p.schema && p.schema.description) || '') + '</td></tr>'));
  const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  if (body) html += '<h4>JSON body (* = required)</h4>' + table(['field', 'type', ''], fields(body.schema, '', []));
  html += '<h4>Responses</h4>' + table(['status', ''], Object.entries(op.responses || {}).map(([code, r]) => '<tr><td>' + code + '</td><td class="d">' + esc(deref(r).description) + '</td></tr>'));
  return html + '</div></details>';
}
fetch('/openapi.json').then((r) => r.json()).then((d) => {
  doc = d;
  const groups = {};
  for (const [path, item] of Object.entries(d.paths)) for (const [method, op] of Object.entries(item)) {
    if (!op || !op.responses) continue;
    const tag = (op.tags && op.tags[0]) || 'other';
    (groups[tag] ||= []).push(operation(path, method, op));
  }
  document.getElementById('out').innerHTML = '<p>Version ' + esc(d.info.version) + '. Errors always have the shape of <code>Error</code>: status, code, message and the bad fields with their values.</p>' +
    Object.entries(groups).map(([tag, ops]) => '<h2>' + esc(tag) + '</h2>' + ops.join('')).join('');
}).catch((e) => { document.getElementById('out').textContent = 'Cannot load /openapi.json: ' + e; });
</script>
</body>
</html>
`;
