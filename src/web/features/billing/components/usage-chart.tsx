import { useEffect, useRef } from "react";
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from "chart.js";
import type { UsageDay } from "../../../../contracts/insight.js";
import { formatNumber } from "../../../lib/format.js";
import { USAGE_SERIES } from "./usage-series.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

const TEXT = "#52525b";
const GRID = "#e4e4e7";

/**
 * The daily stacked bar chart (Chart.js, canvas). Loaded lazily by the Usage section, so the
 * library is not part of the billing route's first JavaScript. The canvas is an image for
 * assistive technology; the section renders the same numbers as a table beside it.
 */
export default function UsageChart({ days, label, pinAxis = false }: { days: UsageDay[]; label: string; pinAxis?: boolean }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const axis = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar"> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "bar",
      data: { labels: [], datasets: [] },
      // When the chart scrolls sideways (under 640 px), a copy of its credits axis stays at the left
      // edge over the bars, so the bars of the latest days are never shown without their scale.
      plugins: [{ id: "pinnedAxis", afterRender: (c) => copyAxis(c, axis.current) }],
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          // The legend and the day axis's title are HTML under the chart (usage-section.tsx):
          // under 640 px the canvas scrolls, and drawn in it they were cut off at the scroll's end.
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => `${item.dataset.label ?? ""}: ${formatNumber(Number(item.raw))}` } },
        },
        scales: {
          x: {
            stacked: true,
            grid: { display: false },
            ticks: { color: TEXT, font: { size: 11 }, maxRotation: 0, autoSkipPadding: 8 },
          },
          y: {
            stacked: true,
            beginAtZero: true,
            grid: { color: GRID },
            border: { display: false },
            ticks: { color: TEXT, font: { size: 11 }, precision: 0, callback: (v) => formatNumber(Number(v)) },
            title: { display: true, text: "Credits", color: TEXT, font: { size: 12 } },
          },
        },
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = days.map((d) => String(Number(d.date.slice(8, 10))));
    c.data.datasets = USAGE_SERIES.map((s) => ({
      label: s.label,
      data: days.map((d) => d[s.key]),
      backgroundColor: s.colour,
      borderRadius: 2,
      maxBarThickness: 28,
    }));
    c.update();
  }, [days]);

  return (
    <>
      <canvas ref={canvas} role="img" aria-label={label} />
      {pinAxis ? <canvas ref={axis} aria-hidden="true" className="pointer-events-none absolute top-0 -left-1 box-content border-l-4 border-background translate-x-(--chart-scroll) bg-background" data-testid="usage-chart-axis" /> : null}
    </>
  );
}

/**
 * Draw the chart's credits axis (labels, title, the band left of the bars) onto the pinned canvas.
 * It stops just under the lowest credits label, so the day labels below the bars are never covered.
 */
function copyAxis(c: Chart, target: HTMLCanvasElement | null) {
  if (!target) return;
  const ratio = c.currentDevicePixelRatio;
  const width = Math.ceil(c.scales.y!.right);
  const height = Math.min(c.height, Math.ceil(c.chartArea.bottom) + 7);
  target.width = Math.round(width * ratio);
  target.height = Math.round(height * ratio);
  target.style.width = `${width}px`;
  target.style.height = `${height}px`;
  const ctx = target.getContext("2d");
  ctx?.drawImage(c.canvas, 0, 0, target.width, target.height, 0, 0, target.width, target.height);
}
