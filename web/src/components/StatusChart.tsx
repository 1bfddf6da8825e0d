// A stacked bar chart of counts per day, one series each (by status, by message type: ECharts,
// only the parts it uses). The data is also the chart's accessible description (aria-label), so
// a screen reader, or a test, reads the figures the canvas draws.
import { BarChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

echarts.use([AriaComponent, BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export interface DaySeries {
  days: string[];
  series: { name: string; data: number[] }[];
}

/** "Delivered 3 (2026-12-01: 1, 2026-12-02: 2); Failed 0": each series' total and its non-zero days. */
export function describeSeries(data: DaySeries): string {
  return data.series
    .map((s) => {
      const total = s.data.reduce((a, b) => a + b, 0);
      const days = s.data.flatMap((n, i) => (n === 0 ? [] : [`${data.days[i]}: ${n}`]));
      return days.length === 0 ? `${s.name} ${total}` : `${s.name} ${total} (${days.join(', ')})`;
    })
    .join('; ');
}

export function StatusChart({ data, testId = 'status-chart' }: { data: DaySeries; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const chart = echarts.init(ref.current);
    chart.setOption({
      aria: { enabled: true, label: { description: describeSeries(data) } },
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll' },
      grid: { left: 40, right: 16, bottom: 24, top: 40 },
      xAxis: { type: 'category', data: data.days },
      yAxis: { type: 'value', minInterval: 1 },
      series: data.series.map((s) => ({ ...s, type: 'bar', stack: 'all' })),
    });
    const resize = () => chart.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.dispose();
    };
  }, [data]);
  return <div ref={ref} style={{ width: '100%', height: 300 }} data-testid={testId} />;
}
