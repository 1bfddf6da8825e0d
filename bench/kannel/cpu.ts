// CPU time per message of each process of a phase, read from /proc before and after it: the
// gateway measured (Kannel's bearerbox and smsbox; Hongyan with its embedded PostgreSQL), the
// shared SMSC, and this process (the 50 HTTP clients, and for Kannel the dlr-url server). On a
// VM whose speed moves between runs, CPU per message moves far less than messages per second,
// and says whether a ratio moved because one system did more work or had less machine.
import { treeCpu } from '../proc-stat.ts';

export interface CpuReading {
  gateway: number;
  smsc: number;
  bench: number;
}

export interface CpuPerMessage {
  /** µs of CPU per message */
  gateway: number;
  smsc: number;
  bench: number;
}

export function readCpu(gatewayPids: number[], smscPid: number): CpuReading {
  const usage = process.cpuUsage();
  return {
    gateway: gatewayPids.reduce((sum, pid) => sum + treeCpu(pid), 0),
    smsc: treeCpu(smscPid),
    bench: (usage.user + usage.system) / 1e6,
  };
}

export function cpuPerMessage(before: CpuReading, after: CpuReading, messages: number): CpuPerMessage {
  const us = (a: number, b: number) => Math.round(((b - a) * 1e6) / messages);
  return {
    gateway: us(before.gateway, after.gateway),
    smsc: us(before.smsc, after.smsc),
    bench: us(before.bench, after.bench),
  };
}

export function formatCpu(name: string, cpu: CpuPerMessage): string {
  return `CPU per message: ${name} ${cpu.gateway} µs, SMSC ${cpu.smsc} µs, bench client ${cpu.bench} µs`;
}
