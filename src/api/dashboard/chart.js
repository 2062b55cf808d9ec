/**
 * Small stacked-area charts in inline SVG, one band per priority, drawn from the page's own history of
 * samples. Sized to the element's pixels so text is never stretched.
 */

const SVG = 'http://www.w3.org/2000/svg';
const PAD = { left: 52, right: 8, top: 6, bottom: 16 };

/** The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) that is at least `value`. */
function niceCeil(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function element(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Draws `points` ({ t: ms, values: { [series]: number } }) of the last `windowMs` as stacked areas.
 * `series` are bottom first; `format` labels the y axis; `minMax` keeps a flat line off the top.
 */
export function drawStacked(svg, points, { series, format, minMax, windowMs, now = Date.now() }) {
  const width = Math.max(svg.clientWidth, 200);
  const height = Math.max(svg.clientHeight, 80);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.replaceChildren();
  svg.dataset.points = String(points.length);
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const start = now - windowMs;
  const x = (t) => PAD.left + ((t - start) / windowMs) * plotW;

  const totals = points.map((p) => series.reduce((sum, s) => sum + (p.values[s] ?? 0), 0));
  const max = niceCeil(Math.max(minMax, ...totals) * 1.05);
  const y = (v) => PAD.top + plotH - (v / max) * plotH;

  for (const fraction of [0, 0.5, 1]) {
    const v = max * fraction;
    svg.append(element('line', { class: 'grid', x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v) }));
    svg.append(
      element('text', { class: 'axis', x: PAD.left - 6, y: y(v) + 3, 'text-anchor': 'end' }, format(v)),
    );
  }
  // a tick a minute, or every 15 s while the window is one minute
  const step = windowMs > 60_000 ? 60_000 : 15_000;
  for (let back = windowMs; back >= 0; back -= step) {
    const label = back === 0 ? 'now' : step === 60_000 ? `-${back / 60_000}m` : `-${back / 1000}s`;
    const anchor = back === windowMs ? 'start' : back === 0 ? 'end' : 'middle';
    svg.append(
      element('text', { class: 'axis', x: x(now - back), y: height - 3, 'text-anchor': anchor }, label),
    );
  }
  if (points.length < 2) {
    svg.append(
      element(
        'text',
        { class: 'nodata', x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, 'text-anchor': 'middle' },
        'collecting samples…',
      ),
    );
    return;
  }

  const below = points.map(() => 0);
  for (const name of series) {
    const above = points.map((p, i) => below[i] + (p.values[name] ?? 0));
    const top = points.map((p, i) => `${x(p.t).toFixed(1)},${y(above[i]).toFixed(1)}`);
    const bottom = points.map((p, i) => `${x(p.t).toFixed(1)},${y(below[i]).toFixed(1)}`).reverse();
    svg.append(element('path', { class: `area area-${name}`, d: `M${top.join('L')}L${bottom.join('L')}Z` }));
    svg.append(element('path', { class: `line line-${name}`, d: `M${top.join('L')}` }));
    above.forEach((v, i) => {
      below[i] = v;
    });
  }
}
