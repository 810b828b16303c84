/**
 * A KubeConfig whose typed API clients reuse TLS connections. client-node 1.4
 * makes a new https.Agent for every request, so every call pays a full TLS
 * handshake (and the API server a new connection); this keeps one keep-alive
 * agent per distinct TLS identity (CA, client certificate, server name) and
 * hands it to every request. Credentials in headers (tokens, exec plugins)
 * are still applied per request by client-node itself. Watches keep their own
 * connection each (client-node builds those through other options).
 */
import https from "node:https";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";

export class PooledKubeConfig extends KubeConfig {
  private readonly agents = new Map<string, https.Agent>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    if (fresh instanceof https.Agent) context.setAgent(this.pooled(fresh));
  }

  /** The same for callers that build their own requests from the options (a raw https.request). */
  override async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    await super.applyToHTTPSOptions(opts);
    if (opts.agent instanceof https.Agent) opts.agent = this.pooled(opts.agent);
  }

  private pooled(fresh: https.Agent): https.Agent {
    const o = fresh.options;
    const key = JSON.stringify([o.ca, o.cert, o.key, o.pfx, o.servername, o.rejectUnauthorized]);
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new https.Agent({ ...o, keepAlive: true });
      this.agents.set(key, agent);
    }
    return agent;
  }
}
