import http from "node:http";
import type { Service } from "@stowage/supervisor";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";

/** The agent's Prometheus metrics, served on /metrics. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly uplinkFailures = new Counter({ name: "stowage_agent_uplink_failures_total", help: "Failed calls to the control plane", labelNames: ["loop"], registers: [this.registry] });
  readonly batchesBuffered = new Gauge({ name: "stowage_agent_telemetry_buffered_batches", help: "Telemetry batches waiting on disk", registers: [this.registry] });
  readonly batchesDropped = new Gauge({ name: "stowage_agent_telemetry_dropped_batches", help: "Batches dropped at the buffer bound, not yet reported", registers: [this.registry] });
  readonly batchesSent = new Counter({ name: "stowage_agent_telemetry_batches_sent_total", help: "Telemetry batches delivered", registers: [this.registry] });
  readonly commandsRun = new Counter({ name: "stowage_agent_commands_total", help: "Commands carried out", labelNames: ["type", "outcome"], registers: [this.registry] });
  readonly clockSkew = new Gauge({ name: "stowage_agent_clock_skew_ms", help: "Control-plane time minus local time", registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

export class MetricsServer implements Service {
  readonly name = "metrics";
  private server: http.Server | undefined;
  address: { host: string; port: number } | undefined;

  constructor(
    private readonly metrics: AgentMetrics,
    private readonly host: string,
    private readonly port: number,
  ) {}

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      if (req.method === "GET" && req.url === "/metrics") {
        this.metrics.registry
          .metrics()
          .then((body) => {
            res.writeHead(200, { "content-type": this.metrics.registry.contentType });
            res.end(body);
          })
          .catch(() => {
            res.writeHead(500).end();
          });
        return;
      }
      if (req.method === "GET" && req.url === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, this.host, () => resolve());
    });
    const a = server.address();
    if (a && typeof a === "object") this.address = { host: this.host, port: a.port };
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
