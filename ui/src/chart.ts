// Bar charts with uPlot (small, fast, well kept).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface BarSeries { label: string; color: string; values: number[] }

export function barChart(
  el: HTMLElement,
  xLabels: string[],
  series: BarSeries[],
  width: number,
  height: number,
): uPlot {
  const xs = xLabels.map((_, i) => i);
  const n = Math.max(series.length, 1);
  const opts: uPlot.Options = {
    width,
    height,
    legend: { show: series.length > 1, live: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [-0.6, Math.max(xs.length - 0.4, 0.4)] }, y: { range: (_u, _min, max) => [0, Math.max(max, 4) * 1.1] } },
    axes: [
      { values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? (xLabels[s] ?? "") : "")), space: 30, grid: { show: false } },
      { size: 50 },
    ],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.color,
        fill: s.color,
        width: 0,
        paths: uPlot.paths.bars!({ size: [0.8 / n, 60], align: 0, disp: { x0: { unit: 2, values: () => xs.map(() => (i - (n - 1) / 2) * (0.8 / n)) } } as never }),
        points: { show: false },
      })),
    ],
  };
  return new uPlot(opts, [xs, ...series.map((s) => s.values)], el);
}
