() => {
  const chart = [...document.querySelectorAll('div.mlreport-chart')].find(c => c.querySelector('.parcoords'));
  if (!chart) return {error: 'no parcoords'};
  const box = chart.getBoundingClientRect();
  // each label as the quadrilateral its glyphs cover on screen (turned labels are not boxes)
  const quad = t => {
    const b = t.getBBox(), m = t.getScreenCTM();
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
      .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  };
  const apart = (p, q) => {  // separating axis test of two convex polygons, shrunk by 0.5 px
    for (const poly of [p, q]) for (let i = 0; i < poly.length; i++) {
      const [x1, y1] = poly[i], [x2, y2] = poly[(i + 1) % poly.length];
      const nx = y1 - y2, ny = x2 - x1, len = Math.hypot(nx, ny) || 1;
      const proj = pts => pts.map(([x, y]) => (x * nx + y * ny) / len);
      const a = proj(p), b = proj(q);
      if (Math.max(...a) <= Math.min(...b) + 0.5 || Math.max(...b) <= Math.min(...a) + 0.5) return true;
    }
    return false;
  };
  const items = [];
  chart.querySelectorAll('.parcoords g.y-axis').forEach((axis, i) => {
    axis.querySelectorAll('.tick text').forEach(t => { if (t.textContent && t.getBBox().width) items.push({axis: i, kind: 'tick', text: t.textContent, q: quad(t)}); });
    axis.querySelectorAll('.axis-extent-text').forEach(t => { if (t.textContent && t.getBBox().width) items.push({axis: i, kind: 'extent', text: t.textContent, q: quad(t)}); });
  });
  chart.querySelectorAll('.parcoords .axis-heading text').forEach((t, i) => { if (t.getBBox().width) items.push({axis: i, kind: 'heading', text: t.textContent, q: quad(t)}); });
  const overlaps = [];
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
    const a = items[i], b = items[j];
    if (!apart(a.q, b.q)) overlaps.push(`${a.kind} '${a.text}' / ${b.kind} '${b.text}'`);
  }
  const outside = items.filter(it => it.q.some(([x, y]) => x < box.left - 1 || x > box.right + 1 || y < box.top - 1)).map(it => it.kind + ' ' + it.text);
  return {items: items.length, overlaps: overlaps.slice(0, 8), outside: outside.slice(0, 8)};
}
