// A small inline SVG line chart: hourly averages with min/max labels and time ticks.
import { getLang, number } from './i18n.js';

const W = 320;
const H = 110;
const PAD = { l: 38, r: 8, t: 8, b: 18 };

export function lineChart(points, { unit = '', from, to }) {
  // points: [[epoch ms, value], ...] sorted by time
  const svg = [`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" width="100%">`];
  const xs = (ms) => PAD.l + ((ms - from) / (to - from)) * (W - PAD.l - PAD.r);
  const values = points.map((p) => p[1]);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) { lo -= 1; hi += 1; }
  const ys = (v) => PAD.t + (1 - (v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  svg.push(`<line class="axis" x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}"/>`);
  for (const v of [lo, hi]) {
    svg.push(`<text class="tick" x="${PAD.l - 4}" y="${ys(v) + 3}" text-anchor="end">${number(v, 1)}</text>`);
  }
  const fmt = new Intl.DateTimeFormat(getLang() === 'fr' ? 'fr-FR' : 'en-GB',
    to - from > 2 * 86400e3 ? { day: '2-digit', month: '2-digit' } : { hour: '2-digit', minute: '2-digit' });
  for (let i = 0; i <= 3; i += 1) {
    const ms = from + ((to - from) * i) / 3;
    const anchor = i === 0 ? 'start' : i === 3 ? 'end' : 'middle';
    svg.push(`<text class="tick" x="${xs(ms)}" y="${H - 4}" text-anchor="${anchor}">${fmt.format(ms)}</text>`);
  }
  // break the line where an hour is missing
  let d = '';
  let prev = null;
  for (const [ms, v] of points) {
    d += `${prev !== null && ms - prev > 3 * 3600e3 ? 'M' : d ? 'L' : 'M'}${xs(ms).toFixed(1)},${ys(v).toFixed(1)}`;
    prev = ms;
  }
  svg.push(`<path class="line" d="${d}"/>`);
  if (points.length === 1) {
    const [ms, v] = points[0];
    svg.push(`<circle class="dot" cx="${xs(ms)}" cy="${ys(v)}" r="3"/>`);
  }
  svg.push(`<text class="unit" x="${PAD.l + 4}" y="${PAD.t + 8}">${unit}</text></svg>`);
  return svg.join('');
}
