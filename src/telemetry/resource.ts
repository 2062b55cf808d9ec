/**
 * The simulator's Resource: who is sending (service.*) and from which host (host.*, os.*), read with
 * systeminformation, plus the user's OTEL_RESOURCE_ATTRIBUTES. The self metrics carry it as it is. The
 * OTLP push sends each process under a Resource of its own, this one with the process's attributes over
 * it, as the hostmetrics receiver emits them (OTLP_PROCESS_ATTRIBUTES=resource); with
 * OTLP_PROCESS_ATTRIBUTES=datapoint and on /metrics the process attributes are on every data point.
 */
import { hostname } from 'node:os';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import si from 'systeminformation';

export interface ResourceOptions {
  serviceName: string;
  serviceVersion: string;
  /** OTEL_RESOURCE_ATTRIBUTES; they win over detected values, service.name from OTEL_SERVICE_NAME wins over them */
  extra: Record<string, string>;
}

export async function createResource(options: ResourceOptions): Promise<Resource> {
  const detected: Record<string, string> = { 'host.name': hostname(), 'os.type': 'linux' };
  try {
    const [os, ids] = await Promise.all([si.osInfo(), si.uuid()]);
    Object.assign(detected, {
      'host.name': os.hostname || hostname(),
      'host.arch': os.arch === 'x64' ? 'amd64' : os.arch,
      'os.type': os.platform,
      'os.description': `${os.distro} ${os.release} (kernel ${os.kernel})`.trim(),
      'os.version': os.kernel,
    });
    if (ids.os) detected['host.id'] = ids.os;
  } catch {
    // detection is best effort: the host name from node:os is enough to identify the sender
  }
  return resourceFromAttributes({
    ...detected,
    ...options.extra,
    'service.name': options.serviceName,
    'service.version': options.serviceVersion,
    'service.instance.id': options.extra['service.instance.id'] ?? `${detected['host.name']}-${process.pid}`,
  });
}
