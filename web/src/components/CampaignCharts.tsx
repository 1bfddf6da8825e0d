// A campaign's charts (ECharts, only the parts they use): the funnel from audience to clicks, and
// bars by carrier and by hour. Loaded with the report page only.
import { BarChart, FunnelChart as EFunnel } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

echarts.use([BarChart, EFunnel, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

function useChart(option: echarts.EChartsCoreOption) {
  const ref = useRef<HTMLDivElement>(null);
  const key = JSON.stringify(option);
  useEffect(() => {
    if (!ref.current) return;
    const chart = echarts.init(ref.current);
    chart.setOption(JSON.parse(key) as echarts.EChartsCoreOption);
    const resize = () => chart.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.dispose();
    };
  }, [key]);
  return ref;
}

export function FunnelChart({ steps }: { steps: { name: string; value: number }[] }) {
  const ref = useChart({
    tooltip: { trigger: 'item' },
    series: [
      {
        type: 'funnel',
        sort: 'none',
        left: '10%',
        width: '80%',
        min: 0,
        max: Math.max(1, ...steps.map((s) => s.value)),
        label: { show: true, position: 'inside', formatter: '{b}: {c}' },
        data: steps,
      },
    ],
  });
  return <div ref={ref} style={{ width: '100%', height: 320 }} data-testid="funnel-chart" />;
}

export function BreakdownChart({
  keys,
  series,
}: {
  keys: string[];
  series: { name: string; data: number[] }[];
}) {
  const ref = useChart({
    tooltip: { trigger: 'axis' },
    legend: { type: 'scroll', top: 0 },
    grid: { left: 40, right: 16, bottom: 32, top: 40 },
    xAxis: { type: 'category', data: keys },
    yAxis: { type: 'value', minInterval: 1 },
    series: series.map((s) => ({ ...s, type: 'bar' })),
  });
  return <div ref={ref} style={{ width: '100%', height: 280 }} />;
}
