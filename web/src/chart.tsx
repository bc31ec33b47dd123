import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface StackSeries {
  label: string;
  /** One value per day, aligned with `days`. */
  values: number[];
}

const WHOLE_INCREMENTS = [1, 2, 5]
  .flatMap((step) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].map((power) => step * power))
  .sort((a, b) => a - b);
const COLORS = ['#3b5bdb', '#f08c00', '#2f9e44', '#c2255c', '#7048e8', '#1098ad', '#e8590c', '#868e96'];

/**
 * Bars per UTC day, stacked: each series is drawn as the running total up to it, largest first,
 * so each one's own band shows above the ones before it. The legend shows each series' own value.
 * A table of the same numbers follows for screen readers and copying.
 */
export function StackedBars({
  days,
  series,
  format,
  label,
  wholeNumbers = false,
}: {
  days: string[];
  series: StackSeries[];
  format: (value: number) => string;
  label: string;
  wholeNumbers?: boolean;
}) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element || days.length === 0) return;
    const stacked: number[][] = [];
    series.forEach((one, index) =>
      stacked.push(one.values.map((value, day) => value + (index > 0 ? stacked[index - 1]![day]! : 0))),
    );
    const order = series.map((_, index) => index).reverse();
    const bars = uPlot.paths.bars!({ size: [0.7, 48], align: 0 });
    const plot = new uPlot(
      {
        width: element.clientWidth,
        height: 280,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        scales: {
          // Half a day of room each side, so that the first and last bars are whole.
          x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
        },
        axes: [
          { stroke: 'currentColor', grid: { show: false } },
          {
            stroke: 'currentColor',
            size: 72,
            // Counts tick at whole numbers only (never "1, 1, 2, 2").
            ...(wholeNumbers ? { incrs: WHOLE_INCREMENTS } : {}),
            values: (_u, ticks) => ticks.map(format),
            grid: { stroke: 'rgba(128,128,128,0.18)' },
          },
        ],
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        legend: { live: true },
        series: [
          {
            label: 'Day (UTC)',
            value: (_u, ts) => (ts === null ? '—' : new Date(ts * 1000).toISOString().slice(0, 10)),
          },
          ...order.map((index) => ({
            label: series[index]!.label,
            fill: COLORS[index % COLORS.length],
            stroke: COLORS[index % COLORS.length],
            width: 0,
            paths: bars,
            points: { show: false },
            value: (_u: uPlot, _value: number | null, _series: number, day: number | null) =>
              day === null ? '—' : format(series[index]!.values[day] ?? 0),
          })),
        ],
      },
      [days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000), ...order.map((index) => stacked[index]!)],
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: 280 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [days, series, format, wholeNumbers]);

  return (
    <figure class="chart">
      <div ref={container} class="chart-canvas" role="img" aria-label={label} />
      <details>
        <summary>The numbers</summary>
        <div class="table-scroll">
          <table>
            <caption class="visually-hidden">{label}</caption>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                {series.map((one) => (
                  <th scope="col" key={one.label}>
                    {one.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {days.map((day, index) => (
                <tr key={day}>
                  <th scope="row">{day}</th>
                  {series.map((one) => (
                    <td key={one.label} class="num">
                      {format(one.values[index] ?? 0)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
